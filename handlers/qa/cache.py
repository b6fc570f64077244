"""Each process answers from in-memory indexes, rebuilt when the catalog version in Redis moves."""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from handlers.qa.catalog import parse_catalog, parse_faq_csv
from handlers.qa.engine import QAIndex
from store import Store

log = logging.getLogger(__name__)


class QACache:
    def __init__(self, store: Store, refresh_seconds: float = 1.0) -> None:
        self.store = store
        self.refresh = refresh_seconds
        self.version = -1
        self._checked = float("-inf")
        self._data: tuple[list, list] = ([], [])
        self._indexes: dict[str | None, QAIndex] = {}
        self._lock = asyncio.Lock()

    async def index(self, store_id: str | None = None) -> QAIndex:
        """The index for one store, current to within `refresh_seconds` of the last catalog change."""
        now = time.monotonic()
        if now - self._checked >= self.refresh:
            self._checked = now
            if await self.store.catalog.version() != self.version:
                await self.reload()
        idx = self._indexes.get(store_id)
        if idx is None:
            async with self._lock:
                idx = self._indexes.get(store_id)
                if idx is None:
                    products, faqs = self._data
                    idx = await asyncio.to_thread(QAIndex.build, products, faqs, store_id)
                    self._indexes[store_id] = idx
        return idx

    def invalidate(self) -> None:
        """This process changed the catalog: check the version on the next question."""
        self._checked = float("-inf")

    @property
    def empty(self) -> bool:
        """Nothing loaded: no catalog was imported yet (answers would all be "we don't have it")."""
        return not self._data[0] and not self._data[1]

    async def reload(self) -> None:
        async with self._lock:
            version, products, faqs = await self.store.catalog.load()
            self._data = (products, faqs)
            # A guide's price/stock/promo edit keeps every matching structure: the indexes take the
            # new products in microseconds. Only an import that changes names rebuilds (in ~1 s).
            kept = {sid: new for sid, idx in self._indexes.items()
                    if (new := idx.with_live_fields(products, faqs, sid)) is not None}
            self._indexes = kept
            self.version = version
            self._checked = time.monotonic()
            log.info("catalog version %d loaded: %d products, %d FAQ entries (%d indexes kept)", version,
                     len(products), len(faqs), len(kept))

    async def seed(self, catalog: Path | None, faq: Path | None) -> bool:
        """Load the configured files into an empty catalog (never over an existing one); True if
        this call seeded it. A file with bad rows is not loaded at all, and says why in the log."""
        if await self.store.catalog.version() > 0 or (catalog is None and faq is None):
            return False
        products, entries = [], []
        if catalog is not None:
            products, errors = parse_catalog(catalog.read_bytes(), catalog.name)
            if errors:
                log.error("seed catalog %s has %d bad rows; nothing seeded (first: line %s: %s)", catalog,
                          len(errors), *errors[0])
                return False
        if faq is not None:
            entries, errors = parse_faq_csv(faq.read_bytes())
            if errors:
                log.error("seed FAQ %s has %d bad rows; nothing seeded (first: line %s: %s)", faq,
                          len(errors), *errors[0])
                return False
        version = await self.store.catalog.seed(products, entries)
        if version is not None:
            log.info("seeded the empty catalog: %d products from %s, %d FAQ entries from %s", len(products),
                     catalog, len(entries), faq)
            self.invalidate()
        return version is not None
