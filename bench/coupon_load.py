"""Coupon claims per second through the whole pipeline, against the bare Lua claim step.

Three processes on loopback and a real Redis (REDIS_URL, else 127.0.0.1:6379, else an embedded one):

  fake    the fake WeCom API (bot/fakewecom.py) with one extra route reporting when each kf reply
          arrived;
  service qunbot as deployed (`create_app(role="all")`: callback endpoint, inbox worker, outbox
          sender, 8 partitions) with every feature wired by handlers/__init__.py;
  main    the load generator. For each claim it queues the shopper's "抢券" at the fake
          (/sandbox/kf, as WeChat would) and POSTs a really signed and encrypted kf_msg_or_event
          callback; the service pulls kf/sync_msg, runs the claim, and replies with kf/send_msg.

A claim counts when its reply reached the fake: callback -> inbox -> worker (sync_msg) -> inbox ->
worker (Lua claim) -> outbox -> sender -> kf/send_msg. Baselines in the same run: the bare Lua claim
step (`Coupons.claim`) and the handler logic without the pipeline (`service.claim`), both with the
same concurrency, from this process.

The shopper channel (kf pull, gate, context, kf sender with its reply quota) runs in front of the
coupon handlers, and 接龙, digest and the rest behind them, exactly as handlers/__init__.py lists them.

    python bench/coupon_load.py [--claims 3000] [--connections 32] [--crowd 1000 --crowd-shoppers 400
                                 --crowd-stock 100]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._procs import free_ports, wait_port  # noqa: E402

TOKEN, KEY, CORP, KF = "benchToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwbenchcorp00001", "wkBench"
ADMIN = "bench-admin-token"


# -- the fake WeCom process ------------------------------------------------------------------------

def serve_fake(port: int) -> None:
    from aiohttp import web

    from bot.fakewecom import FAKE_KEY, FakeWeCom, create_fake_app

    state = FakeWeCom()
    state.KF_REPLIES = 10**6  # one reply per message here; the cap is not what is measured
    app = create_fake_app(state)

    async def sent(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        calls = request.app[FAKE_KEY].calls
        rows = [[c.body.get("touser"), c.time, c.body.get("text", {}).get("content", "")]
                for c in calls[since:] if c.path == "kf/send_msg" and c.errcode == 0 and isinstance(c.body, dict)]
        return web.json_response({"rows": rows, "next": len(calls)})

    app.router.add_get("/bench/sent", sent)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the service process ---------------------------------------------------------------------------

def serve_service(config_path: str) -> None:
    import logging

    from aiohttp import web

    from bot.app import create_app
    from bot.config import load

    logging.basicConfig(level=logging.WARNING)
    config = load(config_path)
    # The service exactly as deployed: handlers.ROUTERS and handlers.setup wire every feature.
    run = lambda: web.run_app(create_app(config, role="all"), host="127.0.0.1",  # noqa: E731
                              port=config.server.port, print=None, access_log=None)
    if os.environ.get("QB_BENCH_PROFILE"):  # where the service process spends its time
        import cProfile
        cProfile.runctx("run()", globals(), {"run": run}, os.environ["QB_BENCH_PROFILE"])
    else:
        run()


def service_config(path: Path, port: int, fake_port: int, redis_url: str, prefix: str) -> None:
    path.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
[redis]
url = "{redis_url}"
prefix = "{prefix}"
[wecom]
corp_id = "{CORP}"
api_base = "http://127.0.0.1:{fake_port}"
[wecom.app]
agent_id = 1000002
secret = "bench-secret"
token = "{TOKEN}"
encoding_aes_key = "{KEY}"
[admin]
token = "{ADMIN}"
[roles]
guides = ["xiaowang"]
[worker]
partitions = 8
[sender]
retry_base_seconds = 0.05
[[stores]]
id = "S01"
name = "压测店"
guides = ["xiaowang"]
kf = "{KF}"
""")


# -- load generation -------------------------------------------------------------------------------

def signed_event(crypto, token: str, i: int) -> tuple[str, bytes]:
    ts = str(int(time.time()))
    plain = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
             f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
             f"<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[{token}]]></Token>"
             f"<OpenKfId><![CDATA[{KF}]]></OpenKfId></xml>").encode()
    enc = crypto.encrypt(plain)
    nonce = str(secrets.randbelow(10**9))
    body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
    return f"/wecom/app?msg_signature={crypto.sign(ts, nonce, enc)}&timestamp={ts}&nonce={nonce}", body


async def pipeline_run(svc: int, fake: int, users: list[str], connections: int, label: str,
                       inbox=None) -> dict:
    """Claim once per entry of `users` (names may repeat) through callbacks; wait for every reply.

    With `inbox` (a PartitionedStream of the service's Redis) the shopper messages are put into the
    inbox directly, as the kf puller would, skipping the callback and kf/sync_msg hops.
    """
    import aiohttp

    from bot.crypto import Crypto
    from bot.message import Message

    crypto = Crypto(TOKEN, KEY, CORP)
    sent_at: dict[int, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections * 2)) as http:
        start_calls = (await (await http.get(f"http://127.0.0.1:{fake}/bench/sent?since=0")).json())["next"]
        queue = list(enumerate(users))
        errors = 0

        async def shooter() -> None:
            nonlocal errors
            while queue:
                i, user = queue.pop()
                sent_at[i] = time.time()
                r = await http.post(f"http://127.0.0.1:{fake}/sandbox/kf",
                                    json={"open_kfid": KF, "external_userid": user, "text": "抢券"})
                got = await r.json()
                if inbox is not None:
                    m = Message(id=f"kf:{got['msgid']}", channel="kf", conversation=f"kf:{KF}:{user}", sender=user,
                                sender_kind="customer", text="抢券", time=int(time.time()))
                    await inbox.put_batched(m.conversation, m.id, m.to_json())
                    continue
                path, body = signed_event(crypto, got["token"], i)
                r = await http.post(f"http://127.0.0.1:{svc}{path}", data=body)
                await r.read()
                errors += r.status != 200

        t0 = time.time()
        await asyncio.gather(*(shooter() for _ in range(connections)))
        t_sent = time.time()
        rows: list = []
        since = start_calls
        deadline = time.time() + 120
        while len(rows) < len(users) and time.time() < deadline:
            await asyncio.sleep(0.05)
            got = await (await http.get(f"http://127.0.0.1:{fake}/bench/sent?since={since}")).json()
            rows += got["rows"]
            since = got["next"]
    if len(rows) < len(users):
        raise RuntimeError(f"{label}: only {len(rows)} of {len(users)} replies arrived")
    t_last = max(r[1] for r in rows)
    # per-shopper latency: a shopper's k-th reply answers their k-th message
    by_user: dict[str, list[float]] = {}
    for i in sorted(sent_at, key=sent_at.get):
        by_user.setdefault(users[i], []).append(sent_at[i])
    lat = []
    for user, t, _ in sorted(rows, key=lambda r: r[1]):
        lat.append(t - by_user[user].pop(0))
    lat.sort()
    codes = [line.split("：", 1)[1] for _, _, c in rows for line in c.splitlines() if line.startswith("券码：")]
    return {"n": len(users), "claims_per_s": len(users) / (t_last - t0), "send_s": t_sent - t0,
            "p50_ms": statistics.median(lat) * 1000, "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
            "errors": errors, "issued_replies": sum(1 for _, _, c in rows if c.startswith("领到啦")),
            "distinct_codes": len(set(codes))}


async def baselines(redis_url: str, prefix: str, n: int, connections: int) -> dict:
    """The bare Lua claim step and the handler logic (service.claim) with the same concurrency."""
    from bot.config import Config, Store as StoreCfg
    from handlers.coupons import service
    from handlers.coupons.codes import new_code
    from handlers.coupons.rules import parse_campaign
    from handlers.coupons.shopper import contact_shopper
    from store import Store, connect

    cfg = Config(stores=(StoreCfg("S01", "压测店", kf=KF),))
    out = {}
    for name in ("bare Lua claim", "service.claim"):
        client = connect(redis_url, max_connections=connections * 2)
        store = Store(client, prefix=f"{prefix}b{len(out)}")
        now = time.time()
        spec = parse_campaign(f"基线券 无门槛5元 {n}张 每人1张 有效3天", service.local(now, cfg))
        cid = await service.create_campaign(store, spec, owner="S01", by="bench", now=now)
        await store.coupons.confirm(cid, by="bench", now=now)
        end = service.day_end(now, cfg)
        todo = list(range(n))

        async def one(i: int) -> str:
            if name == "bare Lua claim":
                c = await store.coupons.claim(cid, shopper=f"wb{i}", msg_id=f"b{i}", now=time.time(), day_end=end,
                                              store_id="S01", joined_at=None, target=f"{KF}:wb{i}", new_code=new_code)
                return c.status
            rep = await service.claim(store, cfg, contact_shopper("S01", f"wb{i}"), msg_id=f"b{i}", now=time.time())
            return "issued" if rep.issued else "other"

        async def worker() -> list[str]:
            got = []
            while todo:
                got.append(await one(todo.pop()))
            return got

        t0 = time.perf_counter()
        results = [s for part in await asyncio.gather(*(worker() for _ in range(connections))) for s in part]
        elapsed = time.perf_counter() - t0
        assert results.count("issued") == n, results[:5]
        out[name] = {"n": n, "claims_per_s": n / elapsed}
        await client.aclose()
    return out


def redis_url() -> tuple[str, object | None]:
    import redis

    from bot.redis_server import EmbeddedRedis
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        return url, None
    except Exception:
        server = EmbeddedRedis(tempfile.mkdtemp(prefix="qb-bench-"), port=free_ports(1)[0], appendonly=False)
        return server.start(), server


async def admin(svc: int, method: str, path: str, body: dict | None = None) -> dict:
    import aiohttp
    async with aiohttp.ClientSession() as http:
        r = await http.request(method, f"http://127.0.0.1:{svc}{path}", json=body,
                               headers={"Authorization": f"Bearer {ADMIN}"})
        return await r.json()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(args, name: str, coro) -> dict:
    """Run one scenario and add the CPU each process spent on it, per claim."""
    before = {k: cpu_seconds(pid) for k, pid in args.pids.items()}
    t0 = time.process_time()
    res = await coro
    res["cpu_ms"] = {k: (cpu_seconds(pid) - before[k]) * 1000 / res["n"] for k, pid in args.pids.items()}
    res["cpu_ms"]["main"] = (time.process_time() - t0) * 1000 / res["n"]
    return res


async def scenario(svc: int, fake: int, args) -> dict:
    results = {}
    # warm-up: imports, token fetch, connection pools, script loading
    warm = (await admin(svc, "POST", "/api/coupons/campaigns",
                        {"text": "预热券 无门槛1元 100张 有效3天", "store_id": "S01"}))["campaign"]["id"]
    await pipeline_run(svc, fake, [f"wmw{i}" for i in range(100)], args.connections, "warm-up")
    await admin(svc, "POST", f"/api/coupons/campaigns/{warm}/stop")

    n = args.claims
    cid = (await admin(svc, "POST", "/api/coupons/campaigns",
                       {"text": f"压测券 无门槛5元 {n}张 每人1张 有效3天", "store_id": "S01"}))["campaign"]["id"]
    run = await measured(args, "distinct",
                         pipeline_run(svc, fake, [f"wm{i}" for i in range(n)], args.connections, "distinct"))
    listed = next(c for c in (await admin(svc, "GET", "/api/coupons/campaigns?store_id=S01"))["campaigns"]
                  if c["id"] == cid)
    run["ledger_issued"] = listed["issued"]
    results[f"pipeline: {n} shoppers, stock {n}"] = run
    await admin(svc, "POST", f"/api/coupons/campaigns/{cid}/stop")

    # the same from the inbox on: what the claim costs in the worker/outbox/sender part of the pipeline
    import handlers  # noqa: F401  (imported before `store`: store.catalog -> handlers.qa -> store cycle)
    from store import Store, connect
    client = connect(args.redis_url, max_connections=args.connections * 2)
    inbox = Store(client, prefix=args.prefix, partitions=8).inbox
    cid = (await admin(svc, "POST", "/api/coupons/campaigns",
                       {"text": f"直投券 无门槛5元 {n}张 每人1张 有效3天", "store_id": "S01"}))["campaign"]["id"]
    run = await measured(args, "inbox", pipeline_run(svc, fake, [f"wmd{i}" for i in range(n)], args.connections,
                                                     "inbox", inbox=inbox))
    await client.aclose()
    listed = next(c for c in (await admin(svc, "GET", "/api/coupons/campaigns?store_id=S01"))["campaigns"]
                  if c["id"] == cid)
    run["ledger_issued"] = listed["issued"]
    results[f"from inbox (no callback, no sync_msg): {n}"] = run
    await admin(svc, "POST", f"/api/coupons/campaigns/{cid}/stop")

    # the contention case: 1,000 claims from 400 shoppers at 100 codes
    cid = (await admin(svc, "POST", "/api/coupons/campaigns",
                       {"text": f"抢购券 满50减10 {args.crowd_stock}张 每人1张 有效3天", "store_id": "S01"}))["campaign"]["id"]
    # at most 5 messages per shopper: kf allows 5 replies per customer message, and when all of a
    # shopper's messages are pulled before the first reply goes out, only 5 replies in total
    rng = random.Random(1)
    crowd: list[str] = []
    while len(crowd) < args.crowd:
        who = f"wmc{rng.randrange(args.crowd_shoppers)}"
        if crowd.count(who) < 5:
            crowd.append(who)
    run = await measured(args, "contention", pipeline_run(svc, fake, crowd, args.connections, "contention"))
    listed = next(c for c in (await admin(svc, "GET", "/api/coupons/campaigns?store_id=S01"))["campaigns"]
                  if c["id"] == cid)
    run["ledger_issued"] = listed["issued"]
    results[f"pipeline: {args.crowd} claims, {args.crowd_shoppers} shoppers, stock {args.crowd_stock}"] = run
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=3000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--crowd", type=int, default=1000, help="claims in the contention run")
    ap.add_argument("--crowd-shoppers", type=int, default=400)
    ap.add_argument("--crowd-stock", type=int, default=100)
    ap.add_argument("--fake", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fake:
        return serve_fake(args.fake)
    if args.serve:
        return serve_service(args.serve)

    url, embedded = redis_url()
    prefix = f"benchcp{uuid.uuid4().hex[:6]}"
    args.redis_url, args.prefix = url, prefix
    fake_port, svc_port = free_ports(2)
    cfg = Path(tempfile.mkdtemp()) / "coupon-bench.toml"
    service_config(cfg, svc_port, fake_port, url, prefix)
    procs = []
    try:
        for cmd, port in (([sys.executable, __file__, "--fake", str(fake_port)], fake_port),
                          ([sys.executable, __file__, "--serve", str(cfg)], svc_port)):
            procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL))
            wait_port(port, procs[-1])
        args.pids = {"fake": procs[0].pid, "service": procs[1].pid}
        results = asyncio.run(scenario(svc_port, fake_port, args))
        results.update(asyncio.run(baselines(url, prefix, args.claims, args.connections)))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        import redis
        r = redis.Redis.from_url(url)
        keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i:i + 500])
        if embedded:
            embedded.stop()

    print(f"coupon claim benchmark: {args.connections} concurrent shoppers, Redis {url}, cpus {os.cpu_count()}")
    print("claims/s = claims / (first message -> last reply at the fake WeCom); p50/p99 = one shopper's message ->")
    print("its reply while the whole burst is queued (so mostly queueing); CPU = per claim, per process")
    print(f"{'run':<48} {'claims/s':>9} {'p50 ms':>8} {'p99 ms':>8}  check")
    for name, r in results.items():
        check = ""
        if "issued_replies" in r:
            check = (f"replies {r['n']}, issued {r['issued_replies']}, distinct codes {r['distinct_codes']}, "
                     f"ledger {r['ledger_issued']}, non-200 {r['errors']}")
        p50 = f"{r['p50_ms']:>8.1f}" if "p50_ms" in r else f"{'-':>8}"
        p99 = f"{r['p99_ms']:>8.1f}" if "p99_ms" in r else f"{'-':>8}"
        print(f"{name:<48} {r['claims_per_s']:>9.0f} {p50} {p99}  {check}")
        if "cpu_ms" in r:
            print(f"{'':<48} CPU ms per claim: " + ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_ms"].items()))
    pipe = results[f"pipeline: {args.claims} shoppers, stock {args.claims}"]["claims_per_s"]
    bare = results["bare Lua claim"]["claims_per_s"]
    print(f"pipeline / bare Lua claim: {pipe / bare:.2f}   pipeline / service.claim: "
          f"{pipe / results['service.claim']['claims_per_s']:.2f}")


if __name__ == "__main__":
    main()
