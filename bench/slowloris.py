"""Slowloris against the server: plain aiohttp (baseline) vs qunbot's guarded server (bot/server.py).

Each server is its own process with a descriptor limit of 1,024 (a common container default) and
the same trivial app: POST /wecom/app reads the body and answers 200, GET /cpu answers the
process's CPU time. For each server, in turn:

1. overhead: 5,000 keep-alive POSTs from 8 connections; server CPU time per request (process_time
   read through /cpu before and after), so the figure holds on a busy machine;
2. attack: 3,000 connections that each send half a request line and go quiet (and stay open on the
   client side). Then, right away and again 20 s later (past the default 15 s header timeout): one
   valid POST on a new connection (answered? how fast?) and the server's open descriptors.

    python bench/slowloris.py [--slow 3000] [--requests 5000]
"""
from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._procs import free_port  # noqa: E402
FD_LIMIT = 1024


def serve(kind: str, port: int) -> None:
    """The server process: plain aiohttp, or the same app behind qunbot's guard."""
    sys.path.insert(0, str(ROOT))
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
    from aiohttp import web

    async def callback(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="")

    async def cpu(request: web.Request) -> web.Response:
        import os
        return web.Response(text=f"{time.process_time()!r} {len(os.listdir('/proc/self/fd'))}")

    if kind == "plain":
        app = web.Application()
        app.router.add_post("/wecom/app", callback)
        app.router.add_get("/cpu", cpu)
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
        return
    from bot import server
    from bot.config import from_dict
    config = from_dict({"server": {"host": "127.0.0.1", "port": port}})
    app = web.Application()
    app.router.add_post("/wecom/app", callback)
    app.router.add_get("/cpu", cpu)
    server.guard_routes(app)
    from bot.appkeys import CONFIG
    app[CONFIG] = config
    asyncio.run(server.serve(app, config))


async def request(port: int, raw: bytes, timeout: float = 10.0) -> tuple[bytes, float]:
    t0 = time.perf_counter()
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    w.write(raw)
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), timeout)
    length = int(next((x.split(b":")[1] for x in head.split(b"\r\n") if x.lower().startswith(b"content-length")), 0))
    body = await asyncio.wait_for(r.readexactly(length), timeout) if length else b""
    w.close()
    return head.split(b"\r\n")[0] + b" " + body, time.perf_counter() - t0


POST = b"POST /wecom/app HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n<xml>"


async def probe(port: int) -> tuple[float, int]:
    """(server CPU seconds, server open descriptors)."""
    line, _ = await request(port, b"GET /cpu HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    cpu, fds = line.split(b" ")[-2:]
    return float(cpu), int(fds)


async def cpu_now(port: int) -> float:
    return (await probe(port))[0]


async def overhead(port: int, n: int) -> float:
    """Server CPU seconds per request for n keep-alive POSTs."""
    keep = b"POST /wecom/app HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n<xml>"

    async def one_connection(count: int) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            w.write(keep)
            await r.readuntil(b"\r\n\r\n")
        w.close()

    before = await cpu_now(port)
    await asyncio.gather(*(one_connection(n // 8) for _ in range(8)))
    return (await cpu_now(port) - before) / n


async def check(port: int) -> tuple[str, float, str]:
    """A valid POST on a new connection (status, seconds) and the server's open descriptors."""
    try:
        line, took = await request(port, POST, timeout=10.0)
        answered = line.split(b" ")[1].decode()
    except (TimeoutError, ConnectionError, OSError) as exc:
        answered, took = type(exc).__name__, float("nan")
    try:
        fds = str((await probe(port))[1])
    except (TimeoutError, ConnectionError, OSError) as exc:
        fds = type(exc).__name__
    return answered, took, fds


async def attack(port: int, slow: int) -> dict:
    conns = []
    for start in range(0, slow, 100):
        batch = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port)
                                       for _ in range(min(100, slow - start))), return_exceptions=True)
        for c in batch:
            if not isinstance(c, BaseException):
                c[1].write(b"POST /wecom/app HTTP/1.1\r\nHost: x\r\n")
                conns.append(c)
    now = await check(port)
    await asyncio.sleep(20.0)
    later = await check(port)
    for _, w in conns:
        w.close()
    return {"slow_connections": len(conns), "callback_at_once": now[0], "callback_seconds_at_once": now[1],
            "server_fds_at_once": now[2], "callback_after_20s": later[0], "callback_seconds_after_20s": later[1],
            "server_fds_after_20s": later[2]}


async def run(kind: str, slow: int, n: int) -> dict:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(port)], cwd=ROOT)
    try:
        for _ in range(100):
            try:
                await cpu_now(port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        per_request = await overhead(port, n)
        return {"cpu_us_per_request": per_request * 1e6, **await attack(port, slow)}
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("--slow", type=int, default=3000)
    p.add_argument("--requests", type=int, default=5000)
    a = p.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (a.slow + 500, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    results = {kind: asyncio.run(run(kind, a.slow, a.requests)) for kind in ("plain", "qunbot")}
    print(f"{'':28}{'plain aiohttp':>16}{'qunbot guard':>16}")
    for key in results["plain"]:
        row = [results[k][key] for k in ("plain", "qunbot")]
        cells = [f"{v:>16.1f}" if isinstance(v, float) else f"{v!s:>16}" for v in row]
        print(f"{key:28}{''.join(cells)}")
    print(f"(server descriptor limit {FD_LIMIT}; the guard lowers its cap to {FD_LIMIT} - 200)")
    base, guarded = results["plain"]["cpu_us_per_request"], results["qunbot"]["cpu_us_per_request"]
    print(f"guard CPU cost per request: {guarded / base:.2f}x the plain server's (same process layout, same app)")


if __name__ == "__main__":
    main()
