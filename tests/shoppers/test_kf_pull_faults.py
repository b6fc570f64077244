"""kf pull under faults: a puller that dies holding the lock, a long pull, and callbacks
that an earlier complete pull already covered."""
from __future__ import annotations

import asyncio

import pytest

from tests.shoppers.helpers import kf_callback, start


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    return await start(aiohttp_client, redis, service_config, fake)


async def test_a_callback_behind_a_dead_pullers_lock_still_gets_its_pull(shop, fake):
    """A worker killed mid-pull leaves the lock until its TTL; the callback that finds it must
    not be acked with nobody left to pull (it used to wait for the next callback or the safety pull)."""
    h, rec = shop
    puller = h.shoppers.puller
    puller.lock_ms = 600
    assert await h.store.kf.acquire("wkS01", "killed-worker", 600, "")  # and never released
    fake.kf_push("wkS01", "wmOrphan", "草莓多少钱")
    res = await puller.pull("wkS01", fake.kf_token())
    assert not res.busy and res.queued == 1
    await h.drain()
    assert rec.texts("wmOrphan") == ["草莓多少钱"]


async def test_a_busy_callback_returns_once_the_live_holder_took_its_request(shop, fake):
    h, _ = shop
    puller = h.shoppers.puller
    assert await h.store.kf.acquire("wkS01", "holder", 10_000, "")
    waiting = asyncio.create_task(puller.pull("wkS01", fake.kf_token()))
    await asyncio.sleep(0.3)
    assert not waiting.done() and await h.store.kf.again_pending("wkS01")
    state, _ = await h.store.kf.release("wkS01", "holder", 10_000)
    assert state == "again"  # the holder goes round again for the waiting callback
    res = await asyncio.wait_for(waiting, 2)
    assert res.busy and res.pulled == 0


async def test_a_long_pull_keeps_its_lock(shop, fake):
    h, _ = shop
    puller = h.shoppers.puller
    puller.lock_ms = 300
    assert await h.store.kf.acquire("wkS01", "me", 300, "")
    keeper = asyncio.create_task(puller._keep_lock("wkS01", "me"))
    await asyncio.sleep(1.0)  # three TTLs
    assert await h.store.r.get(h.store.keys.kf_lock("wkS01")) == b"me"
    keeper.cancel()
    await asyncio.sleep(0.5)
    assert await h.store.r.get(h.store.keys.kf_lock("wkS01")) is None  # a dead holder's lock runs out


async def test_callbacks_an_earlier_pull_covered_cost_no_pull(shop, fake):
    h, rec = shop
    fake.kf_push("wkS01", "wmBurst", "第一句")
    # Ten callbacks acked before any worker ran, as in a backlog: the first pulls, the rest are covered.
    for _ in range(10):
        await kf_callback(h)
    await h.drain()
    assert rec.texts("wmBurst") == ["第一句"]
    assert len(fake.sent("kf/sync_msg")) == 1
    # A callback acked after that pull started needs its own pull, and gets it.
    fake.kf_push("wkS01", "wmBurst", "第二句")
    await kf_callback(h)
    await h.drain()
    assert rec.texts("wmBurst") == ["第一句", "第二句"]
    assert len(fake.sent("kf/sync_msg")) == 2


async def test_a_refused_cursor_does_not_stop_the_account_for_good(shop, fake):
    h, rec = shop
    fake.kf_push("wkS01", "wmCursor", "有草莓吗")
    # A cursor WeCom no longer accepts (here: one of another kind), saved by an earlier pull.
    await h.store.r.hset(h.store.keys.kf_cursor("wkS01"), "cursor", "Z2M6NQ")
    await kf_callback(h)
    await h.drain()
    assert rec.texts("wmCursor") == ["有草莓吗"]
    assert (await h.store.kf.cursor("wkS01")).cursor != "Z2M6NQ"
