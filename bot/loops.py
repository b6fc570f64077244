"""What every long-running loop does when Redis or the network fails: log once, back off, resume.

A loop that dies on one connection error stops the service without stopping the process (the
orchestrator sees nothing), so each loop reports its errors through an Outage, waits with a
capped, jittered exponential Backoff, and tries again; `supervise` restarts a task that died anyway.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot import metrics

log = logging.getLogger(__name__)


def unreachable(exc: BaseException) -> bool:
    """Redis cannot be reached (down, restarting, still loading, network): an outage to ride out,
    not a failure of whatever was being done."""
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))


class Backoff:
    """Capped exponential delays with full jitter, so replicas do not retry in lockstep."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2 ** self.attempt)
        self.attempt = min(self.attempt + 1, 30)
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0

    async def wait(self) -> None:
        await asyncio.sleep(self.next())


class Outage:
    """Error reporting for one loop: the first error of an outage is logged with its traceback,
    the rest only counted (qunbot_loop_errors_total), and the recovery logged once with the tally."""

    def __init__(self, loop: str, logger: logging.Logger = log) -> None:
        self.loop, self.log = loop, logger
        self.errors = 0
        self.since = 0.0
        self.backoff = Backoff()

    @property
    def active(self) -> bool:
        return self.errors > 0

    def failed(self, what: str = "") -> None:
        """Call from an except block: reports the exception being handled."""
        metrics.LOOP_ERRORS.labels(self.loop).inc()
        if self.errors == 0:
            self.since = time.monotonic()
            self.log.error("%s: %s failed; retrying with backoff until it recovers", self.loop, what or "step",
                           exc_info=True)
        else:
            self.log.debug("%s: still failing (%d errors)", self.loop, self.errors + 1, exc_info=True)
        self.errors += 1

    def ok(self) -> None:
        if self.errors:
            self.log.warning("%s: recovered after %d error(s) in %.1fs", self.loop, self.errors,
                             time.monotonic() - self.since)
            self.errors = 0
            self.backoff.reset()

    async def wait(self) -> None:
        await self.backoff.wait()


async def supervise(name: str, run: Callable[[], Awaitable[None]], *, cap: float = 30.0) -> None:
    """Run `run()` until it returns (it was asked to stop); if it raises (a bug: Redis errors are
    handled inside), log, count and start it again after a backoff. Cancelling this cancels the run."""
    backoff = Backoff(base=1.0, cap=cap)
    while True:
        started = time.monotonic()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s died; restarting it", name)
        metrics.LOOP_ERRORS.labels(f"{name}_restart").inc()
        if time.monotonic() - started > 60:
            backoff.reset()  # it ran for a while: this is a new failure, not a crash loop
        await backoff.wait()
