"""The purchasing webhook: signed JSON, retried through failures, one purchase request per
idempotency key however often the digest job or the outbox runs."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest
from aiohttp import web

import handlers  # noqa: F401  (the store <-> handlers import cycle)
from handlers.digest import deliver, purchasing
from handlers.digest.settings import settings
from tests.digest.test_delivery import busy_day, service, settle

SECRET = "s3cret-shared"


class Purchasing:
    """A purchasing system that fails the first `fail` requests (HTTP `status`), then creates one
    purchase request per Idempotency-Key and answers repeats with the first result."""

    def __init__(self, fail: int = 2, status: int = 500) -> None:
        self.fail, self.status = fail, status
        self.requests: list[dict] = []
        self.created: dict[str, int] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("Idempotency-Key", "")
        good = hmac.compare_digest(request.headers.get("X-Qunbot-Signature", ""),
                                   "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())
        self.requests.append({"key": key, "signed": good, "body": json.loads(body)})
        if len(self.requests) <= self.fail:
            return web.json_response({"error": "busy"}, status=self.status)
        if not good:
            return web.json_response({"error": "bad signature"}, status=401)
        self.created[key] = self.created.get(key, 0) + (key not in self.created)
        return web.json_response({"ok": True, "po": f"PO-{key}"}, status=201)


@pytest.fixture
async def po_server(aiohttp_server):
    def make(**kw):
        system = Purchasing(**kw)
        app = web.Application()
        app.router.add_post("/po", system.handle)
        return system, app
    return make


async def run(aiohttp_client, aiohttp_server, redis, prefix, fake, system_app, scope="all"):
    system, app = system_app
    server = await aiohttp_server(app)
    svc = await service(aiohttp_client, redis, prefix, fake, cutoff_ago=3600, send_ago=1800,
                        purchasing_url=str(server.make_url("/po")), purchasing_secret=SECRET,
                        purchasing_scope=scope)
    day = await busy_day(svc, time.time())
    return svc, system, day


async def test_retried_through_failures_into_one_purchase_request(aiohttp_client, aiohttp_server, redis, prefix,
                                                                  fake, po_server):
    svc, system, day = await run(aiohttp_client, aiohttp_server, redis, prefix, fake, po_server(fail=2))
    st = settings(svc.config)
    for _ in range(3):  # the job runs again and again, on other replicas too
        await deliver.tick(svc.store, svc.worker.emit, svc.config, st, time.time())
        await settle(svc)
    key = f"{day}:all"
    assert [r["key"] for r in system.requests] == [key] * 3  # two failures, then accepted
    assert all(r["signed"] for r in system.requests)
    assert system.created == {key: 1}
    bodies = {json.dumps(r["body"], sort_keys=True) for r in system.requests}
    assert len(bodies) == 1  # every retry posts the very same bytes
    body = system.requests[0]["body"]
    assert body["idempotency_key"] == key and body["date"] == day and body["order_lines"]
    for line in body["order_lines"]:
        assert line["suggested"] >= line["gap"] > 0 and line["suggested"] % line["case"] == 0
    assert (await svc.store.digest.settled(day, "all"))["status"] == 201

    # An outbox redelivery of the same entry after acceptance posts nothing.
    await purchasing.channel(st, svc.store, svc.deps["api"].http)({"to": key}, key)
    assert len(system.requests) == 3


async def test_one_request_per_store_and_day_with_store_scope(aiohttp_client, aiohttp_server, redis, prefix, fake,
                                                              po_server):
    svc, system, day = await run(aiohttp_client, aiohttp_server, redis, prefix, fake, po_server(fail=0),
                                 scope="store")
    await deliver.tick(svc.store, svc.worker.emit, svc.config, settings(svc.config), time.time())
    await settle(svc)
    keys = sorted(system.created)
    assert keys and all(k.startswith(f"{day}:S0") for k in keys) and set(system.created.values()) == {1}
    for r in system.requests:
        stores = {x["store"] for line in r["body"]["order_lines"] for x in line["stores"]}
        assert stores <= {r["key"].split(":")[1]}


async def test_a_refusal_is_logged_and_not_retried(aiohttp_client, aiohttp_server, redis, prefix, fake, po_server,
                                                   caplog):
    svc, system, day = await run(aiohttp_client, aiohttp_server, redis, prefix, fake,
                                 po_server(fail=100, status=422))
    with caplog.at_level(logging.ERROR):
        await deliver.tick(svc.store, svc.worker.emit, svc.config, settings(svc.config), time.time())
        await settle(svc)
    assert len(system.requests) == 1
    assert any("purchasing system refused" in r.message for r in caplog.records)
    assert (await svc.store.digest.settled(day, "all"))["status"] == 422
    # the job's later retries leave a refused request alone
    done = await deliver.tick(svc.store, svc.worker.emit, svc.config, settings(svc.config), time.time() + 3 * 3600)
    await settle(svc)
    assert done["requeued"] == [] and len(system.requests) == 1


async def test_a_long_outage_of_the_purchasing_system_is_retried_by_the_job(aiohttp_client, aiohttp_server, redis,
                                                                          prefix, fake, po_server):
    """The purchasing system is down longer than the sender's and the outbox's retries (the entry is
    dead-lettered). Later ticks queue the stored request again, at growing intervals and once per
    interval across replicas, until it is accepted; then never again."""
    svc, system, day = await run(aiohttp_client, aiohttp_server, redis, prefix, fake, po_server(fail=100))
    st = settings(svc.config)
    t0 = time.time()
    assert (await deliver.tick(svc.store, svc.worker.emit, svc.config, st, t0))["sent"]
    await settle(svc)
    n = len(system.requests)
    assert n >= svc.config.sender.max_attempts and not system.created
    assert await svc.store.r.xlen(svc.store.keys.dead("outbox")) == 1

    later = [t0 + 60, t0 + 299]  # before the first retry slot: nothing
    assert [(await deliver.tick(svc.store, svc.worker.emit, svc.config, st, t))["requeued"] for t in later] == [[], []]
    # the first slot, seen by two replicas in the same minute: queued once, fails again
    got = [(await deliver.tick(svc.store, svc.worker.emit, svc.config, st, t0 + s))["requeued"] for s in (300, 330)]
    assert got == [[(day, "all")], []]
    await settle(svc)
    assert len(system.requests) > n and not system.created
    n = len(system.requests)
    assert (await deliver.tick(svc.store, svc.worker.emit, svc.config, st, t0 + 600))["requeued"] == []  # next at 900
    system.fail = 0  # back up
    assert (await deliver.tick(svc.store, svc.worker.emit, svc.config, st, t0 + 900))["requeued"] == [(day, "all")]
    await settle(svc)
    assert len(system.requests) == n + 1 and system.created == {f"{day}:all": 1}
    assert all(r["signed"] for r in system.requests)
    assert len({json.dumps(r["body"], sort_keys=True) for r in system.requests}) == 1
    for s in (2100, 4500, 8100):  # later slots of the same day (a day later, the next day has its own key)
        assert (await deliver.tick(svc.store, svc.worker.emit, svc.config, st, t0 + s))["requeued"] == []
    await settle(svc)
    assert len(system.requests) == n + 1


def test_retry_slots_back_off_to_hourly():
    due = [t for t in range(0, 6 * 3600 + 1, 60) if purchasing.retry_slot(t) > purchasing.retry_slot(t - 60)]
    assert due[:5] == [300, 900, 2100, 4500, 8100]
    assert all(b - a == 3600 for a, b in zip(due[4:], due[5:]))
