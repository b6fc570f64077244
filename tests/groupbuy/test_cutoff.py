"""Cutoff: each 团 is closed once and its result sent once, with two workers racing and across a
service restart (scheduler catch-up), including a crash between closing and sending."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import handlers
from bot.consumer import PartitionConsumer
from bot.message import Message
from bot.scheduler import Scheduler, fire_message
from bot.worker import Worker
from handlers.groupbuy import chat, closing
from tests.conftest import make_config
from tests.groupbuy.helpers import kf_sent, open_group, shop, use_groupbuy
from tests.harness import Harness

TZ = ZoneInfo("Asia/Shanghai")
FORMED = "/开团 丹东99草莓 36.9元/盒 满3盒成团 截止明天20:00 自提周六10-12点服务台"
FAILED = "/开团 手工水饺 30元/份 满20份成团 截止明天20:00 自提周六服务台"


@pytest.fixture
async def svc(aiohttp_client, redis, prefix, fake):
    # A cron spec: the scheduler's catch-up replays the latest missed cron fire after downtime.
    cfg = make_config(prefix, fake.base_url, schedule={"groupbuy_cutoff": "* * * * *"})
    h = await Harness.start(aiohttp_client, redis, cfg, fake)
    use_groupbuy(h)
    return h


async def two_due_groups(svc) -> tuple[int, int]:
    """One 团 that forms (3 of 3) and one that does not (2 of 20), both past their cutoff."""
    formed, failed = await open_group(svc, FORMED), await open_group(svc, FAILED)
    await shop(svc, "wmA", "草莓+2 3栋502")
    await shop(svc, "wmB", "草莓+1")
    await shop(svc, "wmB", "水饺+2")
    gbs = svc.store.groupbuys
    for gid in (formed, failed):
        await gbs.note(gid, "cutoff", str(time.time() - 60))
    return formed, failed


def results(svc, gid: int, product: str) -> dict[str, int]:
    """How many close results each recipient got for 团 `gid`."""
    guide = [t for t in svc.sent_texts("xiaowang") if t.startswith((f"✅ 团{gid} ", f"❌ 团{gid} ")) and "已截单" in t]
    out = {"guide": len(guide)}
    for user in ("wmA", "wmB"):
        out[user] = sum(1 for t in kf_sent(svc, user) if t.startswith((f"✅ {product}团已成团", f"❌ {product}团未成团")))
    return out


def files(svc) -> list[str]:
    """Files the guide received: only a formed 团 has a pickup list."""
    sent = [c for c in svc.fake.sent("message/send", ok=True) if (c.body or {}).get("msgtype") == "file"]
    assert all(c.body["touser"] == "xiaowang" for c in sent)
    return sorted(m["filename"] for m in svc.fake.media.values())


async def settle_all(svc) -> None:
    for _ in range(100):
        await asyncio.sleep(0.06)  # past retry_after_ms, so anything left pending is reclaimed
        n = await svc.drain()
        if n == 0 and await svc.store.inbox.pending_count() == 0 and await svc.store.outbox.pending_count() == 0:
            return


async def test_two_workers_close_once_and_send_one_result(svc):
    formed, failed = await two_due_groups(svc)
    store = svc.store
    assert "要提前截单" in (await svc.ask(f"/结团 {formed}"))[0]  # the guide's 确认 below closes it
    for part in range(store.inbox.n):
        await store.inbox.release(part, svc.inbox.name)
    w = svc.config.worker
    consumers = [PartitionConsumer(store.inbox, Worker(svc.config, store, svc.worker.dispatcher, svc.deps).handle,
                                   name=f"worker-{i}", lease_ms=w.lease_ms, retry_after_ms=w.retry_after_ms,
                                   max_deliveries=w.max_deliveries) for i in (1, 2)]
    now = datetime.now(TZ)
    fires = [fire_message("groupbuy_cutoff", now - timedelta(seconds=s)) for s in (61, 1)]
    early = Message(id="guide-close", channel="app", conversation="xiaowang", sender="xiaowang",
                    text=f"确认 团{formed}")
    for m in [*fires, early, fires[0]]:  # the first fire also arrives twice
        await store.inbox.put(m.conversation, m.id, m.to_json())
    await asyncio.gather(*(c.drain() for c in consumers))
    # Two more sweeps running at the same moment, as two processes would after a lease handover.
    extra = [Worker(svc.config, store, svc.worker.dispatcher, svc.deps) for _ in (1, 2)]
    await asyncio.gather(*(closing.sweep(fire_message("groupbuy_cutoff", now + timedelta(seconds=30 * i)), store,
                                         x.emit, svc.config, time.time()) for i, x in enumerate(extra, 1)))
    await settle_all(svc)

    gbs = store.groupbuys
    for gid in (formed, failed):
        applied = [await gbs.applied(gid, m.id) for m in (*fires, early)]
        assert sum(o.closed_now for o in applied if o) == 1
    assert results(svc, formed, "丹东99草莓") == {"guide": 1, "wmA": 1, "wmB": 1}
    assert results(svc, failed, "手工水饺") == {"guide": 1, "wmA": 0, "wmB": 1}
    assert files(svc) == [f"团{formed}_丹东99草莓_提货单.xlsx"]
    assert (await gbs.get(formed)).result == "formed" and (await gbs.get(failed)).result == "failed"
    assert await gbs.open_ids() == []


async def test_restart_across_cutoff_closes_once_even_after_a_crash_mid_close(svc):
    formed, failed = await two_due_groups(svc)
    store, gbs = svc.store, svc.store.groupbuys
    # The service was last running an hour ago, before both cutoffs.
    await store.r.set(store.keys.job_last("groupbuy_cutoff"), int(time.time()) - 3600)
    # A worker had closed one 团 and died before sending anything.
    crashed = await gbs.close(formed, "job:groupbuy_cutoff:crashed", time.time(), reason="cutoff")
    assert crashed.closed_now and not (await gbs.get(formed)).announced

    for restart in range(3):  # start, start again, start again: never a second result
        fired = await Scheduler(svc.config, store, chat.JOBS).catch_up()
        assert fired == (["groupbuy_cutoff"] if restart == 0 else fired)
        await settle_all(svc)

    assert results(svc, formed, "丹东99草莓") == {"guide": 1, "wmA": 1, "wmB": 1}
    assert results(svc, failed, "手工水饺") == {"guide": 1, "wmA": 0, "wmB": 1}
    assert files(svc) == [f"团{formed}_丹东99草莓_提货单.xlsx"]
    assert (await gbs.get(formed)).announced == ("closed",) and (await gbs.get(failed)).announced == ("closed",)
    assert await gbs.open_ids() == []


async def test_not_due_groups_stay_open(svc):
    gid = await open_group(svc, FORMED)
    await shop(svc, "wmA", "+2")
    fire = fire_message("groupbuy_cutoff", datetime.now(TZ))
    await svc.store.inbox.put(fire.conversation, fire.id, fire.to_json())
    await settle_all(svc)
    g = await svc.store.groupbuys.get(gid)
    assert g.status == "open" and await svc.store.groupbuys.open_ids() == [gid]
    assert results(svc, gid, "丹东99草莓") == {"guide": 0, "wmA": 0, "wmB": 0}


async def test_default_interval_job_after_downtime_closes_once_through_the_real_wiring(service):
    """With the shipped schedule (@every 30) and handlers.ROUTERS: the service was down at both
    cutoffs; after the restart two replicas tick at the same moment (and again 30 s later), and
    each 团 still gets one close and one result per recipient."""
    service.fake.add_group("wrGroupA", "xiaowang", [])
    formed, failed = await two_due_groups(service)
    store = service.store
    replicas = [Scheduler(service.config, store, handlers.JOBS) for _ in (1, 2)]
    job = next(j for j in replicas[0].jobs if j.name == "groupbuy_cutoff")
    assert job.spec == "@every 30"
    for _ in range(2):
        for r in replicas:
            await r.catch_up()
        await asyncio.gather(*(r._fire(job) for r in replicas))
        await settle_all(service)
    assert results(service, formed, "丹东99草莓") == {"guide": 1, "wmA": 1, "wmB": 1}
    assert results(service, failed, "手工水饺") == {"guide": 1, "wmA": 0, "wmB": 1}
    assert files(service) == [f"团{formed}_丹东99草莓_提货单.xlsx"]
    failed_note = next(t for t in service.sent_texts("xiaowang") if t.startswith(f"❌ 团{failed} "))
    assert "还差18份" in failed_note
    assert (await store.groupbuys.get(formed)).status == (await store.groupbuys.get(failed)).status == "closed"
