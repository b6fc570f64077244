"""Building the buyers' digest at chain scale: 1,000 stores x 2,000 SKUs with a month of history.

    python bench/digest_scale.py [--stores 1000] [--skus 2000] [--days 30] [--redis-stores 50]

Pure part (in memory): a catalog with an all-stores row per SKU plus a stock row for every store
and SKU (2,000,000 rows, the worst case for the stock lookup), one day of activity (a few 团 and
~50 demand signals per store, shoppers shared across 团), and 30 days of history totals. Timed:
the catalog scan that picks the stock of the (store, SKU) pairs in play, build_digest for the
whole chain and for one store, the chat messages and the XLSX. Baselines in the same run: the
input generation, and a naive per-store loop that computes only the per-SKU totals by scanning
all inputs once per store.

Redis part (--redis-stores, 0 skips): the same shape through the real ledger, demand store and
catalog on REDIS_URL (default redis://127.0.0.1:6379/0) under a fresh prefix deleted at the end,
with `--days` days of frozen history totals before the day: freezing the day (read everything,
compress, store) and building its digest from the frozen snapshot and the history, as the
digest job does.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers  # noqa: E402,F401  (import order: handlers before store)
from handlers.digest import sheet  # noqa: E402
from handlers.digest.build import StoreFacts, build_digest  # noqa: E402
from handlers.digest.day import cutoff_ts, parse_cutoff, shift, window  # noqa: E402
from handlers.digest.load import catalog_facts  # noqa: E402
from handlers.digest.model import DayInputs, DayTotals, Signal, Tuan  # noqa: E402
from handlers.digest.parts import message_parts  # noqa: E402
from handlers.qa.catalog import Product  # noqa: E402

DAY = "2026-06-13"
TUANS_PER_STORE = 5
UNMET_PER_STORE = 40
WISH_PER_STORE = 10


def timed(fn, repeat: int = 3):
    """(result, median seconds) over `repeat` runs."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times)


def make_catalog(n_stores: int, n_skus: int, rng: random.Random) -> list[Product]:
    skus = [f"K{i:05d}" for i in range(n_skus)]
    out = [Product(s, f"商品{s}", spec="500g", unit="盒", stock=rng.randint(0, 200)) for s in skus]
    for j in range(n_stores):
        sid = f"S{j:04d}"
        out += [Product(s, f"商品{s}", spec="500g", unit="盒", stock=rng.randint(0, 60), stores=(sid,)) for s in skus]
    return out


def make_day(day: str, n_stores: int, n_skus: int, rng: random.Random) -> tuple[list[Tuan], list[Signal]]:
    tuans, signals = [], []
    for j in range(n_stores):
        sid = f"S{j:04d}"
        people = [f"wm{j}_{k}" for k in range(60)]
        for _ in range(TUANS_PER_STORE):
            sku = f"K{rng.randrange(n_skus):05d}"
            owners = tuple(rng.sample(people, rng.randint(3, 30)))
            qty = sum(rng.randint(1, 4) for _ in owners)
            minimum = rng.randint(5, 60)
            tuans.append(Tuan(len(tuans) + 1, sid, f"g{j}", sku, f"商品{sku}", "盒", "closed",
                              "formed" if qty >= minimum else "failed", 1.0, qty=qty, min_to_form=minimum,
                              entries=len(owners), owners=owners, top_qty=4, amount_fen=qty * 1990))
        for _ in range(UNMET_PER_STORE):
            signals.append(Signal("unmet", sid, f"K{rng.randrange(n_skus):05d}",
                                  tuple(rng.sample(people, rng.randint(1, 3))), ("什么时候到货",), {f"g{j}": 1}))
        for _ in range(WISH_PER_STORE):
            signals.append(Signal("wish", sid, f"心愿{rng.randrange(300)}", tuple(rng.sample(people, rng.randint(1, 2))),
                                  ("能不能进点",), {f"g{j}": 1}))
    return tuans, signals


def make_history(n_stores: int, n_skus: int, days: int, rng: random.Random) -> dict[str, DayTotals]:
    out = {}
    for i in range(1, days + 1):
        t = DayTotals()
        for j in range(n_stores):
            sid = f"S{j:04d}"
            for _ in range(TUANS_PER_STORE - 1):
                t.qty[(sid, f"K{rng.randrange(n_skus):05d}")] = rng.randint(5, 80)
            for _ in range(UNMET_PER_STORE):
                t.unmet[(sid, f"K{rng.randrange(n_skus):05d}")] = rng.randint(1, 3)
            for _ in range(WISH_PER_STORE):
                t.wish[(sid, f"心愿{rng.randrange(300)}")] = 1
        out[shift(DAY, -i)] = t
    return out


def naive_per_store(tuans: list[Tuan], signals: list[Signal], stores: list[str]) -> dict:
    """Baseline: per-SKU formed quantity and unmet askers, one full scan of the inputs per store."""
    totals: dict[str, list[int]] = {}
    for s in stores:
        for t in tuans:
            if t.store == s and t.result == "formed":
                totals.setdefault(t.key, [0, 0])[0] += t.qty
        for g in signals:
            if g.store == s and g.kind == "unmet":
                totals.setdefault(g.item, [0, 0])[1] += g.askers
    return totals


def pure(n_stores: int, n_skus: int, days: int) -> None:
    rng = random.Random(7)
    stores = {f"S{j:04d}": StoreFacts(f"S{j:04d}", f"门店{j}", 3) for j in range(n_stores)}
    t = time.perf_counter()
    catalog = make_catalog(n_stores, n_skus, rng)
    (tuans, signals) = make_day(DAY, n_stores, n_skus, rng)
    history = make_history(n_stores, n_skus, days, rng)
    gen = time.perf_counter() - t
    pairs = {(x.store, x.sku) for x in tuans} | {(s.store, s.item) for s in signals if s.kind == "unmet"}
    (infos, stock), t_cat = timed(lambda: catalog_facts(catalog, pairs), repeat=1)
    inputs = DayInputs(DAY, 0.0, 1.0, 1.0, True, tuans, [], signals, infos, stock)
    d, t_all = timed(lambda: build_digest(inputs, history, stores=stores, cutoff="21:00"))
    _, t_one = timed(lambda: build_digest(inputs, history, stores=stores, scope=["S0007"], cutoff="21:00"))
    ctxs, t_md = timed(lambda: message_parts(d, limit=2048, top=15, attachment="x.xlsx"), repeat=1)
    xlsx, t_xlsx = timed(lambda: sheet.build(d), repeat=1)
    _, t_naive = timed(lambda: naive_per_store(tuans, signals, list(stores)), repeat=1)
    print(f"pure: {n_stores} stores x {n_skus} SKUs, {days} days of history "
          f"({len(catalog):,} catalog rows, {len(tuans):,} 团, {len(signals):,} demand signals, "
          f"{len(d['skus']):,} SKU rows, {sum(len(r['stores']) for r in d['skus']):,} store rows)")
    print(f"  input generation (baseline for scale) {gen:8.2f} s")
    print(f"  catalog scan for stock of {len(pairs):,} pairs {t_cat:8.3f} s")
    print(f"  build_digest, whole chain             {t_all:8.3f} s   <- the figure")
    print(f"  build_digest, one store's scope       {t_one:8.3f} s")
    print(f"  naive per-store loop (totals only)    {t_naive:8.3f} s   ({t_naive / t_all:.1f}x the full build)")
    print(f"  chat messages (top 15, 2048 B)        {t_md:8.3f} s   ({len(ctxs)} messages)")
    print(f"  XLSX of the whole digest              {t_xlsx:8.3f} s   ({len(xlsx) / 1e6:.1f} MB)")


async def through_redis(n_stores: int, n_skus: int, days: int) -> None:
    from bot.config import from_dict
    from handlers.digest.load import digest_for, freeze_day
    from handlers.digest.settings import settings
    from store import Store, connect

    rng = random.Random(8)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    redis = connect(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    store = Store(redis, prefix=prefix)
    cfg = from_dict({"stores": [{"id": f"S{j:04d}", "name": f"门店{j}"} for j in range(n_stores)],
                     "digest": {"cutoff": "21:00"}})
    st = settings(cfg)
    end = cutoff_ts(DAY, parse_cutoff("21:00"), st.tz)
    try:
        t = time.perf_counter()
        await store.catalog.replace(make_catalog(n_stores, n_skus, rng))
        tuans, signals = make_day(DAY, n_stores, n_skus, rng)
        gbs = store.groupbuys
        for x in tuans:
            gid = await gbs.allocate(f"b{x.id}")
            await gbs.create(gid, {"product": x.product, "unit": "盒", "price_fen": 1990, "cutoff": end - 3600,
                                   "pickup": "", "store_id": x.store, "guide": x.guide, "sku": x.sku,
                                   "min_to_form": x.min_to_form}, end - 86400)
            for i, o in enumerate(x.owners):
                await gbs.join(gid, f"b{x.id}:{i}", end - 7200, o, rng.randint(1, 4))
            await gbs.close(gid, f"b{x.id}:close", end - 3590)
            await gbs.retire(await gbs.get(gid), end - 3580)
        for s in signals:
            for who in s.shoppers:
                await store.demand.record(DAY, s.kind, s.store, s.item, who, example=s.examples[0], guide="g")
        for d, totals in make_history(n_stores, n_skus, days, rng).items():
            start_d, end_d = window(d, st.cutoff, st.tz)
            empty = DayInputs(d, start_d, end_d, end_d, True)  # only the totals are read for a trend
            await store.digest.freeze(d, empty.to_dict(), totals.to_dict(), end_d)
        setup = time.perf_counter() - t
        t = time.perf_counter()
        await freeze_day(store, DAY, st, end + 60)
        t_freeze = time.perf_counter() - t
        t = time.perf_counter()
        d = await digest_for(store, cfg, st, DAY, end + 120, with_changes=False)
        t_build = time.perf_counter() - t
        snap = await redis.hget(store.keys.digest_day(DAY, "snap"), "inputs")
        print(f"redis: {n_stores} stores x {n_skus} SKUs, {days} days of frozen history "
              f"({n_stores * n_skus + n_skus:,} catalog rows, {len(tuans):,} 团, {len(signals):,} signals; "
              f"setup {setup:.1f} s)")
        print(f"  freeze the day (read ledger, demand, catalog; compress; store) {t_freeze:6.2f} s "
              f"(snapshot {len(snap) / 1e3:.0f} kB compressed)")
        print(f"  digest from the frozen snapshot and 7 frozen history days       {t_build:6.2f} s "
              f"({len(d['skus'])} SKU rows, trends from {len(d['history_days'])} days)")
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for i in range(0, len(keys), 500):
            await redis.delete(*keys[i:i + 500])
        await redis.aclose()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--stores", type=int, default=1000)
    p.add_argument("--skus", type=int, default=2000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--redis-stores", type=int, default=50)
    a = p.parse_args()
    pure(a.stores, a.skus, a.days)
    if a.redis_stores:
        asyncio.run(through_redis(a.redis_stores, a.skus, a.days))


if __name__ == "__main__":
    main()
