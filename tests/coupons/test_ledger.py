"""The Redis ledger: claim and redeem decided in one Lua step each, under concurrency and retries."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime

import pytest

from bot.config import Config, Store as StoreCfg
from handlers.coupons import service
from handlers.coupons.codes import CODE_LENGTH, is_well_formed, new_code
from handlers.coupons.shopper import contact_shopper
from store import Store
from tests.coupons.helpers import TZ, live_campaign, spec

CFG = Config(stores=(StoreCfg("S01", "梅溪湖店", guides=("xiaowang",)), StoreCfg("S02", "五一店", guides=("xiaoli",))))
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=TZ).timestamp()


@pytest.fixture
def store(redis, prefix) -> Store:
    return Store(redis, prefix=prefix)


async def claim(store: Store, cid: str, shopper: str, msg_id: str | None = None, *, now: float = NOW,
                store_id: str = "S01", joined_at: int | None = None, new=new_code):
    return await store.coupons.claim(cid, shopper=shopper, msg_id=msg_id or f"m-{shopper}-{random.random()}",
                                     now=now, day_end=service.day_end(now, CFG), store_id=store_id,
                                     joined_at=joined_at, target=f"wkS01:{shopper}", new_code=new)


async def test_claim_issues_a_well_formed_code_that_expires_at_the_end_of_the_nth_day(store):
    cid = await live_campaign(store, "满50减10 100张 每人1张 有效3天", now=NOW)
    c = await claim(store, cid, "wmA")
    assert c.status == "issued" and len(c.codes) == 1
    code = c.codes[0]
    assert len(code) == CODE_LENGTH and is_well_formed(code)
    # claim day counts as day 1: 15th, 16th, 17th, expiring 17th 23:59:59 local
    assert c.expires == (int(datetime(2025, 6, 17, 23, 59, 59, tzinfo=TZ).timestamp()),)
    assert await store.coupons.lookup(code) == cid
    rec = await store.coupons.code_record(code)
    assert rec["holder"] == "wmA" and rec["state"] == "issued" and rec["store"] == "S01"
    assert (await store.coupons.campaign(cid))["issued"] == "1"
    assert [r["code"] for r in await store.coupons.wallet("wmA")] == [code]


async def test_fixed_window_codes_expire_with_the_campaign_and_claims_stop_after_it(store):
    cid = await live_campaign(store, "无门槛5元 10张 有效至6-20", now=NOW)
    end = int(datetime(2025, 6, 20, 23, 59, 59, tzinfo=TZ).timestamp())
    assert (await claim(store, cid, "wmA")).expires == (end,)
    assert (await claim(store, cid, "wmB", now=end + 1)).status == "ended"


async def test_same_message_gets_the_same_code_and_a_second_message_gets_held(store):
    cid = await live_campaign(store, "满50减10 100张 每人1张 有效3天", now=NOW)
    first = await claim(store, cid, "wmA", "msg-1")
    again = await claim(store, cid, "wmA", "msg-1")
    assert again.status == "again" and again.codes == first.codes and again.expires == first.expires
    other = await claim(store, cid, "wmA", "msg-2")
    assert other.status == "held" and other.codes == first.codes
    assert (await store.coupons.campaign(cid))["issued"] == "1"


async def test_per_person_limit_above_one(store):
    cid = await live_campaign(store, "无门槛5元 100张 每人2张 有效3天", now=NOW)
    a = await claim(store, cid, "wmA", "m1")
    b = await claim(store, cid, "wmA", "m2")
    c = await claim(store, cid, "wmA", "m3")
    assert (a.status, b.status, c.status) == ("issued", "issued", "held")
    assert set(c.codes) == {a.codes[0], b.codes[0]} and a.codes != b.codes
    assert (await claim(store, cid, "wmA", "m2")).codes == b.codes  # a redelivered m2 still maps to b


async def test_sold_out_keeps_the_holders_code_visible(store):
    cid = await live_campaign(store, "无门槛5元 2张 有效3天", now=NOW)
    a = await claim(store, cid, "wmA")
    await claim(store, cid, "wmB")
    assert (await claim(store, cid, "wmC")).status == "sold_out"
    held = await claim(store, cid, "wmA")  # the per-person limit is reported before the stock
    assert (held.status, held.codes) == ("held", a.codes)
    cid2 = await live_campaign(store, "无门槛5元 2张 每人2张 有效3天", now=NOW)
    a2 = await claim(store, cid2, "wmA")
    await claim(store, cid2, "wmB")
    out = await claim(store, cid2, "wmA")
    assert out.status == "sold_out" and out.codes == a2.codes


async def test_draft_and_stopped_campaigns_issue_nothing(store):
    cid = await service.create_campaign(store, spec("无门槛5元 10张 有效3天", NOW), owner="S01", by="x", now=NOW)
    assert (await claim(store, cid, "wmA")).status == "not_live"
    assert await store.coupons.confirm(cid, by="x", now=NOW) == "live"
    assert await store.coupons.confirm(cid, by="x", now=NOW) == "already"
    assert await store.coupons.stop(cid, by="x", now=NOW) == "live"
    assert await store.coupons.stop(cid, by="x", now=NOW) == "already"
    assert (await claim(store, cid, "wmA")).status == "not_live"
    assert await store.coupons.confirm(cid, by="x", now=NOW) == "stopped"
    assert await store.coupons.live_campaigns("S01") == []
    assert await store.coupons.stop("C999", by="x", now=NOW) == "missing"


async def test_drafts_expire_but_live_campaigns_do_not(store, redis):
    cid = await service.create_campaign(store, spec("无门槛5元 10张 有效3天", NOW), owner="S01", by="x", now=NOW)
    meta_key = store.keys.coupon_meta(cid)
    assert 0 < await redis.ttl(meta_key) <= 86400
    await store.coupons.confirm(cid, by="x", now=NOW)
    assert await redis.ttl(meta_key) == -1


async def test_store_scope(store):
    own = await live_campaign(store, "无门槛5元 10张 有效3天", now=NOW)
    listed = await live_campaign(store, "无门槛6元 10张 有效3天 门店 S02", now=NOW)
    everywhere = await live_campaign(store, "无门槛7元 10张 有效3天 全部门店", now=NOW)
    assert await store.coupons.live_campaigns("S01") == [own, everywhere]
    assert await store.coupons.live_campaigns("S02") == [listed, everywhere]
    assert (await claim(store, own, "wmA", store_id="S02")).status == "wrong_store"
    assert (await claim(store, listed, "wmA", store_id="S02")).status == "issued"
    assert (await claim(store, everywhere, "wmA", store_id="S02")).status == "issued"
    assert set(await store.coupons.store_campaigns("S01")) == {own, listed, everywhere}  # S01 created them all


async def test_new_member_eligibility(store):
    cid = await live_campaign(store, "新人券 无门槛5元 10张 有效3天 新人3天", now=NOW)
    assert (await claim(store, cid, "wmA", joined_at=None)).status == "not_member"
    assert (await claim(store, cid, "wmA", joined_at=int(NOW) - 4 * 86400)).status == "not_new"
    assert (await claim(store, cid, "wmA", joined_at=int(NOW) - 2 * 86400)).status == "issued"


async def test_a_colliding_code_is_refused_and_retried(store):
    cid = await live_campaign(store, "无门槛5元 10张 有效3天", now=NOW)
    first = await claim(store, cid, "wmA")
    other = await live_campaign(store, "无门槛6元 10张 有效3天", now=NOW)
    fresh = new_code()
    codes = iter([first.codes[0], first.codes[0], fresh])  # twice the code campaign 1 already issued
    c = await claim(store, other, "wmB", new=lambda: next(codes))
    assert c.status == "issued" and c.codes == (fresh,)
    assert await store.coupons.lookup(first.codes[0]) == cid  # the index still points at its owner
    # same campaign: a leftover record (e.g. an index entry lost by an operator) is refused by the script
    dup = new_code()
    await store.r.hset(store.keys.coupon_code(other, dup), mapping={"state": "issued"})
    await store.r.expire(store.keys.coupon_code(other, dup), 600)  # a code record always has a TTL
    codes2 = iter([dup, new_code()])
    c2 = await claim(store, other, "wmC", new=lambda: next(codes2))
    assert c2.status == "issued" and c2.codes[0] != dup
    assert await store.coupons.lookup(dup) is None  # the unused reservation was released


async def test_unused_reservations_are_released(store, redis):
    cid = await live_campaign(store, "无门槛5元 1张 有效3天", now=NOW)
    await claim(store, cid, "wmA")
    seen = []

    def recording():
        seen.append(new_code())
        return seen[-1]

    assert (await claim(store, cid, "wmB", new=recording)).status == "sold_out"
    assert seen and await store.coupons.lookup(seen[0]) is None


async def test_a_crash_before_the_filing_step_is_completed_by_the_redelivery(store, monkeypatch):
    """The claim is three one-slot steps; a crash after the campaign issued the code (before its
    wallet entry and index time were filed) leaves the message un-acked, and its redelivery gets
    the same code, files it, and issues nothing more."""
    import store.coupons as ledger

    cid = await live_campaign(store, "无门槛5元 10张 每人2张 有效3天", now=NOW)
    real = ledger.run_all

    async def crash(redis, calls):
        raise ConnectionError("Redis went away after the claim")

    monkeypatch.setattr(ledger, "run_all", crash)
    with pytest.raises(ConnectionError):
        await claim(store, cid, "wmA", "m-crash")
    monkeypatch.setattr(ledger, "run_all", real)
    [code] = [c.decode() for c in await store.r.hvals(store.keys.coupon_claims(cid))]
    assert await store.coupons.lookup(code) == cid  # findable by its reservation meanwhile
    assert await store.coupons.wallet("wmA") == []
    again = await claim(store, cid, "wmA", "m-crash")
    assert again.status == "again" and again.codes == (code,)
    assert [w["code"] for w in await store.coupons.wallet("wmA")] == [code]
    gone_at = await store.r.zscore(store.keys.coupon_code_expiry(code), code)
    assert gone_at == again.expires[0] + store.coupons.grace  # the real removal time, not the provisional one
    meta = await store.coupons.campaign(cid)
    assert meta["issued"] == "1" and (await store.coupons.ledger_counts(cid))["issued"] == 1


async def test_thousand_concurrent_claims_from_400_shoppers_at_100_codes(store, redis, redis_url):
    from store import connect
    # A pool of 64 connections, so scripts really interleave on the server rather than queue on one socket.
    client = connect(redis_url, max_connections=64)
    try:
        s = Store(client, prefix=store.keys.p)
        cid = await live_campaign(s, "满50减10 100张 每人1张 有效3天", now=NOW)
        shoppers = [f"wm{i:03d}" for i in range(400)]
        rng = random.Random(5)
        asks = [rng.choice(shoppers) for _ in range(1000)]
        results = await asyncio.gather(*(claim(s, cid, who, f"msg{i}") for i, who in enumerate(asks)))
    finally:
        await client.aclose()
    issued = [r for r in results if r.status == "issued"]
    assert len(issued) == 100
    codes = [r.codes[0] for r in issued]
    assert len(set(codes)) == 100
    holders = await redis.hgetall(store.keys.coupon_holders(cid))
    assert all(len(v.decode().split(",")) == 1 for v in holders.values())
    assert len(holders) == 100
    assert {r.status for r in results} <= {"issued", "held", "sold_out"}
    counts = await store.coupons.ledger_counts(cid)
    meta = await store.coupons.campaign(cid)
    assert counts["issued"] == counts["expiry_entries"] == int(meta["issued"]) == 100
    for code in codes:
        assert await store.coupons.lookup(code) == cid
    view = (await service.store_views(store, CFG, "S01", NOW))[0]
    assert (view["issued"], view["left"]) == (100, 0)


# -- redemption --------------------------------------------------------------------------------

async def _issued(store: Store, text: str = "满50减10 100张 每人1张 有效3天", **kw) -> tuple[str, str]:
    cid = await live_campaign(store, text, now=NOW, **kw)
    c = await claim(store, cid, "wmA")
    return cid, c.codes[0]


async def test_redeem_once_idempotent_on_order_no(store):
    cid, code = await _issued(store)
    r1 = await store.coupons.redeem(code, store_id="S01", order_no="A1", by="pos1", now=NOW + 60)
    assert (r1.status, r1.repeat, r1.order_no, r1.redeemed_at) == ("ok", False, "A1", int(NOW) + 60)
    r2 = await store.coupons.redeem(code, store_id="S01", order_no="A1", by="pos1", now=NOW + 120)
    assert (r2.status, r2.repeat, r2.redeemed_at) == ("ok", True, int(NOW) + 60)
    r3 = await store.coupons.redeem(code, store_id="S01", order_no="B7", by="pos2", now=NOW + 180)
    assert (r3.status, r3.order_no, r3.store) == ("already_redeemed", "A1", "S01")
    meta = await store.coupons.campaign(cid)
    assert meta["redeemed"] == "1"
    events = await store.coupons.events(cid)
    assert [(e["ev"], e["who"]) for e in events] == [("live", "xiaowang"), ("issue", "wmA"), ("redeem", "pos1")]
    assert events[2]["order"] == "A1" and events[2]["at"] == str(int(NOW) + 60)


async def test_two_tills_redeem_the_same_code_at_once(store, redis_url):
    from store import connect
    cid, code = await _issued(store)
    clients = [connect(redis_url) for _ in range(8)]
    try:
        stores = [Store(c, prefix=store.keys.p) for c in clients]
        results = await asyncio.gather(*(s.coupons.redeem(code, store_id="S01", order_no=f"till{i}", by=f"till{i}",
                                                          now=NOW + 5) for i, s in enumerate(stores)))
    finally:
        for c in clients:
            await c.aclose()
    ok = [r for r in results if r.status == "ok"]
    assert len(ok) == 1 and not ok[0].repeat
    assert all(r.status == "already_redeemed" and r.order_no == ok[0].order_no for r in results if r is not ok[0])
    assert (await store.coupons.campaign(cid))["redeemed"] == "1"


async def test_expired_stopped_wrong_store_and_unknown_are_distinct(store):
    _, code = await _issued(store)
    exp = int((await store.coupons.code_record(code))["expires_at"])
    assert (await store.coupons.redeem(code, store_id="S01", order_no="o", by="p", now=exp + 1)).status == "expired"
    assert (await store.coupons.redeem(code, store_id="S02", order_no="o", by="p", now=NOW)).status == "wrong_store"
    cid2, code2 = await _issued(store, "无门槛5元 10张 有效3天")
    await store.coupons.stop(cid2, by="x", now=NOW)
    assert (await store.coupons.redeem(code2, store_id="S01", order_no="o", by="p", now=NOW)).status == "stopped"
    assert (await store.coupons.redeem(new_code(), store_id="S01", order_no="o", by="p", now=NOW)).status == "unknown"
    # a redemption before the stop stays valid and idempotent
    cid3, code3 = await _issued(store, "无门槛6元 10张 有效3天")
    assert (await store.coupons.redeem(code3, store_id="S01", order_no="x", by="p", now=NOW)).status == "ok"
    await store.coupons.stop(cid3, by="x", now=NOW)
    r = await store.coupons.redeem(code3, store_id="S01", order_no="x", by="p", now=NOW)
    assert (r.status, r.repeat) == ("ok", True)


async def test_service_redeem_catches_a_mistyped_code_before_lookup(store):
    _, code = await _issued(store)
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    typo = code[:3] + next(ch for ch in alphabet if ch != code[3]) + code[4:]
    rep = await service.redeem(store, CFG, typo, store_id="S01", order_no="o", by="p", now=NOW)
    assert rep.status == "bad_check"
    swapped = code[:2] + code[3] + code[2] + code[4:]
    if swapped != code:
        assert (await service.redeem(store, CFG, swapped, store_id="S01", order_no="o", by="p", now=NOW)).status \
            == "bad_check"
    rep = await service.redeem(store, CFG, "0" + code[1:], store_id="S01", order_no="o", by="p", now=NOW)
    assert (rep.status, rep.bad_chars) == ("malformed", "0")
    assert (await service.redeem(store, CFG, code[:6], store_id="S01", order_no="o", by="p", now=NOW)).status \
        == "malformed"
    spaced = f" {code[:4].lower()}-{code[4:8]} {code[8]} "
    assert (await service.redeem(store, CFG, spaced, store_id="S01", order_no="o", by="p", now=NOW)).status == "ok"
    # nothing reached the ledger for the typos
    assert (await store.coupons.campaign((await store.coupons.code_record(code))["campaign"]))["redeemed"] == "1"


def test_split_code_and_order():
    assert service.split_code_and_order("ABCD EFGH J 2025-001") == ("ABCDEFGHJ", "2025-001")
    assert service.split_code_and_order("abcd-efgh-j") == ("ABCDEFGHJ", "")
    assert service.split_code_and_order("ABCDEFGHJ POS 7") == ("ABCDEFGHJ", "POS 7")
    assert service.split_code_and_order("") == ("", "")


# -- service: claim report, wallet, welcome ------------------------------------------------------

async def test_service_claim_covers_every_live_campaign_and_新人券_narrows(store):
    plain = await live_campaign(store, "无门槛5元 10张 有效3天", now=NOW)
    newbie = await live_campaign(store, "新人券 满30减8 10张 有效3天", now=NOW)
    shopper = contact_shopper("S01", "wmA")
    shopper._joined, shopper._looked_up = int(NOW) - 86400, True
    report = await service.claim(store, CFG, shopper, msg_id="m1", now=NOW, only_new=True)
    assert [i["campaign"]["id"] for i in report.issued] == [newbie]
    report = await service.claim(store, CFG, shopper, msg_id="m2", now=NOW)
    assert [i["campaign"]["id"] for i in report.issued] == [plain]
    assert [i["campaign"]["id"] for i in report.held] == [newbie]
    wallet = await service.my_codes(store, CFG, "wmA", NOW)
    assert sorted(w["campaign"]["id"] for w in wallet) == sorted([plain, newbie])
    assert {w["state"] for w in wallet} == {"issued"}
    await store.coupons.stop(plain, by="x", now=NOW)
    states = {w["campaign"]["id"]: w["state"] for w in await service.my_codes(store, CFG, "wmA", NOW + 10 * 86400)}
    assert states == {plain: "void", newbie: "expired"}


async def test_welcome_code_for_new_contact(store):
    assert await service.welcome_code_for(store, CFG, "S01", "wmNew", "ev:1", now=NOW) is None
    cid = await live_campaign(store, "见面礼券 无门槛5元 10张 有效7天 新人3天", now=NOW, welcome=True)
    assert await store.coupons.welcome_of("S01") == cid
    got = await service.welcome_code_for(store, CFG, "S01", "wmNew", "ev:1", now=NOW)
    assert got["new"] and got["campaign"]["id"] == cid and got["display"].count("-") == 2
    assert await service.welcome_code_for(store, CFG, "S01", "wmNew", "ev:1", now=NOW) == got  # retried event
    again = await service.welcome_code_for(store, CFG, "S01", "wmNew", "ev:2", now=NOW)
    assert again["code"] == got["code"] and not again["new"]
    assert await store.coupons.greeted("S01", "wmNew")
    await store.coupons.stop(cid, by="x", now=NOW)
    assert await store.coupons.welcome_of("S01") is None


async def test_expiring_lists_tomorrows_codes_of_live_campaigns(store):
    cid = await live_campaign(store, "无门槛5元 10张 有效2天", now=NOW)
    c = await claim(store, cid, "wmA")  # expires 16th 23:59:59
    await claim(store, cid, "wmB", now=NOW + 86400)  # expires 17th
    start, end = service.day_bounds(1, NOW, CFG)
    assert [r["code"] for r in await store.coupons.expiring(start, end)] == list(c.codes)


async def test_an_ended_campaign_is_reported_once_then_no_longer_offered(store):
    cid = await live_campaign(store, "无门槛5元 10张 有效至6-20", now=NOW)
    after = datetime(2025, 6, 21, 9, 0, tzinfo=TZ).timestamp()
    shopper = contact_shopper("S01", "wmLate")
    report = await service.claim(store, CFG, shopper, msg_id="m1", now=after)
    assert [r["status"] for r in report.refusals] == ["ended"]
    assert await store.coupons.live_campaigns("S01") == []
    assert (await service.claim(store, CFG, shopper, msg_id="m2", now=after)).refusals == []
    assert await store.coupons.all_live() == [cid]  # still live for redemption and reminders


async def test_reminder_scan_forgets_campaigns_with_nothing_left_to_remind(store):
    sold = await live_campaign(store, "无门槛5元 1张 有效1天", now=NOW)
    open_ = await live_campaign(store, "无门槛6元 5张 有效1天", now=NOW)
    await claim(store, sold, "wmA")  # expires tonight: nothing to remind tomorrow or later
    await claim(store, open_, "wmA")
    start, end = service.day_bounds(1, NOW, CFG)
    assert await store.coupons.expiring(start, end) == []
    assert await store.coupons.all_live() == [open_]  # it can still issue codes
