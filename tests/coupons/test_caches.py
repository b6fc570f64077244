"""What every shopper message re-reads (live campaigns, welcome coupons) is kept a second per
process: this process's own 确认 / 停券 / 欢迎券 show at once, another's within CACHE_SECONDS; and the
claim step writes the code index and the wallet itself."""
from __future__ import annotations

import asyncio

import pytest

import store.coupons as ledger
from store import Store
from tests.coupons.helpers import live_campaign
from tests.coupons.test_ledger import NOW, claim


@pytest.fixture
def two(redis, prefix):
    return Store(redis, prefix=prefix), Store(redis, prefix=prefix)


async def test_own_changes_show_at_once(two):
    a, _ = two
    assert await a.coupons.live_campaigns("S01") == [] and not await a.coupons.any_welcome()
    cid = await live_campaign(a, "满50减10 100张 每人1张 有效3天", now=NOW)
    assert await a.coupons.live_campaigns("S01") == [cid]
    assert (await a.coupons.claim_inputs("S01", "wmA", "wkS01:wmA", NOW)) == ([cid], None)
    await a.coupons.set_welcome("S01", cid)
    assert await a.coupons.any_welcome() and await a.coupons.welcome_of("S01") == cid
    assert (await a.coupons.claim_inputs("S01", "wmA", "wkS01:wmA", NOW)) == ([cid], cid)
    await a.coupons.stop(cid, by="xiaowang", now=NOW)
    assert await a.coupons.live_campaigns("S01") == [] and not await a.coupons.any_welcome()


async def test_another_process_shows_within_the_cache_time(two, monkeypatch):
    monkeypatch.setattr(ledger, "CACHE_SECONDS", 0.2)
    a, b = two
    assert await a.coupons.live_campaigns("S01") == [] and await a.coupons.welcome_of("S01") is None
    cid = await live_campaign(b, "满50减10 100张 每人1张 有效3天", now=NOW, welcome=True)
    await asyncio.sleep(0.25)
    assert await a.coupons.live_campaigns("S01") == [cid] and await a.coupons.welcome_of("S01") == cid
    await b.coupons.stop(cid, by="xiaowang", now=NOW)
    await asyncio.sleep(0.25)
    assert (await a.coupons.claim_inputs("S01", "wmA", "wkS01:wmA", NOW)) == ([], None)


async def test_the_claim_step_indexes_the_code_and_fills_the_wallet(two):
    a, _ = two
    cid = await live_campaign(a, "满50减10 100张 每人1张 有效3天", now=NOW)
    got = await claim(a, cid, "wmA", "m1")
    [code] = got.codes
    assert await a.coupons.lookup(code) == cid
    assert [r["code"] for r in await a.coupons.wallet("wmA")] == [code]
    # A wallet entry lost (a crash before the old separate ZADD, an operator) is healed by the redelivery.
    await a.r.delete(a.keys.coupon_wallet("wmA"))
    again = await claim(a, cid, "wmA", "m1")
    assert again.status == "again" and again.codes == (code,)
    assert [r["code"] for r in await a.coupons.wallet("wmA")] == [code]
