"""/开团 finds its catalog product from the names index and the rows of a few SKUs, with the same
answer as scanning every row, and without reading the whole catalog."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest

from handlers.groupbuy.context import CatalogNamesCache, resolve_product
from handlers.groupbuy.names import squash
from store import Store
from store.catalog import Product

STORES = ("S01", "S02", "S03")


def reference(products: list[Product], title: str, store_id: str) -> Product | None:
    """The rule as it was written over a full catalog load (rows in load order)."""
    t = squash(title)
    best, best_key = None, (0, False)
    for p in products:
        if not p.carried_by(store_id):
            continue
        name, hit = squash(p.name), 0
        if len(name) >= 2 and name in t:
            hit = len(name)
        elif len(t) >= 2 and (t in name or t in map(squash, p.aliases)):
            hit = len(t)
        key = (hit, bool(p.stores))
        if hit and key > best_key:
            best, best_key = p, key
    return best


def catalog(rng: random.Random) -> list[Product]:
    words = ["草莓", "丹东", "99", "水饺", "思念", "手工", "五花肉", "黑猪", "牛奶", "纯", "Apple", "红富士",
             "苹果", "鸡蛋", "土 鸡蛋", "大米", "东北", "香蕉"]
    rows = []
    for i in range(120):
        name = "".join(rng.sample(words, rng.randint(1, 3)))
        aliases = tuple(rng.sample(words, rng.randint(0, 2)))
        sku = f"F{i:03d}"
        rows.append(Product(sku=sku, name=name, aliases=aliases, unit="份", price_fen=100 + i, stock=5))
        if rng.random() < 0.3:  # a store's own price, or a product only some stores carry
            rows.append(replace(rows[-1], price_fen=90 + i, stores=(rng.choice(STORES),)))
        if rng.random() < 0.1:
            rows[-1] = replace(rows[-1], stores=tuple(rng.sample(STORES, 2)))
    return rows


@pytest.mark.parametrize("seed", range(4))
async def test_same_product_as_a_full_scan_without_loading_the_catalog(redis, prefix, seed, monkeypatch):
    rng = random.Random(seed)
    store = Store(redis, prefix=prefix)
    rows = catalog(rng)
    await store.catalog.replace(rows)
    _, everything, _ = await store.catalog.load()
    titles = [p.name for p in everything] + [a for p in everything for a in p.aliases]
    titles += [f"{rng.choice(titles)} {rng.randint(1, 9)}00g 新鲜到货" for _ in range(60)]
    titles += [t[1:] for t in titles[:40] if len(t) > 2] + ["手工 水饺", "APPLE", "x", ""]

    names = CatalogNamesCache()
    await names.names(store, await store.catalog.version())  # once per catalog version, as a worker does

    async def no_full_load():
        raise AssertionError("/开团 read the whole catalog")
    monkeypatch.setattr(store.catalog, "load", no_full_load)
    checked = 0
    for title in titles:
        for sid in STORES:
            want = reference(everything, title, sid)
            got = await resolve_product(store, names, title, sid)
            assert got == want, (title, sid)
            checked += want is not None
    assert checked > 100  # most titles name something


async def test_a_broken_catalog_keeps_the_title_as_free_text(redis, prefix, monkeypatch):
    store = Store(redis, prefix=prefix)
    await store.catalog.replace([Product(sku="F1", name="丹东草莓", unit="盒")])

    async def broken(*a, **k):
        raise ConnectionError("redis gone")
    monkeypatch.setattr(store.catalog, "rows_for", broken)
    assert await resolve_product(store, CatalogNamesCache(), "丹东草莓", "S01") is None
