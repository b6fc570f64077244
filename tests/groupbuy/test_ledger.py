"""The Lua ledger through store.groupbuy, against a real Redis and the independent model."""
from __future__ import annotations

import asyncio
import random

import pytest


from store import Store
from tests.groupbuy.model import Model

NOW = 1_700_000_000.0
CUTOFF = NOW + 3600


@pytest.fixture
async def gbs(redis, prefix):
    return Store(redis, prefix=prefix).groupbuys


async def open_gb(gbs, gid=1, cap=10, per_person=4, min_to_form=0, store_id="S01"):
    return await gbs.create(gid, {"product": "丹东99草莓", "unit": "盒", "price_fen": 3690, "cap": cap,
                                  "per_person": per_person, "min_to_form": min_to_form, "cutoff": CUTOFF,
                                  "pickup": "周六10-12点服务台", "store_id": store_id, "guide": "xiaowang",
                                  "aliases": ["草莓"]}, NOW)


async def test_create_is_idempotent_and_indexed(gbs):
    gb = await open_gb(gbs, cap=200)
    again = await gbs.create(1, {"product": "别的", "store_id": "S01", "cutoff": CUTOFF}, NOW + 5)
    assert again.product == gb.product == "丹东99草莓"
    assert gb.status == "open" and gb.cap == 200 and gb.aliases == ("草莓",) and gb.price_fen == 3690
    assert await gbs.open_ids("S01") == [1] and await gbs.open_ids() == [1]
    assert await gbs.all_ids() == [1]


async def test_allocate_gives_one_number_per_confirm_message(gbs):
    a = await asyncio.gather(*(gbs.allocate("m1") for _ in range(5)))
    b = await gbs.allocate("m2")
    assert len(set(a)) == 1 and b != a[0]


async def test_join_receipt_and_redelivery_changes_nothing(gbs):
    await open_gb(gbs)
    first = await gbs.join(1, "m1", NOW, "wmA", 2, tag="3栋502", name="王姐", target="kf:wk:wmA")
    assert first.code == "joined" and first.line.no == 1 and first.total == 2 and first.mine_qty == 2
    again = await gbs.join(1, "m1", NOW + 10, "wmA", 2)
    assert again.raw == first.raw
    lines = await gbs.lines(1)
    assert len(lines) == 1 and lines[0].tag == "3栋502" and lines[0].target == "kf:wk:wmA"
    # A different message asking the same is a second join: answered, not doubled.
    dup = await gbs.join(1, "m2", NOW, "wmA", 1)
    assert dup.code == "exists" and dup.total == 2 and dup.line.no == 1


async def test_per_person_limit_counts_proxy_lines(gbs):
    await open_gb(gbs, per_person=4)
    assert (await gbs.join(1, "m1", NOW, "wmA", 3)).code == "joined"
    over = await gbs.join(1, "m2", NOW, "wmA", 2, who="我妈")
    assert over.code == "limit" and over.allowed == 1
    assert (await gbs.join(1, "m3", NOW, "wmA", 1, who="我妈")).code == "joined"
    assert (await gbs.add_qty(1, "m4", NOW, "wmA", 1)).code == "limit"
    assert (await gbs.get(1)).total == 4


async def test_cap_waiting_list_and_promotion_in_order(gbs):
    await open_gb(gbs, cap=5, per_person=0)
    assert (await gbs.join(1, "a", NOW, "A", 3)).code == "joined"
    w1 = await gbs.join(1, "b", NOW, "B", 3)
    assert w1.code == "waiting" and w1.line.pos == 1
    w2 = await gbs.join(1, "c", NOW, "C", 1)  # would fit, but B waits first: nobody overtakes
    assert w2.code == "waiting" and w2.line.pos == 2
    assert (await gbs.add_qty(1, "d", NOW, "A", 1)).code == "full"
    out = await gbs.cancel(1, "e", NOW, "A")
    assert out.code == "cancelled" and [x.owner for x in out.promoted] == ["B", "C"]
    assert out.total == 4 and out.waiting == 0 and await gbs.waiting_order(1) == []


async def test_head_that_does_not_fit_blocks_the_queue(gbs):
    await open_gb(gbs, cap=5, per_person=0)
    await gbs.join(1, "a", NOW, "A", 4)
    await gbs.join(1, "b", NOW, "B", 1)
    await gbs.join(1, "c", NOW, "C", 3)  # waits
    await gbs.join(1, "d", NOW, "D", 1)  # waits behind C
    out = await gbs.set_qty(1, "e", NOW, "B", 0)  # frees 1: C (3) still does not fit
    assert out.code == "cancelled" and out.promoted == ()
    out = await gbs.set_qty(1, "f", NOW, "A", 2)  # frees 2 more: C fits (2+3=5), D does not
    assert [x.owner for x in out.promoted] == ["C"] and out.total == 5
    assert await gbs.waiting_order(1) == [4]


async def test_shrinking_a_waiting_line_can_promote_it(gbs):
    await open_gb(gbs, cap=5, per_person=0)
    await gbs.join(1, "a", NOW, "A", 4)
    await gbs.join(1, "b", NOW, "B", 3)
    out = await gbs.set_qty(1, "c", NOW, "B", 1)
    assert out.code == "changed" and [x.owner for x in out.promoted] == ["B"] and out.line.status == "active"


async def test_nobody_changes_another_shoppers_line(gbs):
    await open_gb(gbs)
    await gbs.join(1, "a", NOW, "A", 2)
    out = await gbs.cancel(1, "b", NOW, "B", entry_no=1)
    assert out.code == "not_yours" and (await gbs.get(1)).total == 2
    assert (await gbs.cancel(1, "c", NOW, "B")).code == "no_line"
    assert (await gbs.set_qty(1, "d", NOW, "B", 0)).code == "no_line"
    assert (await gbs.cancel(1, "e", NOW, "A", entry_no=1)).code == "cancelled"


async def test_unspecified_line_with_two_proxy_lines_is_ambiguous(gbs):
    await open_gb(gbs, per_person=0)
    await gbs.join(1, "a", NOW, "A", 1, who="我妈")
    await gbs.join(1, "b", NOW, "A", 1, who="我爸")
    assert (await gbs.set_qty(1, "c", NOW, "A", 3)).code == "ambiguous"
    assert (await gbs.set_qty(1, "d", NOW, "A", 3, who="我爸")).code == "changed"
    assert (await gbs.cancel(1, "e", NOW, "A")).code == "cancelled"
    assert (await gbs.get(1)).total == 0


async def test_cutoff_is_enforced_at_write_time(gbs):
    await open_gb(gbs)
    assert (await gbs.join(1, "a", CUTOFF - 1, "A", 1)).code == "joined"
    assert (await gbs.join(1, "b", CUTOFF, "B", 1)).code == "cutoff"
    assert (await gbs.cancel(1, "c", CUTOFF + 5, "A")).code == "cutoff"
    assert (await gbs.get(1)).total == 1


async def test_close_once_and_results(gbs):
    await open_gb(gbs, min_to_form=3)
    await gbs.join(1, "a", NOW, "A", 2)
    assert (await gbs.close(1, "early", NOW + 1, reason="cutoff")).code == "not_due"
    first, second = await asyncio.gather(gbs.close(1, "f1", CUTOFF, by="job"), gbs.close(1, "f2", CUTOFF + 30))
    assert [first.closed_now, second.closed_now].count(True) == 1
    winner, winner_id = (first, "f1") if first.closed_now else (second, "f2")
    assert winner.result == "failed" and winner.shortfall == 1
    # The winning message, redelivered, gets its own result back (so its replies are re-queued
    # under the same ids and deduplicated), not a second close.
    assert (await gbs.close(1, winner_id, CUTOFF + 60)).raw == winner.raw
    assert (await gbs.join(1, "late", CUTOFF + 60, "B", 1)).code == "gb_closed"
    gb = await gbs.get(1)
    assert gb.status == "closed" and gb.result == "failed" and gb.closed_at in (CUTOFF, CUTOFF + 30)
    assert await gbs.r.ttl(gbs.k.gb(1, "lines")) > 0


async def test_collect_by_number_and_by_tag(gbs):
    await open_gb(gbs, per_person=0)
    await gbs.join(1, "a", NOW, "A", 2, tag="3栋502")
    await gbs.join(1, "b", NOW, "A", 1, who="我妈", tag="3栋502")
    await gbs.join(1, "c", NOW, "B", 1)
    assert (await gbs.collect(1, "p0", NOW, no=3)).code == "not_closed"
    await gbs.close(1, "x", CUTOFF)
    out = await gbs.collect(1, "p1", CUTOFF, tag="3栋502", by="xiaowang")
    assert out.code == "collected" and [x.no for x in out.changed] == [1, 2]
    assert (await gbs.collect(1, "p2", CUTOFF, no=1)).code == "already"
    assert (await gbs.collect(1, "p3", CUTOFF, no=9)).code == "no_line"
    assert [x.status for x in await gbs.lines(1)] == ["collected", "collected", "active"]


async def test_cancel_group_once(gbs):
    await open_gb(gbs)
    a = await gbs.cancel_group(1, "x1", NOW, by="xiaowang")
    b = await gbs.cancel_group(1, "x2", NOW, by="xiaowang")
    assert a.cancelled_now and not b.cancelled_now and b.code == "gb_cancelled"
    assert (await gbs.join(1, "j", NOW, "A", 1)).code == "gb_cancelled"


async def test_unknown_group(gbs):
    out = await gbs.join(99, "m", NOW, "A", 1)
    assert out.code == "no_group"
    assert not await gbs.r.exists(gbs.k.gb(99, "meta"), gbs.k.gb(99, "msgs"))


async def test_proxy_lines_are_owned_by_the_phoned_in_shopper(gbs):
    await open_gb(gbs, per_person=2)
    out = await gbs.proxy(1, "p1", NOW, "李阿姨", 2, by="xiaowang")
    assert out.code == "joined" and out.line.owner == "tel:李阿姨" and out.line.by == "xiaowang"
    assert (await gbs.proxy(1, "p2", NOW, "李阿姨", 3, by="xiaowang")).code == "limit"
    assert (await gbs.proxy(1, "p3", NOW, "李阿姨", 0, by="xiaowang")).code == "cancelled"


@pytest.mark.parametrize("seed", range(6))
async def test_random_sequences_match_the_model(gbs, seed):
    """Random steps applied one at a time; after every step code and state equal the model's."""
    rnd = random.Random(seed)
    cap, limit = rnd.choice([(0, 0), (12, 4), (20, 3), (8, 0)])
    await open_gb(gbs, cap=cap, per_person=limit)
    model = Model(cap=cap, per_person=limit)
    owners = [f"o{i}" for i in range(8)]
    for step in range(250):
        owner = rnd.choice(owners)
        who = rnd.choice([None, "", "", "我妈"])
        kind = rnd.choice(["join", "join", "set", "add", "cancel", "entry"])
        mid = f"s{step}"
        if kind == "join":
            q = rnd.randint(0, 5)
            got = await gbs.join(1, mid, NOW, owner, q, who=who or "")
            want = model.join(owner, q, who or "")
        elif kind == "set":
            q = rnd.randint(0, 5)
            got = await gbs.set_qty(1, mid, NOW, owner, q, who=who)
            want = model.set(owner, qty=q, who=who)
        elif kind == "add":
            d = rnd.choice([-2, -1, 1, 2])
            got = await gbs.add_qty(1, mid, NOW, owner, d, who=who)
            want = model.set(owner, delta=d, who=who)
        elif kind == "cancel":
            got = await gbs.cancel(1, mid, NOW, owner, who=who)
            want = model.cancel(owner, who=who)
        else:
            n = rnd.randint(1, max(1, len(model.lines)))
            got = await gbs.cancel(1, mid, NOW, owner, entry_no=n)
            want = model.cancel(owner, entry=n)
        assert got.code == want, (step, kind, owner, who)
        assert (got.total, got.waiting) == (model.total, model.waiting), step
        if cap:
            assert got.total <= cap
    lines = await gbs.lines(1)
    assert {x.no: (x.owner, x.who, x.qty, x.status) for x in lines} == {
        n: (x.owner, x.who, x.qty, x.status) for n, x in model.lines.items()}
    assert await gbs.waiting_order(1) == model.queue
