"""The Q&A indexes of one catalog version for a whole chain of stores.

One index (`base`) answers every store whose rows read the same to matching; each of those
stores gets an overlay of its own price, stock and promo rows (`QAIndex.overlay`, O(its rows)).
A store with rows of its own kind (a local product, its own name for a product) gets an index
of its own, built once per distinct view; it shares the string tables (segmenter words, typo
and homophone tables) and the FAQ matcher with the base when those come out the same.
"""
from __future__ import annotations

from store.catalog import FaqEntry, Product
from handlers.qa.engine import QAIndex, _shape
from handlers.qa.views import CatalogRows

Key = tuple[int, int, int]  # (carried, everything, hash of the shapes) of a store view


def view_key(carried: list[Product], everything: list[Product]) -> Key:
    return len(carried), len(everything), hash(tuple(map(_shape, everything)))


class Chain:
    """Indexes of one catalog version; built in a worker thread, then read on the event loop."""

    def __init__(self, version: int, rows: CatalogRows, faqs: list[FaqEntry], base: QAIndex,
                 previous: dict[Key, QAIndex] | None = None) -> None:
        self.version, self.rows, self.faqs, self.base = version, rows, faqs, base
        self.stores: dict[str | None, QAIndex] = {}  # what each store asked so far was answered with
        self.own: dict[Key, QAIndex] = {}            # indexes of views other than the default one
        self._previous = previous or {}              # own indexes of older versions, to patch
        self.own_stores: set[str | None] = set()     # stores answered from an own index

    @classmethod
    def build(cls, version: int, rows: CatalogRows | list[Product], faqs: list[FaqEntry],
              own_stores: tuple[str | None, ...] = ()) -> "Chain":
        """Everything for a new catalog version (in a worker thread: about a second per 5,000 SKUs),
        including the own indexes of `own_stores`, so a swap finds them ready."""
        if not isinstance(rows, CatalogRows):
            rows = CatalogRows(rows)
        chain = cls(version, rows, faqs, QAIndex.from_view(*rows.default, faqs))
        for store in own_stores:
            if chain.get(store) is None:
                carried, everything = rows.view(store)
                chain.add_own(view_key(carried, everything), chain.build_own(carried, everything))
        return chain

    @property
    def empty(self) -> bool:
        """No catalog imported yet: answers would all be "we don't have it"."""
        return not self.rows.skus and not self.faqs

    def patched(self, version: int, rows: CatalogRows, faqs: list[FaqEntry],
                touched: set[str | None] | None = None) -> "Chain | None":
        """This chain over a newer version that changed only price, stock and promo (a guide's edit):
        every structure kept, the products swapped in. None when names changed: rebuild.
        `touched`: the stores whose rows changed (None in it: the all-stores rows), when known;
        the other stores keep the index they had, so an edit costs O(its rows), not O(stores)."""
        if rows.default is self.rows.default and faqs == self.faqs:
            base = self.base
        else:
            base = self.base.with_live_view(*rows.default, faqs)
            if base is None:
                return None
        chain = Chain(version, rows, faqs, base, {**self._previous, **self.own})
        chain.own_stores = set(self.own_stores)
        if base is self.base and touched is not None and None not in touched:
            chain.stores = {s: idx for s, idx in self.stores.items() if s not in touched}
            chain.own = dict(self.own)  # an own view that changed reads it through an overlay of its own
        return chain

    def get(self, store: str | None) -> QAIndex | None:
        """The store's index, or None when its view needs an index of its own that is not built yet.
        O(the store's own rows) the first time per version for most stores, then a dict read."""
        idx = self.stores.get(store)
        if idx is not None:
            return idx
        patches = self.rows.patches(store)
        if patches is not None:
            idx = self.base.overlay(patches)
        else:
            self.own_stores.add(store)
            carried, everything = self.rows.view(store)
            key = view_key(carried, everything)
            own = self.own.get(key)
            if own is None or not own.same_shape(carried, everything):
                old = self._previous.get(key)
                own = old.with_live_view(carried, everything, self.faqs) if old is not None else None
                if own is None:
                    return None
                self.own[key] = own
            # Stores with the same own view share it, each with its own live fields.
            idx = own.overlay({i: p for i, p in enumerate(carried) if p is not own.products[i]})
        self.stores[store] = idx
        return idx

    def add_own(self, key: Key, idx: QAIndex) -> None:
        self.own.setdefault(key, idx)

    def build_own(self, carried: list[Product], everything: list[Product]) -> QAIndex:
        """A full index of one store's view, sharing with the base what comes out the same."""
        idx = QAIndex.from_view(carried, everything, self.faqs, like=self.base)
        if idx._wild is self.base._wild:
            # Same names: the same segmenter words. Swapped in only now, because building an index
            # briefly edits its own tokenizer's table, and the base's answers questions meanwhile.
            idx._tk = self.base._tk
        return idx
