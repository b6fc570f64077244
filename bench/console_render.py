"""Console page server time for a 1,000-store chain (target: under 300 ms a page).

    python bench/console_render.py [--stores 1000] [--skus 5000] [--repeat 5] [--quick]

The chain: bench/catalog_gen.py's catalog (5,000 SKUs, per-store variants: ~505,000 rows), and per
store yesterday's activity frozen by the digest's own freeze (3 团 with joins, ~10 unmet asks, a
wish), 7 more days of frozen history totals, 2 open 团 with a waiting list, one coupon campaign
with claims and redemptions, all written through the real ledger, demand and coupon stores on
REDIS_URL (default redis://127.0.0.1:6379/0) under a fresh prefix deleted at the end.

The service runs in this process (role web); a middleware times each request inside the server:
CPU (process time while the handler runs; requests go one at a time, so the client is idle then)
and wall (including Redis), the median of --repeat views after a first one, whose wall time is
shown apart ("first view": a frozen day's digest is then read and built; later views reuse it for
a few minutes). Baseline in the same run: a bare route on the same app (no session, no Redis).
Sessions are signed cookies made with the service's key (sign-in is not timed).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers  # noqa: E402,F401  (import order: handlers before store)
from aiohttp import ClientSession, web  # noqa: E402

from bench import catalog_gen  # noqa: E402
from bench._procs import free_port  # noqa: E402

TARGET_MS = 300
TIMES: dict[str, list[tuple[float, float]]] = {}


@web.middleware
async def timing(request: web.Request, handler):
    c, w = time.process_time(), time.perf_counter()
    try:
        return await handler(request)
    finally:
        TIMES.setdefault(request.path_qs, []).append((time.process_time() - c, time.perf_counter() - w))


async def bare(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def build_chain(store, config, n_stores: int, n_skus: int, rng: random.Random) -> dict:
    from handlers.coupons import service
    from handlers.coupons.codes import new_code
    from handlers.coupons.rules import parse_campaign
    from handlers.digest.day import business_day, cutoff_ts, shift, window
    from handlers.digest.load import freeze_day
    from handlers.digest.model import DayInputs, DayTotals
    from handlers.digest.settings import settings
    from handlers.qa.catalog import parse_catalog

    st = settings(config)
    now = time.time()
    today = business_day(now, st.cutoff, st.tz)
    yesterday = shift(today, -1)
    stores = [s.id for s in config.stores]
    t = time.perf_counter()
    rows, errors = parse_catalog(catalog_gen.to_csv(catalog_gen.chain_rows(stores, skus=n_skus)), "chain.csv")
    assert not errors, errors[:3]
    await store.catalog.replace(rows)
    chain_skus = sorted({p.sku for p in rows if not p.stores})
    t_catalog = time.perf_counter() - t
    t = time.perf_counter()
    gbs = store.groupbuys
    end_y = cutoff_ts(yesterday, st.cutoff, st.tz)
    shoppers = [f"wm{i:05d}" for i in range(4000)]
    seq = iter(range(10**9))
    sample = {"open": [], "store": stores[1]}
    for sid in stores:
        for k in range(3):  # yesterday's 团
            sku = rng.choice(chain_skus)
            gid = await gbs.allocate(f"b{next(seq)}")
            await gbs.create(gid, {"product": f"商品{sku}", "unit": "份", "price_fen": 1990, "cutoff": end_y - 3600,
                                   "pickup": "服务台", "store_id": sid, "guide": f"g{sid}", "sku": sku,
                                   "min_to_form": 5}, end_y - 86400)
            for who in rng.sample(shoppers, rng.randint(2, 9)):
                await gbs.join(gid, f"b{next(seq)}", end_y - 7200, who, rng.randint(1, 4))
            await gbs.close(gid, f"b{next(seq)}", end_y - 3590)
            await gbs.retire(await gbs.get(gid), end_y - 3580)
        for who in rng.sample(shoppers, 10):
            await store.demand.record(yesterday, "unmet", sid, rng.choice(chain_skus), who, example="有货吗",
                                      guide=f"g{sid}")
        await store.demand.record(yesterday, "wish", sid, rng.choice(("榴莲", "山竹", "椰青")), shoppers[0],
                                  example="能进点吗", guide=f"g{sid}")
        for k in range(2):  # open now, with a waiting list
            gid = await gbs.allocate(f"b{next(seq)}")
            await gbs.create(gid, {"product": "丹东草莓", "unit": "盒", "price_fen": 2990, "cutoff": now + 86400,
                                   "pickup": "服务台", "store_id": sid, "guide": f"g{sid}", "sku": chain_skus[0],
                                   "cap": 20, "min_to_form": 5}, now - 3600)
            for who in rng.sample(shoppers, 12):
                await gbs.join(gid, f"b{next(seq)}", now - 1800, who, rng.randint(1, 3), name=f"顾客{who[-4:]}",
                               tag=rng.choice(("A区", "B区", "")))
            if sid == sample["store"]:
                sample["open"].append(gid)
    for i in range(2, 32):  # a month of history before yesterday, as totals (the 30-day trend)
        d = shift(yesterday, -i + 1)
        start_d, end_d = window(d, st.cutoff, st.tz)
        totals = DayTotals(qty={(s, rng.choice(chain_skus)): rng.randint(1, 30) for s in stores},
                           unmet={(s, rng.choice(chain_skus)): rng.randint(1, 5) for s in stores})
        await store.digest.freeze(d, DayInputs(d, start_d, end_d, end_d, True).to_dict(), totals.to_dict(), end_d)
    await freeze_day(store, yesterday, st, end_y + 60)
    start = now - 7 * 86400
    for sid in stores:
        spec = parse_campaign("周末券 满50减10 500张 有效30天", service.local(start, config), service.tz_of(config))
        cid = await service.create_campaign(store, spec, owner=sid, by=f"g{sid}", now=start)
        await store.coupons.confirm(cid, by=f"g{sid}", now=start)
        if sid == sample["store"]:
            sample["campaign"] = cid
        for j, who in enumerate(rng.sample(shoppers, 8)):
            at = start + rng.uniform(0, 6 * 86400)
            c = await store.coupons.claim(cid, shopper=who, msg_id=f"b{next(seq)}", now=at,
                                          day_end=service.day_end(at, config), store_id=sid, joined_at=None,
                                          target="", new_code=new_code)
            if c.codes and j % 2 == 0:
                await store.coupons.redeem(c.codes[0], store_id=sid, order_no=f"O{j}", by="pos", now=at + 600)
    sample.update(yesterday=yesterday, today=today, catalog_rows=len(rows), t_catalog=t_catalog,
                  t_activity=time.perf_counter() - t)
    return sample


async def run(args) -> None:
    from bot.app import create_app
    from bot.config import from_dict
    from bot.console import session as sess
    from store import Store, connect

    rng = random.Random(17)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    redis = connect(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    stores = catalog_gen.store_ids(args.stores)
    config = from_dict({
        "redis": {"prefix": prefix}, "admin": {"token": "bench-token"},
        "wecom": {"corp_id": "wwbench", "api_base": "http://127.0.0.1:9", "app": {"secret": "s"}},
        "roles": {"buyers": ["buyer1"]},
        "stores": [{"id": s, "name": f"门店{s[1:]}", "guides": [f"g{s}"], "groups": [f"wr{s}"], "kf": f"wk{s}"}
                   for s in stores]})
    store = Store(redis, prefix=prefix)
    runner = None
    try:
        chain = await build_chain(store, config, args.stores, args.skus, rng)
        print(f"chain: {args.stores} stores, {chain['catalog_rows']:,} catalog rows "
              f"(import {chain['t_catalog']:.1f} s), activity written in {chain['t_activity']:.1f} s")
        app = create_app(config, role="web", redis=redis)
        app.middlewares.append(timing)
        app.router.add_get("/bare", bare)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        key = sess.secret_of(config)
        far = int(time.time()) + 3600

        def cookie(user: str, via: str = "oauth") -> dict:
            return {sess.COOKIE: sess.dump(key, sess.Session(uuid.uuid4().hex, user, far, via))}

        sid = chain["store"]
        gid = chain["open"][0]
        pages = [
            ("bare route (baseline)", "/bare", {}, "ok"),
            ("buyer: demand, whole chain, yesterday", f"/console/demand?date={chain['yesterday']}", cookie("buyer1"), 'data-sku='),
            ("buyer: demand, one store, yesterday", f"/console/demand?date={chain['yesterday']}&store={sid}",
             cookie("buyer1"), 'data-sku='),
            ("buyer: demand, one store, 30-day trend",
             f"/console/demand?date={chain['yesterday']}&store={sid}&days=30", cookie("buyer1"), 'data-sku='),
            ("buyer: demand, whole chain, today (live)", f"/console/demand?date={chain['today']}",
             cookie("buyer1"), 'id="header"'),
            ("guide: open 团", "/console/tuans", cookie(f"g{sid}"), f'data-id="{gid}"'),
            ("guide: one 团's ledger", f"/console/tuans/{gid}", cookie(f"g{sid}"), '<tr data-no='),
            ("guide: 结团 preview", f"/console/tuans/{gid}/confirm?action=close", cookie(f"g{sid}"), 'data-k="reached"'),
            ("guide: pickup sheet", f"/console/tuans/{gid}/sheet", cookie(f"g{sid}"), 'id="pickup-sheet"'),
            ("guide: coupon campaigns", "/console/coupons", cookie(f"g{sid}"), f'data-id="{chain["campaign"]}"'),
            ("guide: one campaign per day", f"/console/coupons/{chain['campaign']}", cookie(f"g{sid}"),
             'data-k="issued-total"'),
            ("admin: open 团, every store", "/console/tuans", cookie("admin", "token"), f'data-id="{gid}"'),
            ("admin: health and lag", "/console/engineer/health", cookie("admin", "token"), 'data-stream="inbox"'),
            ("admin: stores", "/console/engineer/stores", cookie("admin", "token"), 'data-store="S0001"'),
            ("admin: dead letters", "/console/engineer/dead", cookie("admin", "token"), 'id="letters"'),
        ]
        async with ClientSession() as http:
            rows = []
            print(f"{'page':44} {'server CPU':>11} {'server wall':>12} {'x bare':>8} {'HTML':>8} {'first view':>11}",
                  flush=True)
            for label, path, cookies, marker in pages:
                TIMES.clear()
                repeat = 1 if "(live)" in label else args.repeat  # seconds a view: one is enough
                for i in range(repeat + 1):  # the first request warms caches and is not counted
                    async with http.get(f"http://127.0.0.1:{port}{path}", cookies=cookies,
                                        allow_redirects=False) as r:
                        body = await r.read()
                        assert r.status == 200, (label, r.status, body[:200])
                        assert marker.encode() in body, (label, marker, body[:300])  # the page, with its data
                    if i == 0:
                        cold = TIMES.pop(path)[0]
                samples = TIMES[path]
                cpu = statistics.median(c for c, _ in samples) * 1000
                wall = statistics.median(w for _, w in samples) * 1000
                rows.append((label, cpu, wall, len(body)))
                flag = "" if wall < TARGET_MS else f"  > {TARGET_MS} ms"
                print(f"{label:44} {cpu:8.2f} ms {wall:9.1f} ms {cpu / max(rows[0][1], 1e-6):7.0f}x "
                      f"{len(body) / 1000:6.0f} kB {cold[1] * 1000:8.0f} ms{flag}", flush=True)
        worst = max(r[2] for r in rows[1:])
        print(f"slowest page {worst:.0f} ms server wall (target {TARGET_MS} ms)")
    finally:
        if runner is not None:
            await runner.cleanup()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for i in range(0, len(keys), 500):
            await redis.delete(*keys[i:i + 500])
        await redis.aclose()


def main() -> None:
    # A stopped run still deletes its keys from the shared Redis (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    p = argparse.ArgumentParser()
    p.add_argument("--stores", type=int, default=1000)
    p.add_argument("--skus", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="100 stores, 1,000 SKUs")
    a = p.parse_args()
    if a.quick:
        a.stores, a.skus = 100, 1000
    asyncio.run(run(a))


if __name__ == "__main__":
    main()
