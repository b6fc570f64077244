"""Scheduled delivery: once per (day, recipient) with two workers racing, once after a restart
across the send time (marked 补发), days missed during a longer outage caught up, and the byte
limits of every markdown part that reaches WeCom."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest

import handlers  # noqa: F401  (before bot.consumer: the store <-> handlers import cycle)

from bot.consumer import PartitionConsumer
from bot.scheduler import Scheduler, fire_message
from bot.worker import Worker
from handlers.digest import chat, deliver
from handlers.digest.day import cutoff_ts, last_closed_day
from handlers.digest.settings import settings
from tests.digest import scenario
from tests.digest.helpers import digest_config, start

WEBHOOK = "robot-buyers-S01"


def clock_spec(ts: float) -> tuple[str, str]:
    """("HH:MM", "M H * * *") of a moment in the configured timezone."""
    t = datetime.fromtimestamp(ts, scenario.TZ)
    return t.strftime("%H:%M"), f"{t.minute} {t.hour} * * *"


def recipients() -> list[dict]:
    return [{"name": "buyer1", "users": ["buyer1"]}, {"name": "buyer2", "users": ["buyer2"], "xlsx": False},
            {"name": "S01群", "webhook": WEBHOOK, "stores": ["S01"]}]


async def service(aiohttp_client, redis, prefix, fake, *, cutoff_ago: float, send_ago: float, **digest):
    now = time.time()
    cut, _ = clock_spec(now - cutoff_ago)
    _, send = clock_spec(now - send_ago)
    cfg = digest_config(prefix, fake.base_url, cutoff=cut, send=send, recipients=recipients(), top=3, **digest)
    svc = await start(aiohttp_client, redis, fake, cfg)
    await configured_since(svc, now - send_ago - 120)  # shortly before today's send time
    return svc


async def configured_since(svc, ts: float) -> None:
    names = [r["name"] for r in recipients()] + [deliver.PURCHASING]
    await svc.store.r.hset(svc.store.keys.digest_seen(), mapping={n: ts for n in names})


async def busy_day(svc, now: float) -> str:
    """A day with enough in it for several messages per recipient."""
    st = settings(svc.config)
    day = last_closed_day(now, st.cutoff, st.tz)
    sc = scenario.Scenario(seed=3)
    sc.plan_day(day, busy=2.0)
    end = cutoff_ts(day, st.cutoff, st.tz)
    for g in sc.groups:  # keep every 团 of the day inside its window and already past its cutoff
        g.cutoff = min(g.cutoff, end - 60)
        g.day = day if g.fate != "cancel" else g.day
    await sc.play(svc.store)
    return day


def digests(svc, to: str) -> tuple[list[str], int]:
    """(markdown parts, files) that reached `to` (a userid, or the webhook key)."""
    texts, files = [], 0
    for c in svc.fake.sent(None, ok=True):
        body = c.body or {}
        if c.path.endswith("message/send") and body.get("touser") == to or \
                c.path.endswith("webhook/send") and c.query.get("key") == to:
            if body.get("msgtype") == "markdown" and "采购需求日报" in body["markdown"]["content"]:
                texts.append(body["markdown"]["content"])
            files += body.get("msgtype") == "file"
    return texts, files


async def settle(svc) -> None:
    for _ in range(200):
        await asyncio.sleep(0.06)
        n = await svc.drain()
        if n == 0 and await svc.store.inbox.pending_count() == 0 and await svc.store.outbox.pending_count() == 0:
            return


def two_workers(svc) -> list[PartitionConsumer]:
    w = svc.config.worker
    return [PartitionConsumer(svc.store.inbox, Worker(svc.config, svc.store, svc.worker.dispatcher, svc.deps).handle,
                              name=f"worker-{i}", lease_ms=w.lease_ms, retry_after_ms=w.retry_after_ms,
                              max_deliveries=w.max_deliveries) for i in (1, 2)]


def check_one_digest(svc, to: str, *, limit: int, files: int, late: bool, parts: int = 2) -> list[str]:
    texts, got_files = digests(svc, to)
    heads = [t for t in texts if t.startswith("## 采购需求日报")]
    assert len(heads) == 1, (to, len(heads))
    assert len(texts) >= parts and got_files == files
    assert all(len(t.encode()) <= limit for t in texts)
    assert ("补发" in heads[0]) == late
    return texts


async def test_two_workers_and_repeated_fires_deliver_each_digest_once(aiohttp_client, redis, prefix, fake):
    svc = await service(aiohttp_client, redis, prefix, fake, cutoff_ago=1800, send_ago=900, late_after=3600)
    now = time.time()
    await busy_day(svc, now)
    for part in range(svc.store.inbox.n):
        await svc.store.inbox.release(part, svc.inbox.name)
    tz = scenario.TZ
    # two replicas' schedulers fire the same minute, a later minute fires too, and one fire is redelivered
    fires = [fire_message("digest_tick", datetime.fromtimestamp(now - s, tz).replace(second=0)) for s in (60, 60, 0)]
    for m in fires + fires[:1]:
        await svc.store.inbox.put(m.conversation, m.id, m.to_json())
    await asyncio.gather(*(c.drain() for c in two_workers(svc)))
    # and two more ticks running at the very same moment in two processes
    extra = [Worker(svc.config, svc.store, svc.worker.dispatcher, svc.deps) for _ in (1, 2)]
    await asyncio.gather(*(deliver.tick(svc.store, w.emit, svc.config, settings(svc.config), time.time()) for w in extra))
    await settle(svc)

    check_one_digest(svc, "buyer1", limit=2048, files=1, late=False)
    check_one_digest(svc, "buyer2", limit=2048, files=0, late=False)
    hook = check_one_digest(svc, WEBHOOK, limit=4096, files=1, late=False, parts=1)
    assert all("五一广场店" not in t for t in hook)  # the S01 group sees S01 only
    assert set((await svc.store.digest.sent_log(last_closed_day(now, *_cut(svc))))) == {"buyer1", "buyer2", "S01群"}


def _cut(svc):
    st = settings(svc.config)
    return st.cutoff, st.tz


async def test_restart_across_the_send_time_sends_once_marked_late(aiohttp_client, redis, prefix, fake):
    svc = await service(aiohttp_client, redis, prefix, fake, cutoff_ago=3600, send_ago=1800)
    now = time.time()
    await busy_day(svc, now)
    # The service last ran 40 minutes ago: before the send time, after the cutoff.
    await svc.store.r.set(svc.store.keys.job_last("digest_tick"), int(now - 2400))
    for restart in range(3):
        fired = await Scheduler(svc.config, svc.store, chat.JOBS).catch_up()
        assert fired == (["digest_tick"] if restart == 0 else [])
        await settle(svc)
    tick = fire_message("digest_tick", datetime.now(scenario.TZ).replace(second=0))
    await svc.store.inbox.put(tick.conversation, tick.id, tick.to_json())
    await settle(svc)
    for to, limit, files, parts in (("buyer1", 2048, 1, 2), ("buyer2", 2048, 0, 2), (WEBHOOK, 4096, 1, 1)):
        check_one_digest(svc, to, limit=limit, files=files, late=True, parts=parts)


async def test_an_outage_of_days_delivers_each_missed_day_once_late(aiohttp_client, redis, prefix, fake):
    svc = await service(aiohttp_client, redis, prefix, fake, cutoff_ago=3600, send_ago=1800)
    st = settings(svc.config)
    worker = svc.worker
    t0 = time.time() - 3 * 86400 - 1800 + 120  # three days ago, two minutes after that day's send time
    await configured_since(svc, t0 - 3600)
    first = await deliver.tick(svc.store, worker.emit, svc.config, st, t0)
    day0 = last_closed_day(t0, st.cutoff, st.tz)
    assert {(d, r) for d, r, _ in first["sent"]} == {(day0, r["name"]) for r in recipients()}
    # Down for two and a half days, then back: the two missed days go out, late, oldest first.
    back = t0 + 2.5 * 86400
    done = await deliver.tick(svc.store, worker.emit, svc.config, st, back)
    missed = [last_closed_day(t0 + 86400, st.cutoff, st.tz), last_closed_day(t0 + 2 * 86400, st.cutoff, st.tz)]
    assert sorted(done["frozen"]) == missed
    assert sorted((d, r, late) for d, r, late in done["sent"]) == \
        sorted((d, r["name"], True) for d in missed for r in recipients())
    assert (await deliver.tick(svc.store, worker.emit, svc.config, st, back + 60))["sent"] == []
    await settle(svc)
    heads = [t for t in digests(svc, "buyer1")[0] if t.startswith("## ")]
    assert len(heads) == 3 and sum("补发" in t for t in heads) == 2


async def test_a_recipient_added_later_gets_no_old_digests(aiohttp_client, redis, prefix, fake):
    svc = await service(aiohttp_client, redis, prefix, fake, cutoff_ago=3600, send_ago=1800)
    await svc.store.r.hdel(svc.store.keys.digest_seen(), "buyer2")  # never seen before this tick
    done = await deliver.tick(svc.store, svc.worker.emit, svc.config, settings(svc.config), time.time())
    assert {r for _, r, _ in done["sent"]} == {"buyer1", "S01群"}


@pytest.mark.parametrize("bad", [{"cutoff": "25:00"}, {"send": "every day"},
                                 {"recipients": [{"name": "x"}]},
                                 {"recipients": [{"name": "x", "users": ["a"], "stores": ["S99"]}]},
                                 {"purchasing_scope": "region"}])
def test_bad_settings_name_the_key(prefix, bad):
    from handlers.digest.settings import DigestConfigError
    with pytest.raises(DigestConfigError, match="digest"):
        settings(digest_config(prefix, "http://x", **bad))


def test_default_recipients_are_the_buyers(prefix):
    st = settings(digest_config(prefix, "http://x"))
    assert [(r.name, r.users, r.stores) for r in st.recipients] == [("buyer1", ("buyer1",), None),
                                                                     ("buyer2", ("buyer2",), None)]


def test_schedule_plan_skips_days_before_a_recipient_existed():
    from handlers.digest.settings import Settings, parse_cutoff
    st = Settings(tz=scenario.TZ, cutoff=parse_cutoff("21:00"), catch_up_days=3, late_after=600)
    now = datetime(2026, 6, 13, 21, 40, tzinfo=scenario.TZ).timestamp()
    seen = {"a": now - 10 * 86400, "b": now - 1.1 * 86400}
    plan = deliver.plan(st, {"a": "30 21 * * *", "b": "0 8 * * *"}, seen, now)
    # a: the last three days' fires (06-13's is exactly late_after ago: on time); b: its one fire since it
    # was configured, the 08:00 one, covers the day that closed the evening before
    assert [(x.recipient, x.day, x.late) for x in plan] == [
        ("a", "2026-06-11", True), ("a", "2026-06-12", True), ("a", "2026-06-13", False), ("b", "2026-06-12", True)]
    plan = deliver.plan(st, {"a": "30 21 * * *"}, seen, now - 5 * 60)
    assert plan[-1] == deliver.Due("a", "2026-06-13", now - 10 * 60, False)
    assert timedelta(seconds=now - plan[-1].fire) == timedelta(minutes=10)
