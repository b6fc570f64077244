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


async def test_a_code_reserved_with_the_claim_inputs_is_issued_or_given_back(two, monkeypatch):
    """When the live list is read, a code is reserved in the same round trip for the campaign the
    store offered before; the claim that follows issues it without a reserve step of its own, and
    one no claim took is released."""
    monkeypatch.setattr(ledger, "CACHE_SECONDS", 0)  # every claim_inputs reads the list
    a, _ = two
    cid = await live_campaign(a, "满50减10 100张 每人1张 有效3天", now=NOW)
    assert await a.coupons.claim_inputs("S01", "wmA", "wkS01:wmA", NOW) == ([cid], None)  # the list, now known
    drawn = []

    def drawing():
        drawn.append(ledger_code())
        return drawn[-1]

    assert await a.coupons.claim_inputs("S01", "wmA", "wkS01:wmA", NOW, new_code=drawing) == ([cid], None)
    assert len(drawn) == 1 and await a.coupons.lookup(drawn[0]) == cid  # reserved
    c = await a.coupons.claim(cid, shopper="wmA", msg_id="m1", now=NOW, day_end=int(NOW) + 86400, store_id="S01",
                              joined_at=None, target="wkS01:wmA", new_code=_no_more_codes, defer=True)
    assert c.status == "issued" and c.codes == (drawn[0],)
    assert [w["code"] for w in await a.coupons.wallet("wmA")] == [drawn[0]]
    # reserved for wmB, but the claim does not come (e.g. the campaign asked for is another)
    await a.coupons.claim_inputs("S01", "wmB", "wkS01:wmB", NOW, new_code=drawing)
    assert len(drawn) == 2 and await a.coupons.lookup(drawn[1]) == cid
    await a.coupons.release_unclaimed("wmB")
    assert await a.coupons.lookup(drawn[1]) is None


def ledger_code() -> str:
    from handlers.coupons.codes import new_code
    return new_code()


def _no_more_codes() -> str:
    raise AssertionError("the claim drew a code of its own")
