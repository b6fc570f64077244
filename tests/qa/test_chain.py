"""One index shared by the stores of a chain, with per-store overlays, answers exactly as a full
index built for each store would (the reference: QAIndex.build over every row, for that store)."""
from __future__ import annotations

import random

import pytest

from bench.qa_memory import chain_catalog, store_ids
from bench.qa_speed import generated_catalog, questions
from handlers.qa.chain import Chain, view_key
from handlers.qa.engine import QAIndex
from handlers.qa.views import CatalogRows

STORES = store_ids(40)
LOCAL = STORES[:3]       # a few local products each
RENAMED = STORES[3:5]    # one product under the store's own name


@pytest.fixture(scope="module")
def chain_rows(faqs):
    rng = random.Random(11)
    products = generated_catalog(400, rng)
    rows = chain_catalog(products, STORES, rng, local_stores=len(LOCAL), renamed=len(RENAMED))
    # A row two stores share (what a store edit splits off), and a SKU only some stores sell.
    p = products[150]
    rows.append(p.__class__(**{**_fields(p), "price_fen": 1, "stores": (STORES[10], STORES[11])}))
    q = products[151]
    rows = [r for r in rows if r.sku != q.sku]
    rows.append(q.__class__(**{**_fields(q), "stores": (STORES[12],)}))
    qs = questions(products, 150, rng)
    qs += [f"{name}多少钱" for name in {r.name for r in rows if r.stores}][:60]
    qs += ["本店招牌多少钱", "最近有啥活动", "今天有什么特价", "本地腊肉有吗", f"{q.name}有吗", f"{p.name}多少钱"]
    return sorted(rows, key=lambda r: (r.sku, r.stores)), qs


def _fields(p) -> dict:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def chain_index(chain: Chain, store: str | None) -> QAIndex:
    """What QACache.index does, without the event loop."""
    idx = chain.get(store)
    if idx is None:
        carried, everything = chain.rows.view(store)
        chain.add_own(view_key(carried, everything), chain.build_own(carried, everything))
        idx = chain.get(store)
    return idx


def test_a_store_view_is_the_rows_a_full_build_chooses(chain_rows):
    rows, _ = chain_rows
    grouped = CatalogRows(rows)
    for store in (*STORES, None, "nowhere"):
        assert grouped.view(store) == QAIndex._choose(rows, store), store


def test_shared_and_overlaid_indexes_answer_as_per_store_builds(chain_rows, faqs):
    rows, qs = chain_rows
    chain = Chain.build(1, rows, faqs)
    sample = [*LOCAL, *RENAMED, STORES[10], STORES[11], STORES[12], STORES[20], STORES[-1], None]
    for store in sample:
        shared, full = chain_index(chain, store), QAIndex.build(rows, faqs, store)
        for q in qs:
            assert shared.match(q) == full.match(q), (store, q)
        assert shared.promotions() == full.promotions()
        assert [shared.product(p.sku) for p in full.products] == list(full.products)
        assert list(shared.products) == list(full.products)
    # Most stores share one index; only stores with rows of their own kind have their own.
    plain = [chain_index(chain, s) for s in STORES[13:]]
    assert all(idx._alias is chain.base._alias for idx in plain)
    assert chain.own_stores == {*LOCAL, *RENAMED, STORES[12], None}
    local = chain_index(chain, LOCAL[0])
    assert local._alias is not chain.base._alias and local._wild is chain.base._wild  # string tables shared


def test_an_edit_patches_the_chain_and_a_rename_needs_a_rebuild(chain_rows, faqs):
    rows, qs = chain_rows
    chain = Chain.build(1, rows, faqs)
    for s in (STORES[20], LOCAL[0]):
        chain_index(chain, s)
    sku = next(r.sku for r in rows if not r.stores)
    edited = [r.__class__(**{**_fields(r), "stock": 0, "promo": "清仓"}) if r.sku == sku else r for r in rows]
    patched = chain.patched(2, CatalogRows(edited), faqs)
    assert patched is not None and patched.base._alias is chain.base._alias
    for s in (STORES[20], LOCAL[0]):
        idx = patched.get(s)  # the local store's own index is patched too, not rebuilt
        assert idx is not None and idx.product(sku).stock == 0
        full = QAIndex.build(edited, faqs, s)
        assert [idx.match(q) for q in qs[:60]] == [full.match(q) for q in qs[:60]]
    renamed = [r.__class__(**{**_fields(r), "aliases": (*r.aliases, "天使莓")}) if r.sku == sku else r for r in rows]
    assert chain.patched(3, CatalogRows(renamed), faqs) is None


def test_rows_with_a_few_changed_are_the_rows_grouped_afresh(chain_rows):
    """A guide's edit reaches a process as the few rows it wrote; grouping them into the previous
    rows gives exactly what grouping the whole new catalog does."""
    from store.catalog import field_of

    rows, _ = chain_rows
    grouped = CatalogRows(rows)
    shared = next(r for r in rows if len(r.stores) == 2)
    star = next(r for r in rows if not r.stores and r.sku != shared.sku)
    own = next(r for r in rows if r.stores == (STORES[30],))
    a, b = shared.stores
    changed = {
        field_of(shared): None,  # a store's edit splits the row two stores shared
        f"{shared.sku}@{a}": _with(shared, stores=(a,)),
        f"{shared.sku}@{b}": _with(shared, stores=(b,), price_fen=2),
        field_of(star): _with(star, stock=0),  # an admin's edit of every store's row
        f"{star.sku}@{STORES[31]}": _with(star, stores=(STORES[31],), promo="店促"),  # a new store row
        field_of(own): _with(own, promo=""),
    }
    after = sorted([r for r in rows if field_of(r) not in changed] + [r for r in changed.values() if r],
                   key=lambda r: (r.sku, r.stores))
    patched, touched = grouped.with_changes(changed)
    fresh = CatalogRows(after)
    assert touched == {a, b, None, STORES[30], STORES[31]}
    assert patched.count == fresh.count and patched.skus == fresh.skus
    for store in (a, b, STORES[30], STORES[31], STORES[32], LOCAL[0], None):
        assert patched.view(store) == fresh.view(store) == QAIndex._choose(after, store)
        assert patched.patches(store) == fresh.patches(store)
    assert patched.default == fresh.default


def _with(p, **kw):
    return p.__class__(**{**_fields(p), **kw})
