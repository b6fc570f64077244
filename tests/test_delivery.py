"""Delivery through WeCom faults: outages delay replies and lose none, a slow WeCom causes no duplicate,
a rate-limited recipient holds only itself, and what gives up is listed and replayed exactly once.

Time is the sender's clock (tests/harness.py retry_due), so minutes of backoff pass at once."""
from __future__ import annotations

import asyncio
import io

import pytest
from aiohttp import web

from bot import dead_letters, metrics
from bot.fakewecom import FakeWeCom, create_fake_app
from bot.message import Message, Reply, Target
from tests.conftest import make_config
from tests.harness import Harness

SEND_APIS = ("kf/send_msg", "message/send", "appchat/send", "webhook/send")


def _origin(i: int | str) -> Message:
    return Message(id=f"job:t:{i}", channel="schedule", conversation="job:t", kind="schedule")


async def _start(aiohttp_client, aiohttp_server, redis, redis_url, prefix, *, slow_after: float | None = None,
                 **sections):
    """The service with its own fake WeCom; `h.down_until` (sender clock) makes every send fail with
    HTTP 503 until then; the kf/send_msg calls numbered in `h.slow` (1 = first) are answered
    `slow_after` seconds late, after the fake acted on them."""
    fake = FakeWeCom()
    app = create_fake_app(fake)
    state = {"n": 0}

    @web.middleware
    async def faults(request, handler):
        path = request.match_info.get("path", "")
        if path in SEND_APIS and h.sender.clock() < h.down_until:
            return web.Response(status=503, text="busy")
        resp = await handler(request)
        if path == "kf/send_msg":
            state["n"] += 1
            if state["n"] in h.slow:
                await asyncio.sleep(slow_after)  # WeCom did it; the answer comes too late
        return resp

    app.middlewares.append(faults)
    server = await aiohttp_server(app)
    fake.base_url = str(server.make_url("")).rstrip("/")
    sections["sender"] = {"backoff_seconds": 60.0, **sections.get("sender", {})}  # rate-limit pauses of a minute
    cfg = make_config(prefix, fake.base_url, redis={"url": redis_url, "prefix": prefix}, **sections)
    h = await Harness.start(aiohttp_client, redis, cfg, fake)
    h.down_until, h.slow = 0.0, set()
    return h


@pytest.fixture
async def svc(aiohttp_client, aiohttp_server, redis, redis_url, prefix):
    return await _start(aiohttp_client, aiohttp_server, redis, redis_url, prefix)


def _kf_texts(fake: FakeWeCom, user: str) -> list[str]:
    return [c.body["text"]["content"] for c in fake.sent("kf/send_msg", ok=True) if c.body["touser"] == user]


async def _dead(h) -> list[dict]:
    rows = await h.redis.xrange(h.store.keys.dead("outbox"))
    return [{k.decode(): v.decode() for k, v in e[1].items()} for e in rows]


async def test_a_five_minute_outage_delays_replies_and_loses_none(aiohttp_client, aiohttp_server, redis, redis_url,
                                                                prefix):
    h = await _start(aiohttp_client, aiohttp_server, redis, redis_url, prefix)
    t0 = h.sender.clock()
    h.down_until = t0 + 300
    shoppers = [f"wmOut{i}" for i in range(30)]
    for u in shoppers:
        h.fake.kf_push("wkS01", u, "在吗")
        await h.store.kf.customer_wrote(f"kf:wkS01:{u}", int(t0), f"m{u}")
    # Three replies each, queued one after another: each shopper must get them in this order.
    for n in range(3):
        for u in shoppers:
            await h.worker.emit(_origin(f"{u}:{n}"), [Reply("_raw.txt.j2", text=f"{u} 第{n}条",
                                                            to=Target("kf", f"wkS01:{u}"))])
    await h.worker.emit(_origin("guide"), [Reply("_raw.txt.j2", text="店长通知", to=Target("app", "xiaowang"))])
    await h.drain()
    assert h.fake.sent("kf/send_msg", ok=True) == []
    assert await h.store.outbox.pending_count() == 0  # nothing holds the partitions meanwhile
    assert await h.store.parking.waiting() == 31
    assert "qunbot_outbox_waiting 31.0" in (await metrics.scrape()).decode()
    delivered_at: dict[str, float] = {}
    for _ in range(200):  # ten simulated seconds a step
        await h.retry_due(10)
        for u in shoppers:
            if len(_kf_texts(h.fake, u)) == 3 and u not in delivered_at:
                delivered_at[u] = h.sender.clock() - t0
        if len(delivered_at) == len(shoppers) and h.sent_texts("xiaowang"):
            break
    for u in shoppers:
        assert _kf_texts(h.fake, u) == [f"{u} 第{n}条" for n in range(3)]  # all, once, in order
    assert h.sent_texts("xiaowang") == ["店长通知"]
    assert await _dead(h) == [] and await h.store.parking.waiting() == 0
    worst = max(delivered_at.values())
    assert 300 <= worst <= 300 + h.config.sender.retry_max_seconds + 60  # delayed by the outage, not more


async def test_wecom_answering_after_the_client_timeout_sends_once(aiohttp_client, aiohttp_server, redis, redis_url,
                                                                  prefix):
    h = await _start(aiohttp_client, aiohttp_server, redis, redis_url, prefix, slow_after=0.5,
                     sender={"timeout_seconds": 0.2})
    h.fake.kf_push("wkS01", "wmSlow", "在吗")
    await h.store.kf.customer_wrote("kf:wkS01:wmSlow", int(h.sender.clock()), "m1")
    long = "\n".join("甲" * 600 for _ in range(3))  # 3 parts; the second one's answer is late
    await h.worker.emit(_origin(1), [Reply("_raw.txt.j2", text=long, to=Target("kf", "wkS01:wmSlow"))])
    h.slow = {2}
    await h.drain()
    await asyncio.sleep(0.4)  # the late answer arrives (and is dropped) meanwhile
    for _ in range(5):
        await h.retry_due(60)
    sends = h.fake.sent("kf/send_msg")
    assert [c.errcode for c in sends] == [0, 0, 40058, 0]  # the retry of part 2 is refused as a repeat
    assert sends[1].body["msgid"] == sends[2].body["msgid"] != sends[0].body["msgid"]
    assert _kf_texts(h.fake, "wmSlow") == long.split("\n")  # the shopper saw each part exactly once
    assert await _dead(h) == [] and await h.store.parking.waiting() == 0


async def test_a_repeat_msgid_on_a_clean_first_try_is_not_taken_as_delivered(svc):
    """Only after an unanswered try does a refused msgid mean "arrived": otherwise it is an error."""
    svc.fake.kf_push("wkS01", "wmDup", "在吗")
    await svc.store.kf.customer_wrote("kf:wkS01:wmDup", int(svc.sender.clock()), "m1")
    reply = Reply("_raw.txt.j2", text="你好", to=Target("kf", "wkS01:wmDup"))
    await svc.worker.emit(_origin(1), [reply])
    await svc.drain()
    await svc.redis.delete(svc.store.keys.seen("outbox", svc.store.outbox.part_of("kf:wkS01:wmDup"),
                                                       "job:t:1#0"))
    await svc.worker.emit(_origin(1), [reply])  # the same outbox id again: same msgid
    await svc.drain()
    assert [c.errcode for c in svc.fake.sent("kf/send_msg")] == [0, 40058]
    assert len(await _dead(svc)) == 1


async def test_a_rate_limited_robot_holds_only_itself(svc):
    svc.fake.script("webhook/send", 45009)
    for i, key in enumerate(["ROBOTA", "ROBOTA", "ROBOTB"]):
        await svc.worker.emit(_origin(i), [Reply("_raw.txt.j2", text=f"消息{i}", to=Target("webhook", key))])
    await svc.drain()
    ok = svc.fake.sent("webhook/send", ok=True)
    assert [(c.query["key"], c.body["text"]["content"]) for c in ok] == [("ROBOTB", "消息2")]
    await svc.retry_due(61)
    ok = svc.fake.sent("webhook/send", ok=True)
    assert [(c.query["key"], c.body["text"]["content"]) for c in ok][1:] == [("ROBOTA", "消息0"), ("ROBOTA", "消息1")]


async def test_a_corp_wide_45009_pauses_that_api_not_the_others(svc):
    svc.fake.script("message/send", 45009)
    svc.fake.kf_push("wkS01", "wmK", "在吗")
    await svc.store.kf.customer_wrote("kf:wkS01:wmK", int(svc.sender.clock()), "m1")
    await svc.worker.emit(_origin(1), [Reply("_raw.txt.j2", text="甲", to=Target("app", "xiaowang"))])
    await svc.drain()
    await svc.worker.emit(_origin(2), [Reply("_raw.txt.j2", text="乙", to=Target("app", "xiaoli"))])
    await svc.worker.emit(_origin(3), [Reply("_raw.txt.j2", text="丙", to=Target("kf", "wkS01:wmK"))])
    await svc.drain()
    assert [c.errcode for c in svc.fake.sent("message/send")] == [45009]  # xiaoli is not sent into the limit
    assert _kf_texts(svc.fake, "wmK") == ["丙"]
    await svc.retry_due(61)
    assert sorted(svc.sent_texts()) == ["乙", "甲"]


async def test_dead_letters_list_and_replay_exactly_once(aiohttp_client, aiohttp_server, redis, redis_url, prefix):
    h = await _start(aiohttp_client, aiohttp_server, redis, redis_url, prefix, sender={"retry_horizon_seconds": 600})
    h.fake.script("message/send", 81013)  # all recipients invalid: undeliverable at once
    await h.worker.emit(_origin(1), [Reply("_raw.txt.j2", text="第一条", to=Target("app", "xiaowang"))])
    await h.drain()
    h.down_until = h.sender.clock() + 3600  # and WeCom down past the horizon for the next one
    await h.worker.emit(_origin(2), [Reply("_raw.txt.j2", text="第二条", to=Target("appchat", "wrChat"))])
    await h.drain()
    for _ in range(10):
        await h.retry_due(120)
    dead = await _dead(h)
    assert len(dead) == 2 and "81013" in dead[0]["reason"] and "gave up after" in dead[1]["reason"]
    assert await h.store.parking.waiting() == 0

    scraped = (await metrics.scrape()).decode()  # the app's refresher reads Redis
    assert 'qunbot_dead_letters{stream="outbox"} 2.0' in scraped and "qunbot_outbox_waiting 0.0" in scraped

    out = io.StringIO()
    assert await dead_letters.cli_list(h.config, "all", 100, False, out) == 0
    text = out.getvalue()
    assert "app xiaowang" in text and "appchat wrChat" in text and "81013" in text and "第二条" in text
    ids = [line.split()[0] for line in text.splitlines()[1:] if line[:1].isdigit() and "-" in line.split()[0]]
    assert len(ids) == 2

    # WeCom is back: replay the first by id, twice; it is queued and sent once.
    h.down_until = 0
    err = io.StringIO()
    assert await dead_letters.cli_replay(h.config, "all", [ids[0]], False, out, err) == 0
    assert await dead_letters.cli_replay(h.config, "all", [ids[0]], False, out, err) == 1
    assert "no such dead letter" in err.getvalue()
    await h.drain()
    assert h.sent_texts("xiaowang") == ["第一条"]
    assert await dead_letters.cli_replay(h.config, "all", [], True, out, err) == 0
    await h.drain()
    assert h.sent_texts("wrChat", path="appchat/send") == ["第二条"]
    assert await _dead(h) == []
    assert await dead_letters.cli_replay(h.config, "all", [], False, out, err) == 2  # names nothing


async def test_replay_after_a_crash_half_way_queues_once(svc):
    """The re-queue is deduped by the dead letter's id: a replay that died before deleting the dead
    letter and is run again adds nothing."""
    svc.fake.script("message/send", 81013)
    await svc.worker.emit(_origin(1), [Reply("_raw.txt.j2", text="一次", to=Target("app", "xiaowang"))])
    await svc.drain()
    [dl] = await dead_letters.read(svc.store, "outbox")
    assert await dead_letters.replay(svc.store, dl) is True
    assert await dead_letters.replay(svc.store, dl) is False  # as if the first had died before its XDEL
    await svc.drain()
    assert svc.sent_texts("xiaowang") == ["一次"]


async def test_metrics_count_sends_and_wecom_errcodes(svc):
    def value(name: str, **labels) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0
    before = (value("qunbot_sends_total", channel="app", outcome="sent"),
              value("qunbot_sends_total", channel="app", outcome="retried"),
              value("qunbot_wecom_calls_total", api="message/send", errcode="45009"),
              value("qunbot_wecom_calls_total", api="message/send", errcode="0"))
    svc.fake.script("message/send", 45009)
    await svc.worker.emit(_origin(1), [Reply("_raw.txt.j2", text="x", to=Target("app", "xiaowang"))])
    await svc.drain()
    await svc.retry_due(61)
    after = (value("qunbot_sends_total", channel="app", outcome="sent"),
             value("qunbot_sends_total", channel="app", outcome="retried"),
             value("qunbot_wecom_calls_total", api="message/send", errcode="45009"),
             value("qunbot_wecom_calls_total", api="message/send", errcode="0"))
    assert [a - b for a, b in zip(after, before)] == [1, 1, 1, 1]


@pytest.mark.parametrize("oid,part", [("kf:abc#0", 0), ("x" * 500, 7), ("任意", 2)])
def test_kf_msgid_fits_wecom_limits_and_is_stable(oid, part):
    import re

    from handlers.shoppers.kf_send import kf_msgid
    m = kf_msgid(oid, part)
    assert len(m.encode()) <= 32 and re.fullmatch(r"[0-9a-zA-Z_-]+", m)
    assert m == kf_msgid(oid, part) and m != kf_msgid(oid, part + 1)


async def test_a_single_part_send_costs_two_redis_round_trips(svc):
    """Gate (parked check + kf reply slot, pipelined) and the ack; no parts_sent, no SCRIPT EXISTS."""
    from redis.asyncio.connection import AbstractConnection
    svc.fake.kf_push("wkS01", "wmRT", "在吗")
    await svc.store.kf.customer_wrote("kf:wkS01:wmRT", int(svc.sender.clock()), "m1")
    await svc.worker.emit(_origin(0), [Reply("_raw.txt.j2", text="预热", to=Target("kf", "wkS01:wmRT"))])
    await svc.drain()  # token, scripts loaded
    for i in range(1, 4):
        await svc.worker.emit(_origin(i), [Reply("_raw.txt.j2", text=f"{i}", to=Target("kf", "wkS01:wmRT"))])
    sent: list[bytes] = []
    orig = AbstractConnection.send_packed_command

    async def counting(self, command, check_health=True):
        sent.append(b"".join(bytes(c) for c in command) if isinstance(command, list) else bytes(command))
        return await orig(self, command, check_health)
    AbstractConnection.send_packed_command = counting
    try:
        for e in await svc.store.outbox.read_new(svc.store.outbox.part_of("kf:wkS01:wmRT"), "rt", 10):
            await svc.sender.handle(e)
            await svc.store.outbox.ack(e)
    finally:
        AbstractConnection.send_packed_command = orig
    assert len(sent) == 1 + 3 * 2  # one read for the batch, then 2 per entry
    assert not [c for c in sent if b"SCRIPT" in c.upper() or b"parts" in c]
    assert _kf_texts(svc.fake, "wmRT") == ["预热", "1", "2", "3"]


async def test_a_crash_between_parts_resumes_after_the_delivered_ones(svc):
    """The worker dies after part 1 of 3 (no ack): the redelivery reads the stored progress."""
    svc.fake.kf_push("wkS01", "wmCrash", "在吗")
    await svc.store.kf.customer_wrote("kf:wkS01:wmCrash", int(svc.sender.clock()), "m1")
    long = "\n".join(ch * 600 for ch in "甲乙丙")
    deliver = svc.sender.channels["kf"]
    calls = {"n": 0}

    async def dies_once(out, text):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")  # not a WeCom error: the entry stays pending
        await deliver(out, text)
    svc.sender.channels["kf"] = dies_once
    await svc.worker.emit(_origin(1), [Reply("_raw.txt.j2", text=long, to=Target("kf", "wkS01:wmCrash"))])
    await svc.drain()
    await asyncio.sleep(0.1)  # past [worker] retry_after_ms: the entry is reclaimed
    await svc.drain()
    assert _kf_texts(svc.fake, "wmCrash") == long.split("\n")
    assert await svc.store.outbox.pending_count() == 0 and await _dead(svc) == []
