"""The per-process view of a store's 团: this process's own steps show at once, another process's
within VIEW_SECONDS, and a redelivered step never rolls the counts back."""
from __future__ import annotations

import asyncio

import pytest

import store.groupbuy as ledger
from store import Store
from tests.groupbuy.test_ledger import CUTOFF, NOW, open_gb


@pytest.fixture
def two(redis, prefix):
    """Two processes' stores on one Redis."""
    return Store(redis, prefix=prefix).groupbuys, Store(redis, prefix=prefix).groupbuys


async def test_own_steps_show_at_once(two):
    a, _ = two
    assert await a.open_groups("S01") == []  # viewed: nothing open
    await open_gb(a, per_person=20)
    [gb] = await a.open_groups("S01")
    assert gb.total == 0
    await a.join(1, "m1", NOW, "wmA", 3)
    await a.join(1, "m2", NOW, "wmB", 9)  # past the cap of 10: a whole waiting line
    [gb] = await a.open_groups("S01")
    assert (gb.total, gb.waiting) == (3, 9)
    await a.cancel(1, "m3", NOW, "wmA")
    [gb] = await a.open_groups("S01")
    assert (gb.total, gb.waiting) == (9, 0)  # the waiting line moved up
    await a.close(1, "m4", CUTOFF + 1)
    assert await a.open_groups("S01") == []
    await a.retire(gb, CUTOFF + 1)
    assert await a.recent_ids("S01", CUTOFF + 2) == [1]


async def test_a_redelivered_step_does_not_roll_counts_back(two):
    a, _ = two
    await open_gb(a)
    await a.join(1, "m1", NOW, "wmA", 2)
    await a.join(1, "m2", NOW, "wmB", 3)
    assert (await a.open_groups("S01"))[0].total == 5
    again = await a.join(1, "m1", NOW, "wmA", 2)  # the stored outcome of m1: total was 2 then
    assert again.total == 2
    assert (await a.open_groups("S01"))[0].total == 5


async def test_another_process_shows_within_the_view_time(two, monkeypatch):
    monkeypatch.setattr(ledger, "VIEW_SECONDS", 0.2)
    a, b = two
    assert await a.open_groups("S01") == [] and await a.recent_ids("S01", NOW) == []
    await open_gb(b)
    await b.join(1, "m1", NOW, "wmA", 2)
    await asyncio.sleep(0.25)
    [gb] = await a.open_groups("S01")
    assert gb.total == 2
    await b.join(1, "m2", NOW, "wmB", 1)
    await asyncio.sleep(0.25)
    assert (await a.open_groups("S01"))[0].total == 3
    await b.close(1, "m3", CUTOFF + 1)
    await b.retire(gb, CUTOFF + 1)
    await asyncio.sleep(0.25)
    assert await a.open_groups("S01") == [] and await a.recent_ids("S01", CUTOFF + 2) == [1]


async def test_every_store_is_read_now(two):
    a, b = two
    assert await a.open_groups() == []
    await open_gb(b, store_id="S02")
    assert [g.id for g in await a.open_groups()] == [1]  # no store named: never from a view


async def test_a_view_read_while_own_steps_run_is_kept_and_shows_them(two, monkeypatch):
    """Under load some step of this process is always in flight: a view read across steps is kept
    (not read again on the next line) with their outcomes applied, whichever order Redis saw them in."""
    a, _ = two
    await open_gb(a, per_person=20)
    await a.open_groups("S01")
    a._views.clear()
    reads = 0
    real = a.r.pipeline

    def counted(*args, **kw):
        nonlocal reads
        reads += 1
        return real(*args, **kw)
    monkeypatch.setattr(a.r, "pipeline", counted)
    # the view's read and two joins in flight together: each join lands before or after the read
    views = await asyncio.gather(a.open_groups("S01"), a.join(1, "m1", NOW, "wmA", 3),
                                 a.join(1, "m2", NOW, "wmB", 4))
    assert views[0][0].total in (0, 3, 4, 7)
    before = reads
    [gb] = await a.open_groups("S01")
    assert gb.total == 7  # both joins, once each
    assert reads == before  # answered from the view read meanwhile, kept
    await a.cancel(1, "m3", NOW, "wmA")
    assert (await a.open_groups("S01"))[0].total == 4
    assert reads == before


async def test_a_view_read_while_a_step_closed_its_tuan_is_not_kept(two):
    a, _ = two
    await open_gb(a)
    await a.open_groups("S01")
    a._views.clear()
    await asyncio.gather(a.open_groups("S01"), a.close(1, "m1", CUTOFF + 1))
    assert await a.open_groups("S01") == []
