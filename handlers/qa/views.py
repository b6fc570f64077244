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

from handlers.qa.catalog import Product

View = tuple[list[Product], list[Product]]  # (carried, carried + the rest), as QAIndex._choose


def same_shape(a: Product, b: Product) -> bool:
    """Do two rows read the same to matching (all but price, stock, promo and the store list)?"""
    return a is b or (a.name == b.name and a.aliases == b.aliases and a.category == b.category
                      and a.spec == b.spec and a.unit == b.unit and a.origin == b.origin
                      and a.shelf_life_days == b.shelf_life_days and a.sku == b.sku)


class CatalogRows:
    """One catalog version's rows, grouped for per-store views. `products` sorted by (sku, stores)."""

    def __init__(self, products: list[Product]) -> None:
        self.count = len(products)
        self.skus: list[str] = []
        self.star: dict[str, Product] = {}    # the all-stores row of a SKU
        self.first: dict[str, Product] = {}   # the first row of a SKU: what a store not carrying it names
        self.own: dict[str, dict[str, Product]] = defaultdict(dict)  # store -> sku -> the row listing it
        for p in products:
            if p.sku not in self.first:
                self.skus.append(p.sku)
                self.first[p.sku] = p
                if not p.stores:
                    self.star[p.sku] = p
            for s in p.stores:
                self.own[s].setdefault(p.sku, p)  # the first row listing the store wins, as in _choose
        self.own = dict(self.own)
        # The view of a store with no rows of its own; most stores share its index.
        carried = [self.star[s] for s in self.skus if s in self.star]
        self.default: View = (carried, carried + [self.first[s] for s in self.skus if s not in self.star])
        self.default_pos = {p.sku: i for i, p in enumerate(carried)}

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
