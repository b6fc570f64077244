"""The catalog and FAQ in Redis: all-or-nothing imports, idempotent guide edits, a version counter."""
from __future__ import annotations

import json
from dataclasses import asdict, fields, replace

from redis.asyncio import Redis

from handlers.qa.catalog import FaqEntry, Product
from store.keys import Keys

_PRODUCT_FIELDS = {f.name for f in fields(Product)}

# KEYS: items, version, applied. ARGV: msg id, base field, variant field, store, attribute, JSON value.
# Applies one attribute change to the store's row (creating it from the * row), once per message id.
_EDIT = """
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then
  return {0, redis.call('HGET', KEYS[1], ARGV[3])}
end
local raw = redis.call('HGET', KEYS[1], ARGV[3]) or redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return {-1, false} end
local p = cjson.decode(raw)
p[ARGV[5]] = cjson.decode(ARGV[6])
if ARGV[4] ~= '' then p['stores'] = {ARGV[4]} end
local out = cjson.encode(p)
redis.call('HSET', KEYS[1], ARGV[3], out)
redis.call('INCR', KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], 259200)
return {1, out}
"""


def field_of(p: Product) -> str:
    return f"{p.sku}@{'|'.join(sorted(p.stores)) or '*'}"


def to_json(p: Product) -> str:
    return json.dumps(asdict(p), ensure_ascii=False)


def from_json(raw: bytes | str) -> Product:
    d = json.loads(raw)
    d = {k: v for k, v in d.items() if k in _PRODUCT_FIELDS}
    for k in ("aliases", "stores"):
        d[k] = tuple(d.get(k) or ())  # cjson turns an empty list into {}
    return Product(**d)


class Catalog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._edit = redis.register_script(_EDIT)

    async def version(self) -> int:
        return int(await self.r.get(self.k.catalog_version()) or 0)

    async def load(self) -> tuple[int, list[Product], list[FaqEntry]]:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.get(self.k.catalog_version())
            pipe.hvals(self.k.catalog_items())
            pipe.hvals(self.k.catalog_faq())
            version, items, faqs = await pipe.execute()
        products = sorted((from_json(v) for v in items), key=lambda p: (p.sku, p.stores))
        faq = [FaqEntry(d["id"], tuple(d["keywords"]), d["answer"]) for d in map(json.loads, faqs)]
        return int(version or 0), products, sorted(faq, key=lambda f: f.id)

    async def replace(self, products: list[Product], store: str | None = None) -> int:
        """Replace the whole catalog, or with `store` only that store's own rows; one transaction."""
        if store:
            products = [replace(p, stores=(store,)) for p in products]
        key = self.k.catalog_items()
        old = await self.r.hkeys(key)
        stale = [f for f in old if not store or f.decode().endswith(f"@{store}")]
        async with self.r.pipeline(transaction=True) as pipe:
            if stale:
                pipe.hdel(key, *stale)
            if products:
                pipe.hset(key, mapping={field_of(p): to_json(p) for p in products})
            pipe.incr(self.k.catalog_version())
            res = await pipe.execute()
        return int(res[-1])

    async def replace_faq(self, entries: list[FaqEntry]) -> int:
        key = self.k.catalog_faq()
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if entries:
                pipe.hset(key, mapping={e.id: json.dumps({"id": e.id, "keywords": list(e.keywords),
                                                          "answer": e.answer}, ensure_ascii=False)
                                        for e in entries})
            pipe.incr(self.k.catalog_version())
            res = await pipe.execute()
        return int(res[-1])

    async def edit(self, product: Product, store: str | None, attribute: str, value, msg_id: str
                   ) -> tuple[bool, Product | None]:
        """Set one attribute for `store` (all stores when None). Returns (applied now, product after)."""
        if attribute not in ("price_fen", "stock", "promo"):
            raise ValueError(attribute)
        target = f"{product.sku}@{store}" if store else field_of(product)
        status, raw = await self._edit(keys=[self.k.catalog_items(), self.k.catalog_version(),
                                             self.k.catalog_applied()],
                                       args=[msg_id, field_of(product), target, store or "", attribute,
                                             json.dumps(value, ensure_ascii=False)])
        return int(status) == 1, (from_json(raw) if raw else None)
