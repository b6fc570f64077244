"""The catalog and FAQ: their row types, and their Redis state (all-or-nothing imports, idempotent
guide edits, a version counter)."""
from __future__ import annotations

import functools
import json
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace

from redis.asyncio import Redis
from redis.exceptions import WatchError

from store.keys import DAY, Keys
from store.lua import bind


@dataclass(frozen=True, slots=True)
class Product:
    """One catalog row: a product as sold in `stores` (all stores when empty). Money in fen."""

    sku: str
    name: str
    aliases: tuple[str, ...] = ()
    category: str = ""
    spec: str = ""
    unit: str = ""
    price_fen: int = 0
    stock: int = 0
    origin: str = ""
    shelf_life_days: int | None = None
    promo: str = ""
    stores: tuple[str, ...] = ()  # empty: sold in every store

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    def carried_by(self, store: str | None) -> bool:
        return not self.stores or store is None or store in self.stores


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ answer and the keywords that find it."""

    id: str
    keywords: tuple[str, ...]
    answer: str


EDITABLE = ("price_fen", "stock", "promo")


EDIT_RECORD_TTL = 3 * DAY  # longer than any redelivery
LOAD_CHUNK = 2000   # rows per HSCAN round trip when loading
LOAD_ATTEMPTS = 3   # chunked reads before one atomic read of everything
CHANGES_KEPT = 1000  # guide edits a process can catch up on without reading the whole catalog
_EDIT_STATUS = {1: "applied", 0: "repeat", -1: "missing", -2: "not_carried"}


def field_of(p: Product) -> str:
    return f"{p.sku}@{'|'.join(sorted(p.stores)) or '*'}"


def to_json(p: Product) -> str:
    return json.dumps(asdict(p), ensure_ascii=False)


def from_json(raw: bytes | str, memo: dict | None = None) -> Product:
    """A row from its JSON. With `memo` (one per load), equal strings and tuples of many rows are
    one object: a chain's per-store rows repeat the shared row's texts, 1,000 times over."""
    d = json.loads(raw)
    names = Product.__dataclass_fields__
    d = {k: v for k, v in d.items() if k in names}
    for k in ("aliases", "stores"):
        d[k] = tuple(d.get(k) or ())  # cjson turns an empty list into {}
    if memo is not None:
        for k, v in d.items():
            if isinstance(v, (str, tuple)):
                d[k] = memo.setdefault(v, v)
    return Product(**d)


def _sorted(products) -> list[Product]:
    return sorted(products, key=lambda p: (p.sku, p.stores))


def _faqs(raw: list[bytes]) -> list[FaqEntry]:
    faq = [FaqEntry(d["id"], tuple(d["keywords"]), d["answer"]) for d in map(json.loads, raw)]
    return sorted(faq, key=lambda f: f.id)


def _faq_json(e: FaqEntry) -> str:
    return json.dumps({"id": e.id, "keywords": list(e.keywords), "answer": e.answer}, ensure_ascii=False)


@dataclass(frozen=True)
class EditResult:
    status: str  # applied | repeat (this message was applied before) | missing | not_carried
    before: list[Product] = field(default_factory=list)
    after: list[Product] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in ("applied", "repeat")


class Layout:
    """Which rows each SKU has at one catalog version: their field names ("F001@*", "F001@S01",
    "F001@S01|S02"), no row bodies. It lets a reader fetch the few rows it needs (`Catalog.rows_for`)
    instead of half a million; a guide's edit is patched in from the change log."""

    def __init__(self, version: int, fields: Iterable[str]) -> None:
        self.version = version
        self._tags: dict[str, set[str]] = {}  # sku -> the store tags of its rows ("*", "S01", "S01|S02")
        self._shared: dict[str, set[str]] = {}  # sku -> its tags naming several stores (rare)
        self._first: dict[str, str] = {}  # sku -> its smallest one-store tag, computed when asked
        tags = self._tags
        memo: dict[str, str] = {}  # a chain's store ids repeat once per SKU
        for f in fields:
            sku, _, tag = f.partition("@")
            tags.setdefault(sku, set()).add(memo.setdefault(tag, tag))
            if "|" in tag:
                self._shared.setdefault(sku, set()).add(tag)

    def patch(self, version: int, changed: Mapping[str, object]) -> None:
        """Move to `version`, given the fields written since (a row, or None where it was deleted)."""
        for f, row in changed.items():
            sku, _, tag = f.partition("@")
            self._first.pop(sku, None)
            if row is None:
                self._tags.get(sku, set()).discard(tag)
                self._shared.get(sku, set()).discard(tag)
                if not self._tags.get(sku, True):
                    del self._tags[sku]
            else:
                self._tags.setdefault(sku, set()).add(tag)
                if "|" in tag:
                    self._shared.setdefault(sku, set()).add(tag)
        self.version = version

    def fields_for(self, sku: str, stores: Collection[str]) -> list[str]:
        """The fields of `sku` that `rows_for` reads for `stores`."""
        tags = self._tags.get(sku)
        if not tags:
            return []
        shared = self._shared.get(sku, ())
        out = {s for s in stores if s in tags}
        out.update(t for t in shared if any(s in stores for s in t.split("|")))
        if "*" in tags:
            out.add("*")
        else:
            # The row load() lists first (by its stores) tells a SKU without an all-stores row: the
            # smallest one-store tag, or one of the shared rows, whose stores keep the file's order.
            first = self._first.get(sku)
            if first is None:
                first = self._first[sku] = min((t for t in tags if "|" not in t), default="")
            if first:
                out.add(first)
            out.update(shared)
        return [f"{sku}@{t}" for t in out]


VERSION_SECONDS = 1.0  # Catalog.recent_version: how old a version it may answer


def _writing(fn):
    """A Catalog method that writes the catalog: recent_version reads afresh after it."""
    @functools.wraps(fn)
    async def write(self, *args, **kw):
        try:
            return await fn(self, *args, **kw)
        finally:
            self._changed()
    return write


class Catalog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._edit = bind(redis, "catalog_edit")
        self._changes = bind(redis, "catalog_changes")
        self._layout: Layout | None = None  # kept for this Store's readers of a few SKUs
        self._recent: tuple[float, int] | None = None  # (monotonic time, version) for recent_version
        self._writes = 0  # catalog writes through this object: a version read across one is not kept

    async def version(self) -> int:
        return int(await self.r.get(self.k.catalog_version()) or 0)

    async def recent_version(self) -> int:
        """The version as of VERSION_SECONDS ago at most (another process's import or edit shows up
        that much later; one made through this object at once): for lines that only need to know
        which catalog their cached names belong to."""
        hit = self._recent
        if hit is not None and time.monotonic() - hit[0] < VERSION_SECONDS:
            return hit[1]
        writes = self._writes
        version = await self.version()
        if writes == self._writes:
            self._recent = (time.monotonic(), version)
        return version

    def _changed(self) -> None:
        self._writes += 1
        self._recent = None

    async def changes(self, since: int) -> tuple[int, dict[str, Product | None]] | None:
        """(the current version, the rows guide edits wrote since version `since`: field -> row, None
        when gone), in one atomic step; None when only a full load can say (an import happened,
        or more than CHANGES_KEPT edits). O(rows touched), not O(catalog)."""
        got = await self._changes(keys=[self.k.catalog_items(), self.k.catalog_version(), self.k.catalog_changes()],
                                  args=[since, CHANGES_KEPT])
        version = int(got[0])
        if len(got) == 1:
            return version, {}
        if not int(got[1]):
            return None
        memo: dict = {}
        rows = {}
        for i in range(2, len(got), 2):
            f = got[i].decode() if isinstance(got[i], bytes) else got[i]
            rows[f] = from_json(got[i + 1], memo) if got[i + 1] else None
        return version, rows

    async def load(self) -> tuple[int, list[Product], list[FaqEntry]]:
        """Every row and FAQ entry of one version, sorted by (sku, stores) and id.

        A chain's catalog is half a million rows (every store's own prices): they are read in
        chunks and parsed as they come, so the process never holds all their JSON at once. A
        version that moved during the read is read again; a catalog that never keeps still for
        that long is read in one step."""
        for _ in range(LOAD_ATTEMPTS):
            got = await self._load_chunked()
            if got is not None:
                return got
        return await self._load_at_once()

    async def rows_for(self, wanted: Mapping[str, Collection[str]]) -> tuple[int, list[Product]]:
        """(version, rows) where the rows are, for each SKU in `wanted` (sku -> store ids), its
        all-stores row, every row carrying one of those stores, and the row load() lists first for
        it, sorted as load() sorts them: whatever load() would tell about these SKUs in these stores,
        read at one version without reading the rest of the catalog.

        The SKUs' field names come from a `Layout` kept per catalog version (built from the field
        names alone, patched by guide edits); the rows are read with the version in one transaction,
        and read again if the version moved in between. A catalog that never keeps still is read
        whole (and the answer has every row of those SKUs)."""
        if not wanted:
            return await self.version(), []
        layout = self._layout or await self._layout_at(None)
        for _ in range(LOAD_ATTEMPTS):
            version = layout.version
            fields = [f for sku, stores in wanted.items() for f in layout.fields_for(sku, stores)]
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.get(self.k.catalog_version())
                if fields:
                    pipe.hmget(self.k.catalog_items(), fields)
                got = await pipe.execute()
            if int(got[0] or 0) == version:
                memo: dict = {}
                return version, _sorted(from_json(raw, memo) for raw in (got[1] if fields else ()) if raw)
            layout = await self._layout_at(layout)
        version, products, _ = await self.load()
        return version, [p for p in products if p.sku in wanted]

    async def _layout_at(self, layout: Layout | None) -> Layout:
        """The layout at the current version: `layout` patched when only guide edits moved the
        version, else read anew (the field names of one version, no rows)."""
        if layout is not None:
            since = layout.version
            changes = await self.changes(since)
            if changes is not None:
                version, changed = changes
                if layout.version == since:  # not moved by another reader during the await
                    layout.patch(version, changed)
                if layout.version == version:
                    return layout
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.get(self.k.catalog_version())
            pipe.hkeys(self.k.catalog_items())
            version, fields = await pipe.execute()
        fresh = Layout(int(version or 0), (f.decode() if isinstance(f, bytes) else f for f in fields))
        self._layout = fresh
        return fresh

    async def _load_chunked(self) -> tuple[int, list[Product], list[FaqEntry]] | None:
        version = await self.version()
        memo: dict = {}
        rows = {f: from_json(v, memo) async for f, v in self.r.hscan_iter(self.k.catalog_items(), count=LOAD_CHUNK)}
        faqs = await self.r.hvals(self.k.catalog_faq())
        if await self.version() != version:
            return None  # every write moves the version in the same step: nothing changed if it did not
        return version, _sorted(rows.values()), _faqs(faqs)

    async def _load_at_once(self) -> tuple[int, list[Product], list[FaqEntry]]:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.get(self.k.catalog_version())
            pipe.hvals(self.k.catalog_items())
            pipe.hvals(self.k.catalog_faq())
            version, items, faqs = await pipe.execute()
        memo: dict = {}
        return int(version or 0), _sorted(from_json(v, memo) for v in items), _faqs(faqs)

    @_writing
    async def replace(self, products: list[Product], store: str | None = None) -> int:
        """Replace the whole catalog, or with `store` only that store's own rows; one transaction
        (retried if a guide edit lands between reading the old rows and writing the new ones)."""
        if store:
            products = [replace(p, stores=(store,)) for p in products]
        key = self.k.catalog_items()
        async with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    old = await pipe.hkeys(key)
                    stale = [f for f in old if not store or f.decode().endswith(f"@{store}")]
                    pipe.multi()
                    if stale:
                        pipe.hdel(key, *stale)
                    if products:
                        pipe.hset(key, mapping={field_of(p): to_json(p) for p in products})
                    pipe.incr(self.k.catalog_version())
                    res = await pipe.execute()
                    return int(res[-1])
                except WatchError:
                    continue

    @_writing
    async def replace_faq(self, entries: list[FaqEntry]) -> int:
        key = self.k.catalog_faq()
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if entries:
                pipe.hset(key, mapping={e.id: _faq_json(e) for e in entries})
            pipe.incr(self.k.catalog_version())
            res = await pipe.execute()
        return int(res[-1])

    @_writing
    async def seed(self, products: list[Product], entries: list[FaqEntry]) -> int | None:
        """Load products and FAQ only into a catalog that was never written (version 0); the new
        version, or None when there is a catalog already (two replicas starting at once seed once)."""
        vkey = self.k.catalog_version()
        async with self.r.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(vkey)
                if int(await pipe.get(vkey) or 0) != 0:
                    return None
                pipe.multi()
                if products:
                    pipe.hset(self.k.catalog_items(), mapping={field_of(p): to_json(p) for p in products})
                if entries:
                    pipe.hset(self.k.catalog_faq(), mapping={e.id: _faq_json(e) for e in entries})
                pipe.incr(vkey)
                res = await pipe.execute()
            except WatchError:
                return None
        return int(res[-1])

    @_writing
    async def edit(self, sku: str, store: str | None, attribute: str, value, msg_id: str) -> EditResult:
        """Set one attribute of `sku` for `store`, or on every row of it when store is None."""
        if attribute not in EDITABLE:
            raise ValueError(attribute)
        status, raw = await self._edit(
            keys=[self.k.catalog_items(), self.k.catalog_version(), self.k.catalog_edit(msg_id),
                  self.k.catalog_changes()],
            args=[sku, store or "", attribute, json.dumps(value, ensure_ascii=False), EDIT_RECORD_TTL, CHANGES_KEPT])
        status = _EDIT_STATUS[int(status)]
        if not raw:
            return EditResult(status)
        rec = json.loads(raw)  # cjson writes an empty list as {}
        before, after = ([from_json(r) for r in (rec.get(k) or [])] for k in ("before", "after"))
        return EditResult(status, before, after)
