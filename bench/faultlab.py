"""A real deployment in miniature, for fault runs: its own redis-server on a free port, the fake WeCom
(with fault modes) in this process, `qunbot serve --role web` and N `--role worker` processes on one
config; a bounded load of signed callbacks; and the check of what shoppers received.

Used by bench/faults.py (long scenarios) and tests/faults/ (short ones). Nothing here touches the
shared Redis on 6379: the cluster's Redis is an EmbeddedRedis on its own port and directory.

What counts:
- a kf question is a shopper's "<product>多少钱" queued at the fake's kf log, announced by a signed
  kf_msg_or_event callback (retried like WeCom retries, so every question ends up announced);
  it is answered when the fake accepted a kf/send_msg to that shopper naming the product. Every
  shopper asks about each product at most once, so two accepted sends with the same
  (shopper, text) are a duplicate the shopper saw.
- an app command is a guide's signed text callback ("<product>多少钱" to the app); acked when the
  web answered 200 (WeCom retries up to 3 times, 5 s apart, then drops it); answered when a
  message/send to that guide named the product.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.crypto import Crypto
from bot.fakefaults import FAULTS_KEY, Faults
from bot.fakewecom import FAKE_KEY, FakeWeCom, create_fake_app
from bot.redis_server import EmbeddedRedis
from store import connect
from bench._procs import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CORP_ID = "wwfaultlab000001"
APP_TOKEN, APP_KEY = "faultLabToken", "Y8xnJZHeeCTazkviN1Q2nPIib6semhM8k7Wsk0XEXjw"
KFS = ("wkFaultS01", "wkFaultS02")
GUIDES = tuple(f"guide{i:03d}" for i in range(1, 121))  # each asks about each product once at most


def products() -> list[str]:
    """Product names from the demo catalog; "<name>多少钱" is answered naming the product."""
    lines = (ROOT / "data/catalog.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",")[1] for line in lines if line.strip()]


def config_toml(port: int, redis_url: str, api_base: str, *, partitions: int, worker: dict, sender: dict) -> str:
    extra_worker = "".join(f"{k} = {v}\n" for k, v in worker.items())
    extra_sender = "".join(f"{k} = {v}\n" for k, v in sender.items())
    half = len(GUIDES) // 2
    return f"""
[server]
host = "127.0.0.1"
port = {port}
[redis]
url = "{redis_url}"
prefix = "qb"
[wecom]
corp_id = "{CORP_ID}"
api_base = "{api_base}"
max_skew_seconds = 300
[wecom.app]
agent_id = 1000002
secret = "faultlab-secret"
token = "{APP_TOKEN}"
encoding_aes_key = "{APP_KEY}"
[roles]
guides = {list(GUIDES)!r}
buyers = []
admins = []
[admin]
token = "faultlab-admin"
[worker]
partitions = {partitions}
{extra_worker}
[sender]
{extra_sender}
[[stores]]
id = "S01"
name = "一号店"
guides = {list(GUIDES[:half])!r}
kf = "{KFS[0]}"
[[stores]]
id = "S02"
name = "二号店"
guides = {list(GUIDES[half:])!r}
kf = "{KFS[1]}"
[qa]
catalog = "{ROOT / 'data/catalog.csv'}"
faq = "{ROOT / 'data/faq.csv'}"
refresh_seconds = 1.0
""".replace("'", '"')


def key_family(key: str) -> str:
    """qb:{kfc:kf:wk1:wm2}:win -> qb:{kfc}:win; ids (anything with a digit) become *."""
    key = re.sub(r"\{([a-z]+)[^}]*\}", r"{\1}", key)
    out = []
    for part in key.split(":"):
        out.append("*" if re.search(r"\d", part) and not part.startswith("{") else part)
        if out[-1] == "*":
            break
    return ":".join(out)


@dataclass
class Proc:
    role: str
    port: int
    popen: subprocess.Popen
    log: Path


class Cluster:
    """web + workers on one config, their own Redis, the fake WeCom in this process."""

    def __init__(self, workdir: str | os.PathLike, *, workers: int = 2, partitions: int = 4,
                 worker: dict | None = None, sender: dict | None = None, redis_url: str | None = None,
                 webs: int = 1) -> None:
        self.dir = Path(workdir)
        self.redis_url = redis_url  # a Redis of the caller's (Sentinel, Cluster); else one of our own
        self.n_webs = webs
        self.n_workers, self.partitions = workers, partitions
        self.worker_opts = worker or {}
        self.sender_opts = sender or {}
        self.redis_server = None if redis_url else EmbeddedRedis(self.dir / "redis", port=free_port(), appendonly=True)
        self.fake = FakeWeCom(corpid=CORP_ID)
        self.faults: Faults | None = None
        self.procs: list[Proc] = []
        self.crypto = Crypto(APP_TOKEN, APP_KEY, CORP_ID)
        self.restarts = 0
        self.wiped_at: float | None = None  # when Redis last came back empty

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.redis_server is not None:
            await self.redis_server.astart()
        url = self.redis_url or self.redis_server.url
        self.redis = connect(url)
        fake_app = create_fake_app(self.fake)
        self.faults = fake_app[FAULTS_KEY]
        self._fake_runner = web.AppRunner(fake_app, access_log=None)
        await self._fake_runner.setup()
        fake_port = free_port()
        await web.TCPSite(self._fake_runner, "127.0.0.1", fake_port).start()
        self.web_port = free_port()
        self.web_ports = [self.web_port] + [free_port() for _ in range(self.n_webs - 1)]
        self._next_web = itertools.count()
        self.config = self.dir / "qunbot.toml"
        self.config.write_text(config_toml(self.web_port, url, f"http://127.0.0.1:{fake_port}",
                                           partitions=self.partitions, worker=self.worker_opts,
                                           sender=self.sender_opts), encoding="utf-8")
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for port in self.web_ports:
            self.spawn("web", port)
        for _ in range(self.n_workers):
            self.spawn("worker")
        await self.wait_healthy()

    def spawn(self, role: str, port: int | None = None) -> Proc:
        port = port or free_port()
        log = self.dir / f"{role}-{len(self.procs)}.log"
        # One config for every process; the port comes from the environment (on main every role
        # binds one, so two workers on one host need their own).
        env = {**os.environ, "QUNBOT_SERVER_PORT": str(port), "PYTHONUNBUFFERED": "1"}
        popen = subprocess.Popen([PYTHON, "-m", "bot", "-c", str(self.config), "serve", "--role", role],
                                 cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log.open("ab"),
                                 stderr=subprocess.STDOUT, start_new_session=True)
        proc = Proc(role, port, popen, log)
        self.procs.append(proc)
        return proc

    @property
    def workers(self) -> list[Proc]:
        return [p for p in self.procs if p.role == "worker" and p.popen.poll() is None]

    @property
    def web(self) -> Proc:
        return next(p for p in self.procs if p.role == "web" and p.popen.poll() is None)

    async def wait_healthy(self, timeout: float = 60, port: int | None = None, proc: Proc | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                async with self.http.get(f"http://127.0.0.1:{port or self.web_port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            dead = [p for p in ([proc] if proc else self.procs) if p.popen.poll() is not None and p.role == "web"]
            if dead:
                raise RuntimeError(f"web exited: {dead[0].log.read_text(errors='replace')[-2000:]}")
            await asyncio.sleep(0.2)
        raise RuntimeError("web never answered /healthz")

    async def restart(self, proc: Proc, timeout: float = 30) -> tuple[float, Proc]:
        """A rolling deploy's step: SIGTERM one process, wait for its drain, start its successor
        (same role and port). Returns how long the old one took to exit, and the new one."""
        started = time.monotonic()
        proc.popen.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.to_thread(proc.popen.wait), timeout)
        took = time.monotonic() - started
        new = self.spawn(proc.role, proc.port if proc.role == "web" else None)
        if proc.role == "web":
            await self.wait_healthy(port=proc.port, proc=new)
        else:
            await asyncio.sleep(1.0)  # a worker takes partitions at its first lease round
        return took, new

    async def kill_worker(self) -> None:
        """kill -9 the oldest worker and start a fresh one in its place."""
        victim = self.workers[0]
        victim.popen.send_signal(signal.SIGKILL)
        await asyncio.to_thread(victim.popen.wait)
        self.restarts += 1
        self.spawn("worker")

    async def stop_redis(self) -> None:
        await self.redis_server.astop()

    async def start_redis(self, *, empty: bool = False) -> None:
        if not empty:
            await self.redis_server.astart()
            return
        # No persistence: the server comes back with nothing, the catalog included. The catalog is
        # put back (as an operator would, `qunbot catalog import`) while the workers are paused, so
        # the scenario measures the message path, not the missing catalog (reported on its own:
        # a worker that sees the catalog gone answers nothing until it is back).
        shutil.rmtree(self.redis_server.dir / "appendonlydir", ignore_errors=True)
        for f in self.redis_server.dir.glob("*.aof"):
            f.unlink()
        workers = self.workers
        for w in workers:
            w.popen.send_signal(signal.SIGSTOP)
        try:
            await self.redis_server.astart()
            self.wiped_at = time.time()
            await self.reimport_catalog()
        finally:
            for w in workers:
                w.popen.send_signal(signal.SIGCONT)

    async def reimport_catalog(self) -> None:
        from handlers.qa.cache import QACache
        from store import Store
        await QACache(Store(self.redis, prefix="qb")).seed(ROOT / "data/catalog.csv", ROOT / "data/faq.csv")

    async def close(self) -> None:
        for p in self.procs:
            if p.popen.poll() is None:
                p.popen.terminate()
        for p in self.procs:
            try:
                await asyncio.wait_for(asyncio.to_thread(p.popen.wait), 15)
            except asyncio.TimeoutError:
                p.popen.kill()
        await self.http.close()
        await self.redis.aclose()
        await self._fake_runner.cleanup()
        if self.redis_server is not None:
            await self.redis_server.astop()

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.log.read_text(errors='replace')[-tail:]}" for p in self.procs)

    # -- callbacks, signed like WeCom's ------------------------------------------------------
    def signed(self, xml: str) -> tuple[str, bytes]:
        enc = self.crypto.encrypt(xml.encode())
        ts, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
        q = urlencode({"msg_signature": self.crypto.sign(ts, nonce, enc), "timestamp": ts, "nonce": nonce})
        return q, f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()

    async def post(self, xml: str, *, retries: int = 3, retry_s: float = 5.0) -> bool:
        """POST a callback as WeCom does: on anything but 200 it tries again, `retries` times.
        With several web processes, each callback goes to the next one, and a refused connection
        goes on to the next at once (what a load balancer in front of them does)."""
        for attempt in range(retries + 1):
            first = next(self._next_web)
            for i in range(len(self.web_ports)):
                port = self.web_ports[(first + i) % len(self.web_ports)]
                q, body = self.signed(xml)
                try:
                    async with self.http.post(f"http://127.0.0.1:{port}/wecom/app?{q}", data=body) as resp:
                        await resp.read()
                        if resp.status == 200:
                            return True
                        break
                except aiohttp.ClientConnectionError:
                    continue  # not listening (restarting): the balancer tries the next one
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    break
            if attempt < retries:
                await asyncio.sleep(retry_s)
        return False

    def kf_event(self, open_kfid: str) -> str:
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[{self.fake.kf_token()}]]></Token>"
                f"<OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>")

    @staticmethod
    def app_text(user: str, text: str, msg_id: int) -> str:
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")

    # -- sampling ------------------------------------------------------------------------------
    def rss_mb(self) -> dict[str, float]:
        out = {}
        for p in self.procs:
            if p.popen.poll() is None:
                try:
                    status = Path(f"/proc/{p.popen.pid}/status").read_text()
                    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
                    out[f"{p.role}{p.popen.pid}"] = kb / 1024
                except (OSError, StopIteration):
                    pass
        return out

    def cpu_seconds(self) -> float:
        """CPU time (user+sys) of the live service processes."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for p in self.procs:
            try:
                fields = Path(f"/proc/{p.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError):
                pass
        return total

    async def redis_sample(self) -> dict:
        info = await self.redis.info("memory")
        families: Counter = Counter()
        async for key in self.redis.scan_iter(count=2000):
            families[key_family(key.decode(errors="replace"))] += 1
        entries = 0
        async for key in self.redis.scan_iter(count=2000, _type="STREAM"):
            entries += await self.redis.xlen(key)
        return {"used_mb": info["used_memory"] / 1e6, "keys": sum(families.values()), "families": families,
                "stream_entries": entries}


@dataclass
class Asked:
    user: str
    product: str
    at: float
    kind: str  # "kf" | "app"
    acked: bool = True
    answered_at: float | None = None
    acked_at: float | None = None  # app: when the web answered 200


# Process-wide, so loads run one after another on one cluster never reuse a MsgId (the inbox would
# drop the second as a duplicate) nor have a user ask about the same product twice.
_MSG_IDS = itertools.count(secrets.randbits(40) << 20)
_NEXT_PRODUCT: dict[str, int] = defaultdict(int)


@dataclass
class Load:
    """A bounded stream of shopper kf questions and guide app questions at `rate` per second."""

    cluster: Cluster
    rate: float = 20.0
    app_share: float = 0.2
    shoppers: int = 1000
    prefix: str = "wmFault"  # shoppers' external_userid prefix
    asked: list[Asked] = field(default_factory=list)
    callbacks: Counter = field(default_factory=Counter)
    retry_s: float = 5.0

    def __post_init__(self) -> None:
        self._products = products()
        self._next = _NEXT_PRODUCT  # shared by every Load of this process: guides ask on across loads
        self._tasks: set[asyncio.Task] = set()
        self._kf_n = self._app_n = 0

    def _product_for(self, user: str) -> str | None:
        i = self._next[user]
        if i >= len(self._products):
            return None  # asked about everything: a repeat could not be told from a duplicate
        self._next[user] += 1
        return self._products[i]

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, count: int) -> None:
        start = time.monotonic()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / self.rate - time.monotonic()))
            if self.app_share and int((i + 1) * self.app_share) > int(i * self.app_share):
                self._app_question()
            else:
                self._kf_question()

    def _kf_question(self) -> None:
        n = self._kf_n % self.shoppers
        user = f"{self.prefix}{n:05d}"
        self._kf_n += 1
        product = self._product_for(user)
        if product is None:
            raise RuntimeError("every shopper asked about every product; raise `shoppers`")
        kf = KFS[n % len(KFS)]
        self.cluster.fake.kf_push(kf, user, f"{product}多少钱")
        self.asked.append(Asked(user, product, time.time(), "kf"))
        self._spawn(self._announce(kf))

    async def _announce(self, kf: str) -> None:
        ok = await self.cluster.post(self.cluster.kf_event(kf), retry_s=self.retry_s)
        self.callbacks["kf ok" if ok else "kf dropped"] += 1

    def _app_question(self) -> None:
        user = GUIDES[self._app_n % len(GUIDES)]
        self._app_n += 1
        product = self._product_for(user)
        if product is None:
            return self._kf_question()
        asked = Asked(user, product, time.time(), "app")
        self.asked.append(asked)
        self._spawn(self._post_app(asked, next(_MSG_IDS)))

    async def _post_app(self, asked: Asked, msg_id: int) -> None:
        asked.acked = await self.cluster.post(self.cluster.app_text(asked.user, f"{asked.product}多少钱", msg_id),
                                              retry_s=self.retry_s)
        asked.acked_at = time.time()
        self.callbacks["app ok" if asked.acked else "app dropped"] += 1

    async def finish(self) -> None:
        """Wait for callbacks in flight, then announce every kf account once more (WeCom would, with
        the next shopper message), so every queued kf question has been announced by an acked callback."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        for kf in KFS:
            await self._announce(kf)


@dataclass
class Report:
    name: str
    acked: int
    answered: int
    lost: int
    duplicates: int
    max_delay: float
    p99_delay: float
    kf: tuple[int, int, int]  # asked, answered, duplicates
    app: tuple[int, int, int, int]  # posted, acked, answered, duplicates
    notes: list[str] = field(default_factory=list)
    lost_examples: list[Asked] = field(default_factory=list)

    def lines(self) -> list[str]:
        kf_asked, kf_ans, kf_dup = self.kf
        app_posted, app_acked, app_ans, app_dup = self.app
        out = [f"{self.name}: acked {self.acked}, answered {self.answered}, lost {self.lost}, "
               f"duplicates to shoppers {self.duplicates}, max delay {self.max_delay:.1f}s (p99 {self.p99_delay:.1f}s)",
               f"    kf questions {kf_asked}: answered {kf_ans}, duplicate sends {kf_dup}",
               f"    app commands {app_posted}: acked {app_acked}, answered {app_ans}, duplicate sends {app_dup}"]
        return out + [f"    {n}" for n in self.notes]


def check(cluster: Cluster, load: Load, name: str, wiped_at: float | None = None) -> Report:
    """Match every question to the first accepted send naming its product, to that user, after it.

    `wiped_at`: Redis came back empty then; an app callback acked before it and not answered yet
    went with the data (no persistence: nothing can bring it back), so it is reported apart and
    not counted as acked. kf questions stay at WeCom and must still be answered."""
    sends: dict[str, list[tuple[float, str]]] = defaultdict(list)
    dup: Counter = Counter()
    for call in cluster.fake.calls:
        if call.errcode != 0 or not isinstance(call.body, dict):
            continue
        if call.path == "kf/send_msg":
            user, kind = call.body.get("touser", ""), "kf"
        elif call.path == "message/send":
            user, kind = call.body.get("touser", ""), "app"
        else:
            continue
        text = (call.body.get("text") or call.body.get("markdown") or {}).get("content", "")
        sends[user].append((call.time, text))
        dup[(kind, user, text)] += 1
    for asked in load.asked:
        for at, text in sends.get(asked.user, ()):
            if at >= asked.at - 1 and asked.product in text:
                asked.answered_at = at
                break
    gone = [a for a in load.asked if wiped_at is not None and a.kind == "app" and a.acked
            and a.acked_at is not None and a.acked_at < wiped_at and a.answered_at is None]
    kf = [a for a in load.asked if a.kind == "kf"]
    app = [a for a in load.asked if a.kind == "app" and a not in gone]
    acked = [a for a in load.asked if a.acked and a not in gone]
    answered = [a for a in acked if a.answered_at is not None]
    delays = sorted(max(0.0, a.answered_at - a.at) for a in answered) or [0.0]
    kf_dup = sum(n - 1 for (kind, _, _), n in dup.items() if kind == "kf" and n > 1)
    app_dup = sum(n - 1 for (kind, _, _), n in dup.items() if kind == "app" and n > 1)
    return Report(name, len(acked), len(answered), len(acked) - len(answered), kf_dup, delays[-1],
                  delays[int(0.99 * (len(delays) - 1))],
                  (len(kf), sum(1 for a in kf if a.answered_at), kf_dup),
                  (len(app), sum(1 for a in app if a.acked), sum(1 for a in app if a.answered_at), app_dup),
                  notes=[f"{len(gone)} app callbacks acked before Redis came back empty went with its data"]
                  if gone else [],
                  lost_examples=[a for a in acked if a.answered_at is None][:20])


async def settle(cluster: Cluster, load: Load, *, quiet_s: float, cap_s: float,
                 wiped_at: float | None = None) -> None:
    """Wait until every acked question is answered, or nothing new arrived for quiet_s (cap_s at most)."""
    start = last_change = time.monotonic()
    seen = -1
    while time.monotonic() - start < cap_s:
        report = check(cluster, load, "", wiped_at)
        if report.lost == 0:
            return
        if report.answered != seen:
            seen, last_change = report.answered, time.monotonic()
        elif time.monotonic() - last_change > quiet_s:
            return
        await asyncio.sleep(1.0)
