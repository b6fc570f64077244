"""A live day's digest reads only the catalog rows of the SKUs and stores it touches
(Catalog.rows_for); what it tells must stay what the whole catalog tells (load_day's facts)."""
from __future__ import annotations

import time

from handlers.digest.day import business_day
from handlers.digest.load import catalog_facts, load_day
from handlers.digest.settings import settings
from handlers.qa.catalog import Product
from store import Store
from tests.conftest import make_config
from tests.digest.helpers import stores_config


def chain() -> list[Product]:
    return [
        Product("F001", "草莓", unit="盒", price_fen=2990, stock=50, category="水果"),
        Product("F001", "草莓", unit="盒", price_fen=2590, stock=0, stores=("S02",)),  # a store's own price
        Product("F002", "蓝莓", unit="盒", price_fen=1990, stock=7, stores=("S03", "S01")),  # shared, no * row
        Product("F002", "蓝莓 大盒", unit="盒", price_fen=3990, stock=3, stores=("S04",)),
        Product("F003", "车厘子", unit="斤", stock=4, stores=("S02",)),  # one store only
        Product("F004", "西瓜", unit="个", stock=9),
    ]


PAIRS = {("S01", "F001"), ("S02", "F001"), ("S01", "F002"), ("S04", "F002"), ("S02", "F002"), ("S01", "F003"),
         ("S02", "F003"), ("S01", "F404"), ("*", "F001")}


async def test_rows_for_tells_what_the_whole_catalog_tells(redis, prefix):
    store = Store(redis, prefix=prefix)
    await store.catalog.replace(chain())
    version, everything, _ = await store.catalog.load()
    wanted: dict[str, set[str]] = {}
    for s, sku in PAIRS:
        wanted.setdefault(sku, set()).add(s)
    got_version, few = await store.catalog.rows_for(wanted)
    assert got_version == version
    assert catalog_facts(few, PAIRS) == catalog_facts(everything, PAIRS)
    assert "F004" not in {p.sku for p in few}  # no demand: not read
    infos, stock = catalog_facts(few, PAIRS)
    assert stock[("S02", "F001")] == 0 and stock[("S01", "F001")] == 50  # the overlay, else the all-stores row
    assert stock[("S02", "F002")] is None and stock[("S01", "F002")] == 7  # not carried; the shared row
    assert "F404" not in infos and stock[("S01", "F404")] is None  # demand for a SKU with no row
    assert infos["F002"].name == "蓝莓"  # the row load() lists first: stores ("S03", "S01") < ("S04",)


async def test_rows_for_follows_edits_and_imports(redis, prefix):
    """A guide's edit (one that splits a shared row) is patched into the kept field names; an import
    replaces them; a second Store (another process) reads the same."""
    store = Store(redis, prefix=prefix)
    await store.catalog.replace(chain())
    wanted = {"F002": {"S01", "S03"}, "F001": {"S02"}}
    await store.catalog.rows_for(wanted)  # field names kept at this version
    assert (await store.catalog.edit("F002", "S01", "stock", 0, "m1")).status == "applied"
    assert (await store.catalog.edit("F001", "S02", "price_fen", 2490, "m2")).status == "applied"
    version, rows = await store.catalog.rows_for(wanted)
    pairs = {("S01", "F002"), ("S03", "F002"), ("S02", "F001")}
    _, stock = catalog_facts(rows, pairs)
    assert stock == {("S01", "F002"): 0, ("S03", "F002"): 7, ("S02", "F001"): 0}
    assert {(p.sku, p.stores, p.price_fen) for p in rows if p.sku == "F001"} >= {("F001", ("S02",), 2490)}
    _, everything, _ = await store.catalog.load()
    assert catalog_facts(rows, pairs) == catalog_facts(everything, pairs)
    assert version == await Store(redis, prefix=prefix).catalog.version()

    await store.catalog.replace([Product("F002", "蓝莓", unit="盒", stock=11)])  # an import: rows renamed
    version, rows = await store.catalog.rows_for(wanted)
    assert [(p.sku, p.stores, p.stock) for p in rows] == [("F002", (), 11)]
    other = Store(redis, prefix=prefix)
    assert await other.catalog.rows_for(wanted) == (version, rows)


async def test_live_day_shows_store_overlay_and_sku_without_row(redis, prefix):
    """The live digest's stock is a store's own row where it has one, and an ask for a SKU no row
    names is still listed (by its code, no stock)."""
    cfg = make_config(prefix, "http://127.0.0.1:9", stores=stores_config())
    st = settings(cfg)
    store = Store(redis, prefix=prefix)
    await store.catalog.replace(chain())
    now = time.time()
    day = business_day(now, st.cutoff, st.tz)
    for who in ("wmA", "wmB"):
        await store.demand.record(day, "unmet", "S02", "F001", who, example="草莓有吗")
    await store.demand.record(day, "unmet", "S01", "F001", "wmC", example="草莓呢")
    await store.demand.record(day, "unmet", "S01", "F404", "wmA", example="这个有吗")
    inputs = await load_day(store, day, st, now)
    assert inputs.stock == {("S02", "F001"): 0, ("S01", "F001"): 50, ("S01", "F404"): None}
    assert set(inputs.products) == {"F001"} and inputs.products["F001"].category == "水果"
    assert inputs.catalog_version == await store.catalog.version()


async def test_live_day_reads_a_tuans_lines_again_when_they_change(redis, prefix):
    """A 团's lines are kept per Store under its op count: changes that keep the total (one shopper
    up, another down, a join cancelled) still show in the next live read."""
    cfg = make_config(prefix, "http://127.0.0.1:9", stores=stores_config())
    st = settings(cfg)
    store = Store(redis, prefix=prefix)
    now = time.time()
    day = business_day(now, st.cutoff, st.tz)
    gbs = store.groupbuys
    gid = await gbs.allocate("c1")
    await gbs.create(gid, {"product": "草莓", "unit": "盒", "price_fen": 1000, "cutoff": now + 3600, "pickup": "服务台",
                           "store_id": "S01", "guide": "g1", "sku": "F001"}, now - 60)
    await gbs.join(gid, "j1", now - 50, "wmA", 1)
    await gbs.join(gid, "j2", now - 40, "wmB", 3)
    first = (await load_day(store, day, st, now, with_open=True)).open
    assert [(t.qty, t.top_qty, t.entries, t.amount_fen) for t in first] == [(4, 3, 2, 4000)]
    await gbs.set_qty(gid, "s1", now - 30, "wmA", 2)
    await gbs.set_qty(gid, "s2", now - 20, "wmB", 2)
    await gbs.join(gid, "j3", now - 10, "wmC", 2)
    await gbs.cancel(gid, "x1", now - 5, "wmC")
    again = (await load_day(store, day, st, now, with_open=True)).open
    assert [(t.qty, t.top_qty, t.entries, t.owners) for t in again] == [(4, 2, 2, ("wmA", "wmB"))]


async def test_live_day_reads_a_tuans_meta_again_when_another_process_changes_it(redis, prefix):
    """Metas are kept per Store under their op counts: a close, a 撤团 or a join made by another
    process (another Store) shows in this one's next live read; a 团 gone from Redis is not listed."""
    cfg = make_config(prefix, "http://127.0.0.1:9", stores=stores_config())
    st = settings(cfg)
    store, other = Store(redis, prefix=prefix), Store(redis, prefix=prefix)
    now = time.time()
    day = business_day(now, st.cutoff, st.tz)
    gids = []
    for i in range(3):
        gid = await other.groupbuys.allocate(f"c{i}")
        await other.groupbuys.create(gid, {"product": "草莓", "unit": "盒", "price_fen": 1000, "cutoff": now + 3600,
                                           "pickup": "服务台", "store_id": "S01", "guide": "g1", "sku": "F001",
                                           "min_to_form": 2}, now - 600)
        await other.groupbuys.join(gid, f"j{i}", now - 500, "wmA", 1)
        gids.append(gid)
    first = await load_day(store, day, st, now, with_open=True)
    assert sorted(t.id for t in first.open) == gids and first.tuans == []
    a, b, c = gids
    await other.groupbuys.join(a, "j9", now - 100, "wmB", 2)
    await other.groupbuys.close(a, "close-a", now - 90, reason="guide", by="g1")
    await other.groupbuys.retire(await other.groupbuys.get(a), now - 80)
    await other.groupbuys.cancel_group(b, "cancel-b", now - 70, by="g1")
    await other.groupbuys.retire(await other.groupbuys.get(b), now - 60)
    await other.groupbuys.join(c, "j8", now - 50, "wmC", 4)
    again = await load_day(store, day, st, now, with_open=True)
    ended = {t.id: (t.status, t.result, t.qty) for t in again.tuans}
    assert ended == {a: ("closed", "formed", 3)}  # closed early: its day is the close's day
    assert [(t.id, t.qty, t.status) for t in again.open] == [(c, 5, "open")]
    await redis.delete(*other.groupbuys._keys(c))  # gone (retention) without an op
    gone = await load_day(store, day, st, now, with_open=True)
    assert gone.open == []
