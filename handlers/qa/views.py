"""One catalog, many stores: which rows each store sees, and which index can answer it.

A chain sells the same rows in every store; a store differs in price, stock or promo on some of
them ("<sku>@<store>" rows) and a few stores carry local products or name a product their own
way. `CatalogRows` groups one catalog version's rows by SKU and by store once, so a store's
view costs O(its own rows) or O(SKUs), never O(all rows of all stores).

The view of a store is exactly `QAIndex._choose(products, store)`: for each SKU the row that lists
the store, else the all-stores row; SKUs it does not carry follow, with their first row.
"""
from __future__ import annotations

from collections import defaultdict

from store.catalog import Product

View = tuple[list[Product], list[Product]]  # (carried, carried + the rest), as QAIndex._choose


def _field(p: Product) -> str:
    return f"{p.sku}@{'|'.join(sorted(p.stores)) or '*'}"  # as store.catalog.field_of


def same_shape(a: Product, b: Product) -> bool:
    """Do two rows read the same to matching (all but price, stock, promo and the store list)?"""
    return a is b or (a.name == b.name and a.aliases == b.aliases and a.category == b.category
                      and a.spec == b.spec and a.unit == b.unit and a.origin == b.origin
                      and a.shelf_life_days == b.shelf_life_days and a.sku == b.sku)


class CatalogRows:
    """One catalog version's rows, grouped for per-store views. `products` sorted by (sku, stores)."""

    def __init__(self, products: list[Product]) -> None:
        by_sku: dict[str, list[Product]] = {}
        for p in products:
            by_sku.setdefault(p.sku, []).append(p)
        self._index(by_sku, len(products))

    def _index(self, by_sku: dict[str, list[Product]], count: int) -> None:
        self.count = count
        self.by_sku = by_sku                   # sku -> its rows, sorted by stores
        self.skus: list[str] = list(by_sku)    # in (sku) order, as the rows came
        self.first = {sku: rows[0] for sku, rows in by_sku.items()}  # what a store not carrying it names
        self.star = {sku: p for sku, p in self.first.items() if not p.stores}  # the all-stores row
        own: dict[str, dict[str, Product]] = defaultdict(dict)  # store -> sku -> the row listing it
        for rows in by_sku.values():
            for p in rows:
                for s in p.stores:
                    own[s].setdefault(p.sku, p)  # the first row listing the store wins, as in _choose
        self.own = dict(own)
        self._default()

    def _default(self) -> None:
        """The view of a store with no rows of its own; most stores share its index."""
        carried = [self.star[s] for s in self.skus if s in self.star]
        self.default: View = (carried, carried + [self.first[s] for s in self.skus if s not in self.star])
        self.default_pos = {p.sku: i for i, p in enumerate(carried)}

    def with_changes(self, changed: dict[str, Product | None]) -> tuple["CatalogRows", set[str | None]]:
        """These rows with a few replaced ("<sku>@<stores>" -> row, None = gone), and the stores
        whose view may differ (None in it: every store's). O(rows of the SKUs touched + SKUs)."""
        skus = {f.rsplit("@", 1)[0] for f in changed} | {p.sku for p in changed.values() if p is not None}
        by_sku = dict(self.by_sku)
        touched: set[str | None] = set()
        for sku in skus:
            old = by_sku.get(sku, [])
            rows = [p for p in old if _field(p) not in changed]
            gone = [p for p in old if _field(p) in changed]
            came = [p for p in changed.values() if p is not None and p.sku == sku]
            for p in (*gone, *came):
                touched.update(p.stores or (None,))
            rows += came
            if rows:
                by_sku[sku] = sorted(rows, key=lambda p: p.stores)  # in place: (sku) order kept
            else:
                by_sku.pop(sku, None)
        moved = by_sku.keys() != self.by_sku.keys()
        if moved:
            by_sku = dict(sorted(by_sku.items()))  # a SKU came or went
        new = CatalogRows.__new__(CatalogRows)
        new.count = self.count + sum(len(by_sku.get(s, ())) - len(self.by_sku.get(s, ())) for s in skus)
        new.by_sku, new.skus = by_sku, list(by_sku) if moved else self.skus
        new.first, new.star = dict(self.first), dict(self.star)
        new.own = dict(self.own)
        for sku in skus:
            rows = by_sku.get(sku)
            new.first.pop(sku, None)
            new.star.pop(sku, None)
            if rows:
                new.first[sku] = rows[0]
                if not rows[0].stores:
                    new.star[sku] = rows[0]
        for store in touched - {None}:
            mine = dict(new.own.get(store, {}))
            for sku in skus:
                mine.pop(sku, None)
                for p in by_sku.get(sku, ()):
                    if store in p.stores:
                        mine.setdefault(sku, p)
                        break
            new.own[store] = mine
        if None in touched or any(self.first.get(s) is not new.first.get(s) for s in skus):
            new._default()
        else:
            new.default, new.default_pos = self.default, self.default_pos
        return new, touched

    def patches(self, store: str | None) -> dict[int, Product] | None:
        """The store's rows as positions of the default view, when its view differs from the default
        only in live fields (price, stock, promo); None when it needs an index of its own. O(own rows)."""
        if store is None:
            return {} if len(self.star) == len(self.skus) else None
        out: dict[int, Product] = {}
        for sku, p in self.own.get(store, {}).items():
            star = self.star.get(sku)
            if star is None or not same_shape(p, star):
                return None  # a local product, or its own name for a product: not the default view
            out[self.default_pos[sku]] = p
        return out

    def view(self, store: str | None) -> View:
        """The store's view in O(SKUs); equal to QAIndex._choose(all rows, store)."""
        if store is None:
            carried = [self.first[s] for s in self.skus]
            return carried, carried
        own = self.own.get(store, {})
        carried: list[Product] = []
        absent: list[Product] = []
        for s in self.skus:
            p = own.get(s) or self.star.get(s)
            if p is not None:
                carried.append(p)
            else:
                absent.append(self.first[s])
        return carried, carried + absent
