"""Bounded Redis: every key family declares a TTL or a retention rule (store/keys.py), the rules
hold for the long-lived state, and [retention] sets how long.

Besides these tests, the `redis` fixture (tests/conftest.py) checks after every test that each key
the test left without a TTL belongs to a `kept` family, so the whole suite's scenarios are the scan.
"""
from __future__ import annotations

import time

import pytest

from bot.config import ConfigError, from_dict
from handlers.coupons.codes import ALPHABET, new_code
from handlers.coupons.rules import MAX_VALID_DAYS
from store import Store
from store.coupons import LONGEST_CODE_DAYS
from store.keys import DAY, Keys, RetentionSettings, families, kept, ttl
from tests.retention import kept_patterns, unbounded_keys

RULE = RetentionSettings(coupon_grace_days=10, groupbuy_days=5, customer_days=20)


def test_every_key_family_declares_a_ttl_or_a_retention_rule():
    fams = families()
    assert len(fams) > 60
    undeclared = [name for name, r in fams.items() if r is None]
    assert not undeclared, f"key families with neither @ttl nor @kept in store/keys.py: {undeclared}"
    for name, r in fams.items():
        assert r.kind in ("ttl", "kept") and len(r.why.strip()) >= 5, name  # says how long or what bounds it


def test_a_new_undeclared_family_is_caught():
    class More(Keys):
        def shiny(self, x: str) -> str:
            return f"{self.p}:shiny:{x}"

    assert getattr(More.shiny, "retention", None) is None  # what families() reports as undeclared
    assert ttl("a day")(lambda self: "").retention.kind == "ttl"
    assert kept("one per store")(lambda self: "").retention.kind == "kept"


async def test_the_scan_flags_keys_no_rule_explains(redis, prefix):
    k = Keys(prefix)
    await redis.set(k.customer("wmX"), "1")  # a ttl family written without its TTL
    await redis.set(f"{prefix}:made:up:key", "1")  # a key not built by store/keys.py
    await redis.set(k.coupon_seen("wmY"), "1", ex=60)  # fine: it has a TTL
    await redis.incr(k.gb_seq())  # fine: a kept family (one counter)
    await redis.hset(k.coupon_meta("C7"), "state", "live")  # fine: kept while live
    assert await unbounded_keys(redis, prefix) == sorted([k.customer("wmX"), f"{prefix}:made:up:key"])
    await redis.delete(k.customer("wmX"), f"{prefix}:made:up:key")
    assert set(kept_patterns(prefix)) == {n for n, r in families().items() if r.kind == "kept"}


def test_retention_settings_come_from_config_with_defaults():
    assert from_dict({}).retention == RetentionSettings()
    cfg = from_dict({"retention": {"coupon_grace_days": 7, "groupbuy_days": 30}})
    assert (cfg.retention.coupon_grace_days, cfg.retention.groupbuy_days, cfg.retention.customer_days) == (7, 30, 365)
    with pytest.raises(ConfigError, match="retention.forever"):
        from_dict({"retention": {"forever": 1}})


def test_the_store_knows_the_longest_code_validity():
    assert LONGEST_CODE_DAYS == MAX_VALID_DAYS


# -- coupons -----------------------------------------------------------------------------------------
@pytest.fixture
def store(redis, prefix) -> Store:
    return Store(redis, prefix=prefix, retention=RULE)


async def live_campaign(store: Store, now: float, **fields) -> str:
    record = {"name": "券", "kind": "no_threshold", "amount_fen": "500", "total": "100", "per_person": "1",
              "valid_days": "3", "ends_at": "", "stores": "", "new_member_days": "", **fields}
    cid = await store.coupons.create(record, owner="S01", by="t", now=now)
    assert await store.coupons.confirm(cid, by="t", now=now) == "live"
    return cid


async def claim(store: Store, cid: str, who: str, now: float):
    return await store.coupons.claim(cid, shopper=who, msg_id=f"m-{who}", now=now, day_end=int(now) + 3600,
                                     store_id="S01", joined_at=None, target="kf:wk:" + who, new_code=new_code)


async def test_codes_live_until_expiry_plus_grace_and_campaigns_until_their_last_code(store, redis):
    now = time.time()
    cid = await live_campaign(store, now)
    c = await claim(store, cid, "wmA", now)
    assert c.status == "issued"
    code, expires = c.codes[0], c.expires[0]
    k = store.keys
    left = await redis.ttl(k.coupon_code(cid, code))
    assert abs(left - (expires + 10 * DAY - now)) < 5  # the code: its expiry + 10 days of grace
    assert await redis.ttl(k.coupon_meta(cid)) == -1  # live and open-ended: kept while it can issue
    assert await redis.ttl(k.coupon_holders(cid)) == -1
    wallet = await redis.ttl(k.coupon_wallet("wmA"))
    assert abs(wallet - 20 * DAY) < 5  # customer_days, longer than the code's expiry + grace here

    assert await store.coupons.stop(cid, by="t", now=now) == "live"
    for key in (k.coupon_meta(cid), k.coupon_holders(cid), k.coupon_expiry(cid), k.coupon_claims(cid),
                k.coupon_log(cid)):
        assert abs(await redis.ttl(key) - (expires + 10 * DAY - now)) < 5, key
    assert await unbounded_keys(redis, k.p) == []


async def test_a_campaign_with_an_end_date_expires_as_a_whole(store, redis):
    now = time.time()
    ends = int(now) + 2 * DAY
    cid = await live_campaign(store, now, ends_at=str(ends))
    k = store.keys
    assert abs(await redis.ttl(k.coupon_meta(cid)) - (ends + 10 * DAY - now)) < 5
    await claim(store, cid, "wmB", now)
    for key in (k.coupon_holders(cid), k.coupon_expiry(cid), k.coupon_claims(cid), k.coupon_log(cid)):
        assert abs(await redis.ttl(key) - (ends + 10 * DAY - now)) < 5, key


async def test_the_code_index_forgets_codes_past_expiry_plus_grace(store, redis):
    now = time.time()
    cid = await live_campaign(store, now)
    claims = [await claim(store, cid, f"wm{i}", now) for i in range(3)]
    codes, expires = [c.codes[0] for c in claims], max(c.expires[0] for c in claims)
    assert await store.coupons.prune_code_index(now, ALPHABET) == 0
    assert [await store.coupons.lookup(c) for c in codes] == [cid] * 3
    later = int(expires) + 10 * DAY + 1
    assert await store.coupons.prune_code_index(later, ALPHABET) == 3
    assert [await store.coupons.lookup(c) for c in codes] == [None] * 3
    assert await store.coupons.prune_code_index(later, ALPHABET) == 0


async def test_greeted_decisions_are_forgotten_after_customer_days(store):
    now = time.time()
    assert await store.coupons.decide_greeting("S01", "wmA", now)
    assert not await store.coupons.decide_greeting("S01", "wmA", now + DAY)
    assert await store.coupons.greeted("S01", "wmA")
    assert await store.coupons.decide_greeting("S01", "wmZ", now + 21 * DAY)  # trims the old decision
    assert not await store.coupons.greeted("S01", "wmA")


# -- 团, customers, groups -------------------------------------------------------------------------------
async def test_a_closed_groupbuy_is_kept_groupbuy_days_and_old_index_entries_go(store, redis):
    gbs, k = store.groupbuys, store.keys
    now = time.time()
    old = await gbs.create(1, {"product": "旧", "store_id": "S01", "cutoff": now - 9 * DAY}, now - 10 * DAY)
    assert (await gbs.join(1, "m1", now - 10 * DAY, "wmA", 1)).code == "joined"
    assert (await gbs.close(1, "c1", now - 8 * DAY, reason="cutoff")).closed_now
    assert 0 < await redis.ttl(k.gb(old.id, "meta")) <= 5 * DAY
    assert 0 < await redis.ttl(k.gb(old.id, "lines")) <= 5 * DAY
    await gbs.create(2, {"product": "新", "store_id": "S01", "cutoff": now + DAY}, now)
    assert await gbs.all_ids() == [2]  # created 10 days ago, past groupbuy_days: trimmed
    assert await redis.ttl(k.gb(2, "meta")) == -1  # open: kept until it closes


async def test_customer_and_member_state_expire_after_customer_days(store, redis):
    k = store.keys
    await store.shoppers.add_contact("wmC", "S01", "xiaowang", 1)
    assert abs(await redis.ttl(k.customer("wmC")) - 20 * DAY) < 5
    await redis.expire(k.customer("wmC"), 100)
    assert (await store.shoppers.contact("wmC"))["store"] == "S01"
    assert abs(await redis.ttl(k.customer("wmC")) - 20 * DAY) < 5  # a lookup keeps an active customer
    await store.groups.replace("wrG", {"owner": "xiaowang", "member_list": [{"userid": "wmC", "join_time": 5}],
                                       "member_version": "v1"}, now=1)
    assert abs(await redis.ttl(k.member_groups("wmC")) - 20 * DAY) < 5
    await store.groups.dismiss("wrG", now=2)
    assert not await redis.exists(k.member_groups("wmC"))  # emptied: gone
    assert 0 < await redis.ttl(k.group("wrG", "meta")) <= 20 * DAY
    await store.groups.replace("wrG", {"owner": "xiaowang", "member_list": [], "member_version": "v2"}, now=3)
    assert await redis.ttl(k.group("wrG", "meta")) == -1  # live again
