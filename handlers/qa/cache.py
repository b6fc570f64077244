"""Each process answers from in-memory indexes, patched or rebuilt when the catalog version in Redis moves."""
from __future__ import annotations

import asyncio
import gc
import logging
import time
from pathlib import Path

from handlers.qa.catalog import parse_catalog, parse_faq_csv
from handlers.qa.chain import Chain, Key, view_key
from handlers.qa.engine import QAIndex
from handlers.qa.views import CatalogRows
from store import Store, StoreError

log = logging.getLogger(__name__)
FREEZE_ROWS = 20_000  # catalogs this large: their index is kept out of the cyclic GC's full passes


def keep_out_of_gc(rows: int, collect: bool = True) -> None:
    """A chain catalog's index is millions of objects that live until the next import, and a full
    cyclic-GC pass over them costs ~0.4 s of CPU (measured in bench/chain_scale.py: 2 ms per message
    over a 200-message run). Move everything alive now to the permanent generation (gc.freeze):
    later passes scan only newer objects. The previous index, no longer referenced, is freed by
    reference counting; unfreezing and collecting first frees any cycles it (or anything frozen the
    last time) left, so nothing stays frozen past the next build. Small catalogs are left alone.
    `collect=False` (a store's own index, built at its first question): freeze only, no full pass;
    what it froze is unfrozen and collected at the next catalog build."""
    if rows < FREEZE_ROWS:
        return
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


class QACache:
    """This process's indexes for every store (handlers/qa/chain.py), current to within
    `refresh_seconds` of the last catalog change.

    A cold process loads the catalog once, under one lock, and every question waits for it: no
    question is ever read against an index that is still loading. A guide's edit is patched in
    (microseconds per store); an import that changes names is built once, in a worker thread,
    while the previous version keeps answering.
    """

    def __init__(self, store: Store, refresh_seconds: float = 1.0) -> None:
        self.store = store
        self.refresh = refresh_seconds
        self._checked = float("-inf")
        self._chain: Chain | None = None
        self._lock = asyncio.Lock()  # one catalog read (and first build) at a time
        self._rebuild: asyncio.Task | None = None
        self._builds: dict[tuple[int, Key], asyncio.Future] = {}  # own-index builds in flight
        self.seed_files: tuple[Path | None, Path | None] = (None, None)  # what `seed` loaded at start
        self._lost_since = 0  # the version answering from memory after Redis lost the catalog

    @property
    def version(self) -> int:
        """The catalog version this process answers from (-1 before the first load)."""
        return self._chain.version if self._chain else -1

    async def index(self, store_id: str | None = None) -> QAIndex:
        """The index for one store. Waits for the first load (or a store's first own index); raises
        when Redis cannot be read, so the message is retried rather than answered from nothing."""
        chain = await self._current()
        idx = chain.get(store_id)
        while idx is None:
            idx = await self._build_own(chain, store_id)
        return idx

    def invalidate(self) -> None:
        """This process changed the catalog: check the version on the next question."""
        self._checked = float("-inf")

    @property
    def empty(self) -> bool:
        """Nothing loaded: no catalog was imported yet (answers would all be "we don't have it")."""
        return self._chain is None or self._chain.empty

    async def settled(self) -> None:
        """Wait for a background rebuild in progress (tests, benches, a graceful start)."""
        task = self._rebuild
        if task is not None:
            await asyncio.shield(task)

    async def _current(self) -> Chain:
        if self._chain is None:
            async with self._lock:  # a cold process: every caller waits for the one first load
                if self._chain is None:
                    version, products, faqs = await self.store.catalog.load()
                    self._checked = time.monotonic()
                    self._chain = await asyncio.to_thread(Chain.build, version, products, faqs)
                    keep_out_of_gc(len(products))
                    log.info("catalog version %d loaded: %d products, %d FAQ entries", version, len(products),
                             len(faqs))
        elif (time.monotonic() - self._checked >= self.refresh and self._rebuild is None
              and not self._lock.locked()):
            async with self._lock:  # one check at a time; the others answer from the current chain
                try:
                    await self._refresh()
                except (StoreError, OSError) as exc:  # the loaded catalog still answers; check again later
                    log.warning("catalog version check failed (%s); answering from version %d", exc, self.version)
        if self._rebuild is not None and self._chain is not None and self._chain.empty:
            await self.settled()  # the first catalog of a process that had none: nothing to answer from
        assert self._chain is not None
        return self._chain

    async def _refresh(self) -> None:
        self._checked = time.monotonic()
        chain = self._chain
        current = await self.store.catalog.version()
        if chain is None or current == chain.version:
            return
        if current == 0 and chain.version > 0:
            await self._catalog_lost(chain)
            return
        changes = await self.store.catalog.changes(chain.version)
        if changes is not None:  # guide edits only: read the rows they wrote, patch them in
            version, changed = changes
            rows, touched = chain.rows.with_changes(changed)
            patched = chain.patched(version, rows, chain.faqs, touched)
            if patched is not None:
                self._chain = patched
                log.debug("catalog version %d: %d edited rows patched in", version, len(changed))
                return
        version, products, faqs = await self.store.catalog.load()
        self._checked = time.monotonic()
        # A guide's price/stock/promo edit keeps every matching structure: the stores' indexes take
        # the new rows in microseconds. Only an import that changes names rebuilds.
        rows = await asyncio.to_thread(CatalogRows, products)  # a chain's rows: ~0.5 s per 500,000
        patched = chain.patched(version, rows, faqs)
        if patched is not None:
            self._chain = patched
            log.info("catalog version %d patched in: %d rows, %d FAQ entries", version, rows.count, len(faqs))
            return
        self._rebuild = asyncio.create_task(self._swap(version, rows, faqs, tuple(chain.own_stores)))

    async def _catalog_lost(self, chain: Chain) -> None:
        """Redis came back without the catalog (restarted empty). Answering "we don't have that" to
        everything would be wrong: seed the configured files again, or keep answering from memory."""
        if await self.seed(*self.seed_files):
            log.warning("catalog was gone from Redis (restarted empty?); seeded the configured files again")
            return
        if self._lost_since != chain.version:
            self._lost_since = chain.version
            log.error("catalog is gone from Redis (restarted empty?) and no [qa] catalog file is configured: "
                      "answering from version %d kept in memory; import the catalog again", chain.version)

    async def _swap(self, version: int, rows: CatalogRows, faqs: list, own_stores: tuple) -> None:
        """Build the new version in a worker thread; the current one answers until it is ready."""
        started = time.process_time()
        try:
            chain = await asyncio.to_thread(Chain.build, version, rows, faqs, own_stores)
        except Exception:
            log.exception("catalog version %d: index build failed; still answering from version %d", version,
                          self.version)
            return
        finally:
            self._rebuild = None
        self._chain = chain
        keep_out_of_gc(rows.count)
        self._checked = float("-inf")  # a newer version may have landed during the build
        log.info("catalog version %d built and swapped in: %d rows, %d FAQ entries, %d own-view stores, "
                 "%.2f s process CPU", version, rows.count, len(faqs), len(own_stores), time.process_time() - started)

    async def _build_own(self, chain: Chain, store_id: str | None) -> QAIndex | None:
        """Build (once, whoever asks) the index of a store whose rows differ from the chain's."""
        carried, everything = chain.rows.view(store_id)
        key = (chain.version, view_key(carried, everything))
        fut = self._builds.get(key)
        if fut is None:
            fut = self._builds[key] = asyncio.ensure_future(asyncio.to_thread(chain.build_own, carried, everything))
            fut.add_done_callback(lambda _: self._builds.pop(key, None))
        chain.add_own(key[1], await asyncio.shield(fut))
        keep_out_of_gc(chain.rows.count, collect=False)
        return chain.get(store_id)

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
