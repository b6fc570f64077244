"""Memory and build time of the Q&A indexes for a chain: one shared index plus per-store overlays,
next to the per-store full indexes the chain would need without sharing.

    python bench/qa_memory.py [--skus 5000] [--stores 1000] [--local-stores 20] [--sample 3]

The chain: the 5,000-SKU catalog of bench/qa_speed.py (the demo rows plus brand x variety x kind
variants), the same rows in every store, per-store price, stock and promo on 10% of rows, and
`--local-stores` stores with a few local products each. Everything goes through the catalog in
Redis (a private redis-server on a unix socket, filled by a child process) and the process's
QACache, as a worker does.

Prints: the catalog load and the index build, each store's first question, a guide's edit
reaching the process (one store's row, every store's row), RSS by part (process and jieba, catalog
and shared index, stores sharing it, stores with local products), and the baseline: the RSS of
`--sample` full per-store indexes (what each store cost before sharing) scaled to the chain.
CPU time, not wall time: the figures hold on a busy machine.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.qa_speed import generated_catalog  # noqa: E402
from handlers.qa.catalog import Product, parse_faq_csv  # noqa: E402

PREFIX = "bench-qa-memory"
LOCAL_KINDS = ("腊肉", "米粉", "豆腐", "剁辣椒", "臭豆腐", "糖油粑粑", "酱板鸭", "米酒")
LOCAL_TOWNS = ("宁乡", "浏阳", "湘潭", "株洲", "岳阳", "常德", "衡阳", "益阳", "邵阳", "怀化")


def store_ids(n: int) -> list[str]:
    return [f"S{i:04d}" for i in range(1, n + 1)]


def chain_catalog(products: list[Product], stores: list[str], rng: random.Random, *, share: float = 0.10,
                  local_stores: int = 20, locals_each: int = 3, renamed: int = 0) -> list[Product]:
    """Every row of `products` for every store, plus each store's own price/stock/promo on `share`
    of the rows, local products in the first `local_stores` stores, and in the next `renamed` stores
    one product under the store's own name."""
    rows = list(products)
    k = max(1, int(len(products) * share))
    for s in stores:
        for p in rng.sample(products, k):
            rows.append(dataclasses.replace(
                p, price_fen=max(1, p.price_fen + rng.randrange(-200, 200)), stock=rng.choice((0, 3, 40, 200)),
                promo=rng.choice(("", "", "本店特价", "满59减5")), stores=(s,)))
    for n, s in enumerate(stores[:local_stores]):
        town = LOCAL_TOWNS[n % len(LOCAL_TOWNS)]
        for j in range(locals_each):
            kind = LOCAL_KINDS[(n + j) % len(LOCAL_KINDS)]
            rows.append(Product(f"L{s}{j}", f"{town}{kind}", (f"{town}{kind}", f"本地{kind}"), "本地特产", "500g/袋",
                                "袋", rng.randrange(500, 5000), rng.choice((0, 12)), town, 30, "", (s,)))
    for s in stores[local_stores:local_stores + renamed]:
        p = rng.choice(products)
        rows.append(dataclasses.replace(p, name=f"本店{p.name}", aliases=(*p.aliases, "本店招牌"), stores=(s,)))
    return sorted(rows, key=lambda p: (p.sku, p.stores))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


async def fill(args, url: str) -> None:
    """Write the chain's catalog into Redis (in a child process, so the measured one never held it)."""
    from redis.asyncio import Redis

    from store import Store
    from store.catalog import field_of, to_json

    rng = random.Random(args.seed)
    products = generated_catalog(args.skus, rng)
    rows = chain_catalog(products, store_ids(args.stores), rng, local_stores=args.local_stores)
    redis = Redis.from_url(url)
    store = Store(redis, prefix=PREFIX)
    for i in range(0, len(rows), 5000):
        await redis.hset(store.keys.catalog_items(), mapping={field_of(p): to_json(p) for p in rows[i:i + 5000]})
    faqs, _ = parse_faq_csv((ROOT / "data" / "faq.csv").read_bytes())
    await store.catalog.replace_faq(faqs)
    await redis.aclose()


async def run(args) -> None:
    from redis.asyncio import Redis

    from bot.redis_server import EmbeddedRedis
    from handlers.qa.cache import QACache
    from handlers.qa.engine import QAIndex
    from handlers.qa.segment import base_tokenizer
    from store import Store

    stores = store_ids(args.stores)
    question = "草莓多少钱"
    tmp = tempfile.TemporaryDirectory(prefix="qa-memory-", dir="/tmp")
    server = EmbeddedRedis(tmp.name, appendonly=False)
    url = await server.astart()
    try:
        argv = [sys.executable, __file__, "--fill", url, "--skus", str(args.skus), "--stores", str(args.stores),
                "--local-stores", str(args.local_stores), "--seed", str(args.seed)]
        child = await asyncio.create_subprocess_exec(*argv)
        assert await child.wait() == 0, "filling the catalog failed"
        redis = Redis.from_url(url)
        store = Store(redis, prefix=PREFIX)
        bare = rss_mb()
        base_tokenizer()  # jieba's main dictionary: once per process, whatever the chain
        before = rss_mb()

        cache = QACache(store, refresh_seconds=3600)
        t = time.process_time()
        first = await cache.index(stores[-1])  # a store with no local products: the shared index
        load_build = time.process_time() - t
        assert first.match(question).intent == "product"
        loaded = rss_mb()
        t = time.process_time()
        for s in stores[args.local_stores:]:  # the stores that share the index: an overlay each
            (await cache.index(s)).match(question)
        shared_cpu = time.process_time() - t
        gc.collect()
        shared_rss = rss_mb()
        t = time.process_time()
        for s in stores[:args.local_stores]:  # the stores with local products: an own index each
            (await cache.index(s)).match(question)
        own_cpu = time.process_time() - t
        every = shared_cpu + own_cpu
        gc.collect()
        after = rss_mb()

        # A guide's edit reaching this process: the rows it wrote, not the catalog.
        edits = {}
        for scope in (stores[len(stores) // 2], None):
            sku = next(iter(cache._chain.rows.own[stores[len(stores) // 2]]))
            await store.catalog.edit(sku, scope, "stock", 7, f"bench:{scope}")
            cache.invalidate()
            t = time.process_time()
            idx = await cache.index(stores[len(stores) // 2])
            edits[scope] = time.process_time() - t
            assert idx.product(sku).stock == 7
        t = time.process_time()
        for s in stores:
            await cache.index(s)
        after_edit = time.process_time() - t

        chain = cache._chain
        faqs = chain.faqs
        t = time.process_time()
        await store.catalog.load()
        load = time.process_time() - t
        t = time.process_time()
        QAIndex.from_view(*chain.rows.default, faqs)
        build = time.process_time() - t

        # Baseline: full per-store indexes (what each store cost before sharing), a few of them.
        sample = []
        gc.collect()
        base0 = rss_mb()
        t = time.process_time()
        for s in stores[args.local_stores:args.local_stores + args.sample]:
            sample.append(QAIndex.from_view(*chain.rows.view(s), faqs))
        full_build = (time.process_time() - t) / max(1, args.sample)
        gc.collect()
        per_full = (rss_mb() - base0) / max(1, args.sample)
        own = len(chain.own_stores)
        rows = chain.rows.count

        print(f"chain: {args.stores} stores, {len(chain.rows.skus)} SKUs, {rows} catalog rows, "
              f"{own} stores with local rows (an own index each)")
        print(f"catalog load ({rows} rows from Redis): {load:.2f} s CPU")
        print(f"index build, {len(chain.rows.skus)} SKUs: {build:.2f} s CPU (a full per-store build: {full_build:.2f} s)")
        print(f"cold process, first question (load + shared index): {load_build:.2f} s CPU")
        n_shared = args.stores - args.local_stores
        print(f"every store's first question after that: {every:.2f} s CPU in all: "
              f"{shared_cpu / n_shared * 1000:.2f} ms per store sharing the index, "
              f"{own_cpu / max(1, args.local_stores):.2f} s per store with local products (its own index)")
        print(f"a guide's edit reaching this process: one store's row {edits[stores[len(stores) // 2]] * 1000:.1f} ms CPU, "
              f"every store's row {edits[None] * 1000:.1f} ms CPU (a full catalog load: {load:.2f} s); "
              f"then every store's next question {after_edit * 1000:.0f} ms CPU in all")
        print(f"RSS: {bare:.0f} MB bare, {before:.0f} MB with jieba's dictionary (once per process), "
              f"{loaded:.0f} MB with the catalog and the shared index, {shared_rss:.0f} MB after the {n_shared} "
              f"stores sharing it answered ({(shared_rss - loaded) / n_shared * 1024:.0f} KB each), "
              f"{after:.0f} MB after every store answered "
              f"({(after - shared_rss) / max(1, args.local_stores):.1f} MB per store with local products)")
        print(f"baseline: a full per-store index adds {per_full:.1f} MB RSS; {args.stores} of them "
              f"≈ {per_full * args.stores / 1024:.1f} GB on top of {before:.0f} MB")
        print(f"qunbot's indexes and catalog / per-store indexes: {(after - before) / (per_full * args.stores):.3f}x")
        await redis.aclose()
    finally:
        await server.astop()
        tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", type=int, default=5000)
    ap.add_argument("--stores", type=int, default=1000)
    ap.add_argument("--local-stores", type=int, default=20)
    ap.add_argument("--sample", type=int, default=3, help="full per-store indexes built for the baseline")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fill", metavar="REDIS_URL", help=argparse.SUPPRESS)  # the child that writes the catalog
    args = ap.parse_args(argv)
    asyncio.run(fill(args, args.fill) if args.fill else run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
