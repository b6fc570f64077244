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
        self._checked = 0.0
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

    async def reload(self) -> None:
        async with self._lock:
            version, products, faqs = await self.store.catalog.load()
            self._data = (products, faqs)
            self._indexes = {}
            self.version = version
            self._checked = time.monotonic()
            log.info("catalog version %d loaded: %d products, %d FAQ entries", version, len(products), len(faqs))

    async def seed(self, catalog: str | None, faq: str | None) -> None:
        """Load the configured demo files into an empty catalog (never over an existing one)."""
        if await self.store.catalog.version() > 0:
            return
        if catalog and Path(catalog).exists():
            products, errors = parse_catalog(Path(catalog).read_bytes(), catalog)
            if errors:
                log.error("seed catalog %s has %d bad rows; not loaded (first: line %s %s)", catalog,
                          len(errors), *errors[0])
            else:
                await self.store.catalog.replace(products)
        if faq and Path(faq).exists():
            entries, errors = parse_faq_csv(Path(faq).read_bytes())
            if not errors:
                await self.store.catalog.replace_faq(entries)
