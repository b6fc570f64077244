"""A 1,000-store chain on one worker process: CPU per shopper message against a minimal Redis loop.

Processes, all on loopback, all started here:

  redis   its own redis-server on a free port (bot/redis_server.EmbeddedRedis; never the shared one)
  fake    the fake WeCom API (bot/fakewecom.py) plus /bench/sent, the kf replies it accepted
  web     `qunbot serve --role web`: signed callbacks in, admin API
  worker  `create_app(role="worker")` as deployed (inbox worker, outbox sender, scheduler), plus a
          /bench/stats route and three wrappers that only observe: Worker.handle and Sender.handle
          add their CPU time to a stage (pull = the kf_msg_or_event entry whose handling pulls
          kf/sync_msg, handle = the shopper's message, send = the outbox entry), and every Redis
          round trip (one send_packed_command: a command, a pipeline or a script call) is counted
          against the stage whose task issued it. XACK runs in the same task right after handle,
          so it counts to that stage; reads and leases of the partition loops count as "consumer".

The chain: catalog_gen's 5,000 SKUs in every store, per-store price and stock on 10% of them
(a row per store), 20 stores with local products; imported with `qunbot catalog import`. One
chain-wide coupon campaign (admin API) and one open 团 in each of 50 stores (a guide's /开团 and
确认 through signed app callbacks). Shoppers are distinct kf users, each through their store's kf
account: the fake queues the message and the web process gets a real signed kf_msg_or_event.

Measured, in order:
  1. the first question after start (includes building a Q&A index);
  2. one question in every store (RSS after it; stops early at --rss-limit or --cold-seconds and
     says so, with the RSS per store extrapolated);
  3. a sequential probe per kind (one message in flight): CPU per stage;
  4. a concurrent run per kind: the worker process's whole CPU per message (pull + handle + send,
     from /proc, including its partition loops), Redis round trips per message per stage;
  5. the baseline: XREADGROUP + one Lua step + XADD + XACK, each awaited, CPU per loop, measured
     before and after each concurrent run; a kind's ratio is against the mean of the two around it.

With --workers 2: a second worker process starts 5 s after the first under a steady 领券 load;
printed is the share of messages it handled within 10 s of starting (target >= 1/3).

    python bench/chain_scale.py [--quick] [--stores 1000] [--skus 5000] [--workers 1|2]
"""
from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench._procs import free_ports, wait_port  # noqa: E402

TOKEN, KEY, CORP = "benchToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwbenchcorp00001"
ADMIN = "bench-admin-token"
TARGETS = {"question": 8.0, "plus1": 8.0, "coupon": 6.0}
RSS_TARGET_MB = 1536


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            vals[line[:5]] = int(line.split()[1]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


# -- the fake WeCom process ------------------------------------------------------------------------

def serve_fake(port: int) -> None:
    from aiohttp import web

    from bot.fakewecom import FAKE_KEY, FakeWeCom, create_fake_app

    state = FakeWeCom()
    app = create_fake_app(state)

    async def sent(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        calls = request.app[FAKE_KEY].calls
        rows = [[c.body.get("touser"), c.time, c.errcode]
                for c in calls[since:] if c.path in ("kf/send_msg", "message/send") and isinstance(c.body, dict)]
        return web.json_response({"rows": rows, "next": len(calls)})

    app.router.add_get("/bench/sent", sent)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the worker process ----------------------------------------------------------------------------

STAGE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_stage", default="consumer")


def _command_name(command) -> str:
    first = command[0] if isinstance(command, (list, tuple)) else command
    if isinstance(first, memoryview):
        first = bytes(first)
    try:  # *N\r\n$len\r\nNAME\r\n
        return first.split(b"\r\n", 3)[2].decode().upper()
    except Exception:
        return "?"


def serve_worker(config_path: str, port: int) -> None:
    """create_app(role="worker") as deployed, with observers on the stages and the Redis socket."""
    import logging

    import redis.asyncio.connection as rconn
    from aiohttp import web

    from bot.app import create_app
    from bot.config import load
    from bot.sender import Sender
    from bot.worker import Worker

    logging.basicConfig(level=logging.WARNING)
    stats = {"cpu": defaultdict(float), "n": defaultdict(int), "rt": defaultdict(int),
             "consumer_cmds": defaultdict(int), "packets": defaultdict(int), "thread_cpu": defaultdict(float),
             "gc": defaultdict(float)}
    # Where a stage's process CPU goes besides its own code: other threads (thread_cpu is this
    # thread's only) and the cyclic GC (its pauses, by the stage that was running).
    import gc
    gc_started = [0.0]

    def gc_timer(phase, info):
        if phase == "start":
            gc_started[0] = time.process_time()
        else:
            stats["gc"][STAGE.get()] += time.process_time() - gc_started[0]
    gc.callbacks.append(gc_timer)
    # --show-trips: every packet's command names, by stage (costs the worker some CPU of its own)
    show = os.environ.get("QB_BENCH_TRIPS") == "1"
    from roundtrips import RoundTrips
    names = RoundTrips()
    import re as _re

    from store.lua import HERE, script
    scripts = {script(f.stem).sha.encode(): f.stem for f in HERE.glob("*.lua")}
    sha_re = _re.compile(rb"EVALSHA\r\n\$40\r\n([0-9a-f]{40})", _re.I)

    def packet(command) -> str:
        raw = command if isinstance(command, bytes) else b"".join(bytes(c) for c in command)
        names.note(raw)
        shas = [scripts.get(m.group(1), "?") for m in sha_re.finditer(raw)]
        out = []
        for n in names.log.pop():
            out.append(f"EVALSHA({shas.pop(0)})" if n == "EVALSHA" and shas else n)
        return " ".join(out)

    send_packed = rconn.AbstractConnection.send_packed_command

    async def counted_send(self, command, check_health=True):
        stage = STAGE.get()
        stats["rt"][stage] += 1
        if stage == "consumer":
            stats["consumer_cmds"][_command_name(command)] += 1
        if show:
            stats["packets"][f"{stage}: {packet(command)}"] += 1
        return await send_packed(self, command, check_health)

    rconn.AbstractConnection.send_packed_command = counted_send

    def timed(orig, classify):
        async def handle(self, entry):
            stage = classify(entry.data)
            STAGE.set(stage)  # left set: the XACK after handle runs in this task and counts here
            t0, th0 = time.process_time(), time.thread_time()
            try:
                return await orig(self, entry)
            finally:
                stats["cpu"][stage] += time.process_time() - t0
                stats["thread_cpu"][stage] += time.thread_time() - th0
                stats["n"][stage] += 1
        return handle

    def inbox_stage(data: str) -> str:
        if '"kf_msg_or_event"' in data:
            return "pull"
        if '"kind":"schedule"' in data:
            return "jobs"
        return "handle"

    Worker.handle = timed(Worker.handle, inbox_stage)
    Sender.handle = timed(Sender.handle, lambda data: "send")

    app = create_app(load(config_path), role="worker")

    async def stats_route(request: web.Request) -> web.Response:
        rss, hwm = proc_rss_mb(os.getpid())
        return web.json_response({**{k: dict(v) for k, v in stats.items()}, "rss_mb": rss, "hwm_mb": hwm,
                                  "process_cpu": time.process_time(), "pid": os.getpid()})

    app.router.add_get("/bench/stats", stats_route)
    profile = {}

    async def profile_route(request: web.Request) -> web.Response:
        """--profile: cProfile (CPU time) of the worker between /bench/profile?on=1 and ?on=0."""
        import cProfile
        if request.query.get("on") == "1":
            profile["p"] = cProfile.Profile(time.process_time)
            profile["p"].enable()
        return web.json_response({})

    async def profile_stop(request: web.Request) -> web.Response:
        pr = profile.pop("p", None)
        if pr is not None:
            pr.disable()
            pr.dump_stats(request.query["path"])
        return web.json_response({})

    app.router.add_get("/bench/profile", profile_route)
    app.router.add_get("/bench/profile_stop", profile_stop)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- setup -----------------------------------------------------------------------------------------

def write_config(path: Path, *, port: int, fake: int, redis_url: str, prefix: str, stores: list[str]) -> None:
    lines = [f"""
[server]
host = "127.0.0.1"
port = {port}
[redis]
url = "{redis_url}"
prefix = "{prefix}"
[wecom]
corp_id = "{CORP}"
api_base = "http://127.0.0.1:{fake}"
[wecom.app]
agent_id = 1000002
secret = "bench-secret"
token = "{TOKEN}"
encoding_aes_key = "{KEY}"
[admin]
token = "{ADMIN}"
[worker]
partitions = 8
[sender]
retry_base_seconds = 0.05
[qa]
max_import_bytes = 134217728
[schedule]
# a per-minute pull of every kf account is a fixed cost, not a per-message one: kept out of the window
kf_safety_pull = "0 4 * * *"
"""]
    for sid in stores:
        lines.append(f'[[stores]]\nid = "{sid}"\nname = "{sid}店"\nguides = ["g{sid}"]\nkf = "wk{sid}"\n')
    path.write_text("\n".join(lines))


class Chain:
    """Talks to the running processes: sends shopper and guide messages, waits for replies."""

    def __init__(self, web_port: int, fake_port: int, http) -> None:
        from bot.crypto import Crypto
        self.web, self.fake, self.http = web_port, fake_port, http
        self.crypto = Crypto(TOKEN, KEY, CORP)
        self.since = 0
        self.replies: dict[str, int] = defaultdict(int)
        self.failed = 0
        self._polling = asyncio.Lock()  # one reader of the fake's log at a time, so no row counts twice

    def _signed(self, plain: str) -> tuple[str, bytes]:
        ts = str(int(time.time()))
        enc = self.crypto.encrypt(plain.encode())
        nonce = str(secrets.randbelow(10**9))
        body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
        return f"/wecom/app?msg_signature={self.crypto.sign(ts, nonce, enc)}&timestamp={ts}&nonce={nonce}", body

    async def _post_callback(self, plain: str) -> None:
        path, body = self._signed(plain)
        r = await self.http.post(f"http://127.0.0.1:{self.web}{path}", data=body)
        await r.read()
        if r.status != 200:
            raise RuntimeError(f"callback answered {r.status}: {await r.text()}")

    async def shopper(self, store: str, user: str, text: str) -> None:
        r = await self.http.post(f"http://127.0.0.1:{self.fake}/sandbox/kf",
                                 json={"open_kfid": f"wk{store}", "external_userid": user, "text": text})
        got = await r.json()
        ts = int(time.time())
        await self._post_callback(
            f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[{got['token']}]]></Token>"
            f"<OpenKfId><![CDATA[wk{store}]]></OpenKfId></xml>")

    async def guide(self, user: str, text: str) -> None:
        ts = int(time.time())
        await self._post_callback(
            f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{secrets.randbits(62)}</MsgId>"
            f"<AgentID>1000002</AgentID></xml>")

    async def poll_replies(self) -> None:
        async with self._polling:
            got = await (await self.http.get(f"http://127.0.0.1:{self.fake}/bench/sent?since={self.since}")).json()
            for user, _, errcode in got["rows"]:
                if errcode == 0:
                    self.replies[user] += 1
                else:
                    self.failed += 1
            self.since = got["next"]

    async def wait_replies(self, users: list[str], stall: float = 30.0) -> int:
        """Wait until each user has a reply; give up after `stall` s without progress. Missing count."""
        last, last_t = -1, time.monotonic()
        while True:
            await self.poll_replies()
            missing = sum(1 for u in users if self.replies[u] == 0)
            if missing == 0:
                return 0
            if missing != last:
                last, last_t = missing, time.monotonic()
            elif time.monotonic() - last_t > stall:
                return missing
            await asyncio.sleep(0.02)

    async def burst(self, msgs: list[tuple[str, str, str]], connections: int,
                    seconds: float = float("inf")) -> tuple[int, int]:
        """Send (store, user, text) messages with `connections` in flight, none after `seconds`;
        wait for every reply. Returns (sent, missing replies)."""
        queue = list(reversed(msgs))
        deadline = time.monotonic() + seconds
        sent: list[str] = []
        unanswered: set[str] = set()

        async def shooter() -> None:
            while queue and time.monotonic() < deadline:
                store, user, text = queue.pop()
                sent.append(user)
                unanswered.add(user)
                await self.shopper(store, user, text)
                # no more than a few messages per connection waiting, so a slow kind stops on time
                while len(unanswered) > 4 * connections and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    if not self._polling.locked():
                        await self.poll_replies()
                    unanswered.difference_update([u for u in unanswered if self.replies[u]])

        await asyncio.gather(*(shooter() for _ in range(connections)))
        return len(sent), await self.wait_replies(sent)


async def admin(http, port: int, method: str, path: str, **kw) -> dict:
    headers = {"Authorization": f"Bearer {ADMIN}", **kw.pop("headers", {})}
    r = await http.request(method, f"http://127.0.0.1:{port}{path}", headers=headers, **kw)
    data = await r.json()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: {r.status} {data}")
    return data


class WorkerProbe:
    def __init__(self, http, port: int, pid: int) -> None:
        self.http, self.port, self.pid = http, port, pid

    async def stats(self) -> dict:
        s = await (await self.http.get(f"http://127.0.0.1:{self.port}/bench/stats")).json()
        s["proc"] = s["process_cpu"]  # the worker's own process_time: finer than /proc's clock ticks
        return s


def diff(a: dict, b: dict) -> dict:
    out = {"proc": b["proc"] - a["proc"]}
    for k in ("cpu", "n", "rt", "consumer_cmds", "packets", "thread_cpu", "gc"):
        out[k] = {s: b[k].get(s, 0) - a[k].get(s, 0) for s in set(a[k]) | set(b[k])}
    return out


# -- the baseline ----------------------------------------------------------------------------------

_LUA = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', 600) then
  return redis.call('HINCRBY', KEYS[2], 'n', 1)
end
return 0
"""


async def minimal_loop(url: str, n: int) -> float:
    """CPU µs of one XREADGROUP + Lua step + XADD + XACK round, each awaited, on this process."""
    from store import connect

    r = connect(url)
    src, dst, grp = "benchloop:in", "benchloop:out", "g"
    await r.delete(src, dst)
    await r.xgroup_create(src, grp, id="0", mkstream=True)
    payload = json.dumps({"id": "kf:x", "channel": "kf", "conversation": "kf:wkS0001:wm1", "text": "草莓多少钱一斤",
                          "sender": "wm1", "sender_kind": "customer", "raw": {"pad": "x" * 200}}, ensure_ascii=False)
    async with r.pipeline(transaction=False) as pipe:
        for i in range(n + 200):
            pipe.xadd(src, {"k": f"c{i}", "d": payload})
        await pipe.execute()
    script = r.register_script(_LUA)

    async def once(i: int) -> None:
        res = await r.xreadgroup(grp, "c1", {src: ">"}, count=1)
        eid, fields = res[0][1][0]
        await script(keys=[f"benchloop:seen:{i}", "benchloop:h"], args=[fields[b"k"]])
        await r.xadd(dst, {"k": fields[b"k"], "d": fields[b"d"]}, maxlen=100_000, approximate=True)
        await r.xack(src, grp, eid)

    for i in range(200):
        await once(i)
    t0 = time.process_time()
    for i in range(200, n + 200):
        await once(i)
    cpu = (time.process_time() - t0) / n
    await r.delete(src, dst, "benchloop:h")
    await r.aclose()
    return cpu * 1e6


# -- scenarios -------------------------------------------------------------------------------------

def question_texts(rows: list[dict], rng: random.Random, store: str, local: dict[str, list[dict]]) -> str:
    pool = local.get(store) if local.get(store) and rng.random() < 0.5 else rows
    row = rng.choice(pool)
    alias = rng.choice([row["name"], *[a for a in row["aliases"].split("|") if a]])
    return rng.choice(("{}多少钱", "{}还有货吗", "有没有{}", "{}什么价", "{}怎么卖", "请问{}有吗")).format(alias)


async def setup_chain(args, http, web: int, rows: list[dict]) -> dict:
    """Campaign, 团 in 50 stores; returns what the scenarios need."""
    await admin(http, web, "POST", "/api/coupons/campaigns",
                json={"text": "全店券 无门槛5元 100000张 每人1张 有效3天 全部门店", "store_id": args.store_list[0]})
    step = max(1, len(args.store_list) // args.groupbuys)
    gb_stores = args.store_list[::step][:args.groupbuys]
    return {"gb_stores": gb_stores}


async def open_groupbuys(chain: Chain, http, web: int, gb_stores: list[str], rows: list[dict]) -> int:
    """A guide of each store opens one 团 by chat (/开团 then 确认), as guides do."""
    chain_wide = [r for r in rows if not r["stores"]]
    for i, sid in enumerate(gb_stores):
        row = chain_wide[i % len(chain_wide)]
        await chain.guide(f"g{sid}", f"/开团 {row['name']} 9.9元/{row['unit'] or '份'} 限5000{row['unit'] or '份'} "
                                     f"每人限4{row['unit'] or '份'} 截止明早9点半 自提周六10-12点服务台")
    # The first /开团 indexes the catalog's names (once per process and catalog version): a chain's
    # half a million rows take a while to read.
    await chain.wait_replies([f"g{s}" for s in gb_stores], stall=180)
    for sid in gb_stores:
        await chain.guide(f"g{sid}", "确认开团")
    deadline = time.monotonic() + 60
    opened = 0
    while time.monotonic() < deadline:
        opened = len((await admin(http, web, "GET", f"/api/groupbuys?status=open&limit=1000"))["groupbuys"])
        if opened >= len(gb_stores):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    return opened


def kind_messages(kind: str, n: int, tag: str, ctx: dict, rng: random.Random) -> list[tuple[str, str, str]]:
    out = []
    for i in range(n):
        user = f"wm{tag}{kind[:2]}{i}"
        if kind == "question":
            store = rng.choice(ctx["warm_stores"])
            out.append((store, user, question_texts(ctx["rows"], rng, store, ctx["local"])))
        elif kind == "plus1":
            out.append((rng.choice(ctx["gb_stores"]), user, rng.choice(("+1", "我要两份", "+2", "接龙"))))
        else:
            out.append((rng.choice(ctx["store_list"]), user, rng.choice(("领券", "抢券", "有券吗"))))
    return out


REDIS_URL = ""  # set in main(): the run's own redis-server, for its CPU counters


def redis_cpu() -> float:
    """The Redis server's CPU seconds so far (user + sys, INFO cpu): what one node can carry."""
    import redis
    info = redis.Redis.from_url(REDIS_URL).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def measure(chain: Chain, probe: WorkerProbe, msgs, connections: int, seconds: float) -> dict:
    before = await probe.stats()
    cpu0 = redis_cpu()
    t0 = time.monotonic()
    n, missing = await chain.burst(msgs, connections, seconds)
    wall = time.monotonic() - t0
    await asyncio.sleep(0.3)  # multi-part replies and the last XACKs
    d = diff(before, await probe.stats())
    d.update(n=n, missing=missing, wall=wall, planned=len(msgs), redis_cpu=redis_cpu() - cpu0)
    return d


async def sequential(chain: Chain, probe: WorkerProbe, msgs, seconds: float) -> dict:
    before = await probe.stats()
    missing = n = 0
    deadline = time.monotonic() + seconds
    for store, user, text in msgs:
        if time.monotonic() > deadline:
            break
        await chain.shopper(store, user, text)
        missing += await chain.wait_replies([user], stall=30)
        n += 1
    await asyncio.sleep(0.2)
    d = diff(before, await probe.stats())
    d.update(n=n, missing=missing, planned=len(msgs))
    return d


async def cold_every_store(args, chain: Chain, probe: WorkerProbe, ctx: dict) -> dict:
    """One question in each store, `connections` stores at a time, until every store has answered."""
    rng = random.Random(7)
    before = await probe.stats()
    t0 = time.monotonic()
    answered: list[str] = []
    stopped = ""
    stores = list(args.store_list)
    for i in range(0, len(stores), args.connections):
        wave = stores[i:i + args.connections]
        msgs = [(s, f"wm{args.tag}cold{s}", question_texts(ctx["rows"], rng, s, ctx["local"])) for s in wave]
        await chain.burst(msgs, args.connections)
        answered += wave
        rss, _ = proc_rss_mb(probe.pid)
        if rss > args.rss_limit:
            stopped = f"stopped at RSS {rss:.0f} MB > --rss-limit {args.rss_limit} MB"
            break
        if time.monotonic() - t0 > args.cold_seconds:
            stopped = f"stopped after --cold-seconds {args.cold_seconds}"
            break
    d = diff(before, await probe.stats())
    rss, hwm = proc_rss_mb(probe.pid)
    d.update(n=len(answered), wall=time.monotonic() - t0, rss=rss, hwm=hwm, stopped=stopped, answered=answered)
    return d


async def rebalance(args, chain: Chain, http, start_second) -> dict:
    """Steady 领券 load; a second worker starts 5 s in; its share of handled messages in its first 10 s."""
    rng = random.Random(11)
    probes: list[WorkerProbe] = [args.probe]
    samples: list[tuple[float, list[int]]] = []
    t0 = time.monotonic()
    sent = 0
    joined_at = ready_at = None
    period = 1.0 / args.rate
    end = 5 + 10 + 2  # moved out to 10 s after worker 2 answers, if it takes long to start
    next_at = t0

    async def sampler() -> None:
        while ready_at is None or time.monotonic() - t0 < end + 1:
            counts = []
            for p in probes:
                try:
                    counts.append((await p.stats())["n"].get("handle", 0))
                except Exception:
                    counts.append(0)
            samples.append((time.monotonic() - t0, counts))
            await asyncio.sleep(0.25)

    task = asyncio.create_task(sampler())
    pending = set()
    while time.monotonic() - t0 < end:
        if joined_at is None and time.monotonic() - t0 >= 5:
            joined_at = time.monotonic() - t0
            probes.append(await asyncio.to_thread(start_second))
            ready_at = time.monotonic() - t0  # its HTTP port answers: imports and set-up are done
            end = max(end, ready_at + 10 + 1)
        store = rng.choice(args.store_list)
        pending.add(asyncio.create_task(chain.shopper(store, f"wm{args.tag}rb{sent}", "领券")))
        sent += 1
        next_at += period  # paced by the clock, not by how long each send took
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*pending)
    await task
    # messages handled by each worker between joined_at and joined_at + 10
    def at(t: float) -> list[int]:
        best = min(samples, key=lambda s: abs(s[0] - t))[1]
        return best + [0] * (len(probes) - len(best))
    a, b = at(joined_at), at(joined_at + 10)
    handled = [b[i] - a[i] for i in range(len(probes))]
    a, b = at(ready_at), at(ready_at + 10)
    handled_ready = [b[i] - a[i] for i in range(len(probes))]
    return {"sent": sent, "joined_at": joined_at, "ready_at": ready_at, "handled": handled,
            "handled_ready": handled_ready}


# -- main ------------------------------------------------------------------------------------------

def per_msg(d: dict, key: str, stage: str) -> float:
    return d[key].get(stage, 0) / max(d["n"], 1)


async def run(args, ports: dict, procs: dict, rows: list[dict]) -> dict:
    import aiohttp

    res: dict = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.connections * 4)) as http:
        chain = Chain(ports["web"], ports["fake"], http)
        t = time.monotonic()
        await admin(http, ports["web"], "POST", "/api/catalog?kind=faq", data=(ROOT / "data" / "faq.csv").read_bytes(),
                    headers={"Content-Type": "text/csv"})
        ctx = {"rows": [r for r in rows if not r["stores"]], "store_list": args.store_list, "local": defaultdict(list)}
        for r in rows:
            if r["sku"].startswith("L"):
                ctx["local"][r["stores"]].append(r)
        ctx.update(await setup_chain(args, http, ports["web"], rows))

        procs["worker"] = args.start_worker("w1")
        wport = args.worker_ports[0]
        probe = WorkerProbe(http, wport, procs["worker"].pid)
        args.probe = probe
        import_s = await asyncio.to_thread(args.import_catalog, args.chain_csv)
        opened = await open_groupbuys(chain, http, ports["web"], ctx["gb_stores"], rows)
        res["setup"] = {"groupbuys_open": opened, "seconds": time.monotonic() - t, "import_s": import_s}

        # idle: what the partition loops and the scheduler cost per second
        s0 = await probe.stats()
        await asyncio.sleep(3)
        res["idle_cpu_per_s"] = (await probe.stats())["proc"] - s0["proc"]
        res["idle_cpu_per_s"] /= 3

        if args.workers == 2:
            def start_second() -> WorkerProbe:
                procs["worker2"] = args.start_worker("w2")
                return WorkerProbe(http, args.worker_ports[1], procs["worker2"].pid)
            res["rebalance"] = await rebalance(args, chain, http, start_second)
            return res

        # 1. the first question after start: builds the first index
        first_store = args.store_list[0]
        b = await probe.stats()
        t = time.monotonic()
        await chain.shopper(first_store, f"wm{args.tag}first", question_texts(ctx["rows"], random.Random(1),
                                                                               first_store, ctx["local"]))
        res["first_missing"] = await chain.wait_replies([f"wm{args.tag}first"], stall=120)
        res["first"] = {"wall": time.monotonic() - t, "cpu": (await probe.stats())["proc"] - b["proc"]}

        # 2. one question in every store
        cold = await cold_every_store(args, chain, probe, ctx)
        res["cold"] = cold
        ctx["warm_stores"] = cold["answered"]

        rng = random.Random(5)
        # 3. sequential probe: CPU per stage
        res["probe"] = {}
        for kind in ("question", "plus1", "coupon"):
            if args.profile:
                await http.get(f"http://127.0.0.1:{wport}/bench/profile?on=1")
            res["probe"][kind] = await sequential(chain, probe, kind_messages(kind, args.probe_n, f"{args.tag}p", ctx, rng),
                                                  args.probe_seconds)
            if args.profile:
                await http.get(f"http://127.0.0.1:{wport}/bench/profile_stop?path={args.profile}.{kind}")
        # 4. concurrent runs: whole-process CPU per message, round trips per stage
        # 5. the baseline, right before and after each kind's run: the machine's load moves during a
        # long run, and each kind is compared with the loop measured around it.
        res["runs"], loops = {}, [await minimal_loop(args.redis_url, args.loop_n)]
        for kind in ("question", "plus1", "coupon"):
            res["runs"][kind] = await measure(chain, probe, kind_messages(kind, args.n, f"{args.tag}c", ctx, rng),
                                              args.connections, args.phase_seconds)
            loops.append(await minimal_loop(args.redis_url, args.loop_n))
            res["runs"][kind]["loop_us"] = (loops[-2] + loops[-1]) / 2
        res["loops"] = loops
        res["loop_us"] = sum(loops) / len(loops)
        res["kf_send_failed"] = chain.failed
    return res


def report(args, res: dict, n_rows: int) -> None:
    p = print
    p(f"chain scale: {len(args.store_list)} stores, {args.skus} SKUs ({n_rows} catalog rows), {args.groupbuys} stores "
      f"with an open 团, 1 chain-wide campaign, {args.workers} worker process(es), cpus {os.cpu_count()}")
    p(f"chain catalog import (`qunbot catalog import`, parse + store): {res['setup']['import_s']:.1f} s wall; "
      f"groupbuys open: {res['setup']['groupbuys_open']}; worker idle CPU {res['idle_cpu_per_s'] * 1000:.1f} ms/s")
    if args.workers == 2:
        rb = res["rebalance"]
        total = sum(rb["handled"]) or 1
        share = rb["handled"][1] / total if len(rb["handled"]) > 1 else 0.0
        p(f"2 workers: {rb['sent']} 领券 at {args.rate}/s; worker 2 started at t={rb['joined_at']:.1f} s; "
          f"in its first 10 s: worker 1 handled {rb['handled'][0]}, worker 2 handled "
          f"{rb['handled'][1] if len(rb['handled']) > 1 else 0}")
        p(f"worker 2 share: {share:.2f}  (target >= 0.33)  {'OK' if share >= 1 / 3 else 'MISSED'}")
        hr = rb["handled_ready"]
        p(f"worker 2 answered on its port at t={rb['ready_at']:.1f} s; in the 10 s after that: worker 1 {hr[0]}, "
          f"worker 2 {hr[1]} (share {hr[1] / (sum(hr) or 1):.2f})")
        return
    loop = res["loop_us"]
    first = res["first"]
    p(f"first question after start (builds an index): {first['wall']:.2f} s wall, {first['cpu']:.2f} s worker CPU")
    cold = res["cold"]
    per_store_mb = cold["rss"] / max(cold["n"], 1)
    p(f"one question in each of {cold['n']} stores: {cold['wall']:.1f} s wall, "
      f"{cold['proc'] / max(cold['n'], 1) * 1000:.1f} ms worker CPU per store (index build included)"
      + (f"  [{cold['stopped']}]" if cold["stopped"] else ""))
    p(f"RSS after it: {cold['rss']:.0f} MB (peak {cold['hwm']:.0f} MB)  target <= {RSS_TARGET_MB} MB for "
      f"{len(args.store_list)} stores" + (f"; at this rate {len(args.store_list)} stores need "
                                           f"~{per_store_mb * len(args.store_list) / 1024:.1f} GB" if cold["stopped"] else ""))
    p(f"minimal Redis loop (XREADGROUP + Lua + XADD + XACK, each awaited): {loop:.0f} µs CPU per message "
      f"(measured before and after each concurrent run: {', '.join(f'{x:.0f}' for x in res['loops'])})")
    p("")
    p("sequential probe, one message in flight: worker CPU µs per message by stage "
      "(consumer = partition loops, reads, leases, idle)")
    p(f"{'kind':<10} {'n':>5}  {'pull':>8} {'handle':>8} {'send':>8} {'consumer':>9} {'total':>8} {'handle/loop':>12}")
    for kind, d in res["probe"].items():
        stages = {s: per_msg(d, "cpu", s) * 1e6 for s in ("pull", "handle", "send")}
        total = d["proc"] / d["n"] * 1e6
        p(f"{kind:<10} {d['n']:>5}{'*' if d['n'] < d['planned'] else ' '}{stages['pull']:>8.0f} {stages['handle']:>8.0f} {stages['send']:>8.0f} "
          f"{total - sum(stages.values()):>9.0f} {total:>8.0f} {stages['handle'] / loop:>11.1f}x"
          + ("  (stages overlap other work: a backlog ran meanwhile; not a clean split)"
             if sum(stages.values()) > total * 1.05 or d["missing"] else ""))
    p("of which: CPU of other threads (process - this thread's) during the handle stage; cyclic GC pauses "
      "(any stage, by the stage running)")
    for kind, d in res["probe"].items():
        other = per_msg(d, "cpu", "handle") - per_msg(d, "thread_cpu", "handle")
        p(f"{kind:<10} handle: other threads {other * 1e6:6.0f} µs, GC {per_msg(d, 'gc', 'handle') * 1e6:6.0f} µs; "
          f"GC over all stages {sum(d['gc'].values()) / max(d['n'], 1) * 1e6:6.0f} µs per message")
    p("")
    p(f"concurrent runs ({args.connections} in flight): worker process CPU per message (pull + handle + send) "
      f"against the minimal loop; Redis round trips per message by stage (XACK counted in its stage)")
    p(f"{'kind':<10} {'n':>5} {'msg/s':>7} {'CPU µs':>8} {'loop µs':>8} {'ratio':>7} {'target':>7}   "
      f"{'rt pull':>7} {'handle':>7} {'send':>6} {'consumer':>8} {'Redis µs':>8}  missing")
    for kind, d in res["runs"].items():
        total = d["proc"] / d["n"] * 1e6
        ratio = total / d["loop_us"]
        verdict = "OK" if ratio <= TARGETS[kind] else "MISSED"
        p(f"{kind:<10} {d['n']:>5} {d['n'] / d['wall']:>7.0f} {total:>8.0f} {d['loop_us']:>8.0f} {ratio:>6.1f}x "
          f"{TARGETS[kind]:>6.0f}x   "
          f"{per_msg(d, 'rt', 'pull'):>7.1f} {per_msg(d, 'rt', 'handle'):>7.1f} {per_msg(d, 'rt', 'send'):>6.1f} "
          f"{per_msg(d, 'rt', 'consumer'):>8.1f} {d['redis_cpu'] / d['n'] * 1e6:>8.0f}  {d['missing']}  {verdict}"
          + (f"  (* stopped after {args.phase_seconds:g} s: {d['n']} of {d['planned']})" if d["n"] < d["planned"] else ""))
    p("cyclic GC pauses in the concurrent runs, µs per message: " + ", ".join(
        f"{kind} {sum(d['gc'].values()) / max(d['n'], 1) * 1e6:.0f}" for kind, d in res["runs"].items()))
    cmds = defaultdict(int)
    n = 0
    for d in res["runs"].values():
        n += d["n"]
        for k, v in d["consumer_cmds"].items():
            cmds[k] += v
    p("Redis µs: the redis-server's own CPU per message (INFO cpu) over the whole run; one Redis core "
      "carries about 1,000,000 / that many messages per second")
    p("consumer round trips per message, by command: " +
      ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(cmds.items(), key=lambda kv: -kv[1])))
    if args.show_trips:
        for kind, d in res["runs"].items():
            p(f"round trips per {kind} message, by stage and packet (commands in one packet):")
            for key, v in sorted(d["packets"].items(), key=lambda kv: (kv[0].split(":")[0], -kv[1])):
                if v / d["n"] >= 0.01:
                    p(f"    {v / d['n']:5.2f}  {key}")
    if res.get("kf_send_failed"):
        p(f"kf/send_msg calls the fake refused: {res['kf_send_failed']}")
    if any(d["missing"] for d in res["runs"].values()):
        p("replies missing: the worker did not keep up, so the CPU above includes backlog work of earlier phases")
    p(f"RSS {cold['rss']:.0f} MB vs target {RSS_TARGET_MB} MB: {'OK' if cold['rss'] <= RSS_TARGET_MB and not cold['stopped'] else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100 stores, fewer messages (development)")
    ap.add_argument("--stores", type=int)
    ap.add_argument("--skus", type=int, default=5000)
    ap.add_argument("--groupbuys", type=int, default=50, help="stores with one open 团")
    ap.add_argument("-n", type=int, help="messages per kind in the concurrent runs")
    ap.add_argument("--probe-n", type=int, help="messages per kind in the sequential probe")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--loop-n", type=int, default=3000)
    ap.add_argument("--workers", type=int, choices=(1, 2), default=1)
    ap.add_argument("--rate", type=float, default=40.0, help="领券 per second in the --workers 2 run")
    ap.add_argument("--rss-limit", type=int, default=6000, help="MB; stop asking new stores beyond it")
    ap.add_argument("--cold-seconds", type=float, default=120.0, help="stop asking new stores after this")
    ap.add_argument("--phase-seconds", type=float, default=60.0, help="stop sending a kind after this")
    ap.add_argument("--probe-seconds", type=float, default=30.0, help="stop a kind's probe after this")
    ap.add_argument("--show-trips", action="store_true",
                    help="print the commands of every round trip per stage of the concurrent runs (costs worker CPU)")
    ap.add_argument("--profile", help="cProfile (CPU time) the worker during each kind's sequential probe "
                                      "into PROFILE.<kind>")
    ap.add_argument("--fake", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve-worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fake:
        return serve_fake(args.fake)
    if args.serve_worker:
        return serve_worker(args.serve_worker[0], int(args.serve_worker[1]))
    stores_n = args.stores or (100 if args.quick else 1000)
    args.n = args.n or (200 if args.quick else 600)
    args.probe_n = args.probe_n or (30 if args.quick else 60)
    args.groupbuys = min(args.groupbuys, stores_n)

    from bot.redis_server import EmbeddedRedis
    from catalog_gen import base_rows, chain_rows, store_ids, to_csv

    args.store_list = store_ids(stores_n)
    args.tag = uuid.uuid4().hex[:4]
    rows = chain_rows(args.store_list, args.skus)
    work = Path(tempfile.mkdtemp(prefix="qb-chain-"))
    args.chain_csv = work / "chain.csv"
    args.chain_csv.write_bytes(to_csv(rows))
    base_csv = work / "base.csv"  # the same SKUs, one row each: what the chain sold before per-store prices
    base_csv.write_bytes(to_csv(base_rows(args.skus)))
    fake_port, web_port, *worker_ports = free_ports(4)
    args.worker_ports = worker_ports
    redis = EmbeddedRedis(work / "redis", port=free_ports(1)[0], appendonly=False)
    args.redis_url = redis.start()
    global REDIS_URL
    REDIS_URL = args.redis_url
    prefix = "chain"
    cfg = work / "chain.toml"
    write_config(cfg, port=web_port, fake=fake_port, redis_url=args.redis_url, prefix=prefix, stores=args.store_list)
    procs: dict[str, subprocess.Popen] = {}
    py = sys.executable
    try:
        procs["fake"] = subprocess.Popen([py, __file__, "--fake", str(fake_port)], cwd=ROOT)
        wait_port(fake_port, procs["fake"])

        def import_catalog(path: Path) -> float:
            t = time.monotonic()
            subprocess.run([py, "-m", "bot", "-c", str(cfg), "catalog", "import", str(path)], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            return time.monotonic() - t

        args.import_catalog = import_catalog
        import_catalog(base_csv)
        procs["web"] = subprocess.Popen([py, "-m", "bot", "-c", str(cfg), "serve", "--role", "web"], cwd=ROOT,
                                        stdout=subprocess.DEVNULL)
        wait_port(web_port, procs["web"])

        def start_worker(name: str) -> subprocess.Popen:
            port = worker_ports[0 if name == "w1" else 1]
            env = {**os.environ, "QB_BENCH_TRIPS": "1"} if args.show_trips else None
            proc = subprocess.Popen([py, __file__, "--serve-worker", str(cfg), str(port)], cwd=ROOT, env=env)
            procs[name] = proc
            wait_port(port, proc)
            return proc

        args.start_worker = start_worker
        res = asyncio.run(run(args, {"fake": fake_port, "web": web_port}, procs, rows))
    finally:
        for name, p in procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.stop()
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    report(args, res, len(rows))


if __name__ == "__main__":
    main()
