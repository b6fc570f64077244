"""A Redis lease: at most one holder of a named thing across every process, handed over on expiry.

    lease = Lease(redis, key, owner="host:pid:rand", ttl_ms=15_000)
    await lease.acquire()   # True when we hold it now (taken, or already ours: renewed)
    await lease.renew()     # True while still ours; False: someone else has it, stop at once
    await lease.release()   # give it up now (clean shutdown), only if still ours

A holder renews well within ttl_ms (every third of it); one that dies loses the lease after ttl_ms.
The shared compare-and-set scripts (store/lua: lease_claim, compare_and_expire, compare_and_delete),
so a holder that lost the lease never extends or deletes the next one's.

`run_singleton(lease, work)` runs `work()` only while the lease is held (a kf puller, the archive
reader, any run-once job): it waits for the lease, renews it, cancels the work when it is lost and
releases it at once when cancelled, so a standby host takes over within a retry interval.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from store.lua import bind

log = logging.getLogger(__name__)


class Lease:
    def __init__(self, redis: Redis, key: str, owner: str, ttl_ms: int) -> None:
        self.r, self.key, self.owner, self.ttl_ms = redis, key, owner, int(ttl_ms)
        self._claim = bind(redis, "lease_claim")
        self._renew = bind(redis, "compare_and_expire")
        self._release = bind(redis, "compare_and_delete")

    async def claim(self) -> int:
        """Take the lease if free (2) or renew it if ours (1); 0 while another owner holds it."""
        return int(await self._claim([self.key], [self.owner, self.ttl_ms]))

    async def acquire(self) -> bool:
        return await self.claim() > 0

    async def renew(self) -> bool:
        return bool(await self._renew([self.key], [self.owner, self.ttl_ms]))

    async def release(self) -> bool:
        return bool(await self._release([self.key], [self.owner]))

    async def holder(self) -> str | None:
        value = await self.r.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


async def run_singleton(lease: Lease, work: Callable[[], Awaitable[object]], *,
                        retry_s: float | None = None) -> None:
    """Run `work()` only while `lease` is held, forever (until cancelled).

    Waits for the lease (polling every retry_s, default a third of the TTL), runs work() and
    renews every third of the TTL. If a renewal fails (taken over, or Redis unreachable longer
    than the TTL allows) work() is cancelled and the wait starts again; if work() returns or
    raises, the lease is released and taken again on the next round. Cancelling this releases
    the lease at once, so a standby host takes over within one retry interval.
    """
    every = lease.ttl_ms / 3000
    retry = every if retry_s is None else retry_s
    try:
        while True:
            try:
                got = await lease.acquire()
            except Exception:
                log.warning("lease %s: Redis unreachable; retrying", lease.key, exc_info=True)
                got = False
            if not got:
                await asyncio.sleep(retry)
                continue
            log.info("lease %s taken by %s", lease.key, lease.owner)
            task = asyncio.create_task(work())
            try:
                await _renew_while(lease, task, every)
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("lease %s: work failed; releasing", lease.key, exc_info=task.exception())
            with contextlib.suppress(Exception):
                await lease.release()
            await asyncio.sleep(retry)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(lease.release())


async def _renew_while(lease: Lease, task: asyncio.Task, every: float) -> None:
    """Renew until the task ends or the lease is lost; a renewal that fails for longer than
    the TTL's remaining margin means another host may own it now, so stop."""
    loop = asyncio.get_running_loop()
    valid_until = loop.time() + lease.ttl_ms / 1000
    while True:
        done, _ = await asyncio.wait([task], timeout=every)
        if done:
            return
        try:
            if await lease.claim() == 0:
                log.warning("lease %s lost to %s", lease.key, await lease.holder())
                return
            valid_until = loop.time() + lease.ttl_ms / 1000
        except Exception:
            if loop.time() + every >= valid_until:
                log.warning("lease %s: could not renew before expiry; stopping its work", lease.key)
                return
