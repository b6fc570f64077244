"""Probes and Redis-state metrics: /healthz (is this process doing its job), /readyz (may it take
traffic), and the gauges /metrics reads from Redis at scrape time (lag, dead letters).

/healthz for every role: Redis answers. For a worker also: each consumer renews its leases and
polls every partition it holds (no loop dead or stalled past `[worker] health_stall_seconds`), and
the inbox backlog is at most `[worker] health_max_lag`. The JSON body names the failed checks.
/readyz: Redis answers and the process is not shutting down (it turns 503 at SIGTERM, before the
web role stops accepting, so a load balancer stops sending first).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import metrics
from bot.appkeys import CONFIG, CONSUMERS, DRAINING, STORE
from store import Store

PROBE_TIMEOUT = 1.0  # a probe must answer before the orchestrator's own timeout


async def _redis(app: web.Application) -> dict:
    try:
        ok = bool(await asyncio.wait_for(app[STORE].ping(), timeout=PROBE_TIMEOUT))
        return {"ok": ok}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


async def healthz(request: web.Request) -> web.Response:
    body = await report(request.app)
    return web.json_response(body, status=200 if body["ok"] else 503)


async def report(app: web.Application) -> dict:
    """/healthz's body (the console's health page shows the same)."""
    w = app[CONFIG].worker
    checks = {"redis": await _redis(app)}
    consumers = app.get(CONSUMERS)
    for consumer, task in consumers or ():
        ok, detail = consumer.health(w.health_stall_seconds)
        if task.done():
            ok = False
            detail.setdefault("problems", []).append("consumer task ended")
        checks[f"{consumer.stream.name}_consumer"] = {"ok": ok, **detail}
    if consumers is not None and w.health_max_lag and checks["redis"]["ok"]:
        try:
            lag = sum((await asyncio.wait_for(app[STORE].inbox.lag(), timeout=PROBE_TIMEOUT)).values())
            checks["inbox_lag"] = {"ok": lag <= w.health_max_lag, "lag": lag, "max": w.health_max_lag}
        except Exception as exc:
            checks["inbox_lag"] = {"ok": False, "error": type(exc).__name__}
    failed = [name for name, c in checks.items() if not c["ok"]]
    return {"ok": not failed, "redis": checks["redis"]["ok"], "failed": failed, "checks": checks}


async def readyz(request: web.Request) -> web.Response:
    draining = bool(request.app[DRAINING])
    redis = await _redis(request.app)
    ok = redis["ok"] and not draining
    return web.json_response({"ok": ok, "redis": redis["ok"], "draining": draining}, status=200 if ok else 503)


async def mark_draining(app: web.Application) -> None:
    app[DRAINING]["since"] = time.monotonic()


def stream_gauges(store: Store) -> Callable[[], Awaitable[None]]:
    """A metrics.REFRESHERS callback: lag per stream and partition (dead letters: bot.dead_letters)."""
    async def refresh() -> None:
        for stream in (store.inbox, store.outbox):
            for part, lag in (await stream.lag()).items():
                metrics.STREAM_LAG.labels(stream.name, str(part)).set(lag)
    return refresh


def setup(app: web.Application) -> None:
    app[DRAINING] = {}  # filled at shutdown (the app's mapping is frozen once it runs)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.on_shutdown.append(mark_draining)
