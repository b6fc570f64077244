"""A Redis lease: at most one holder of a named thing across every process, handed over on expiry.

    lease = Lease(redis, key, owner="host:pid:rand", ttl_ms=15_000)
    await lease.acquire()   # True when we hold it now (taken, or already ours: renewed)
    await lease.renew()     # True while still ours; False: someone else has it, stop at once
    await lease.release()   # give it up now (clean shutdown), only if still ours

A holder renews well within ttl_ms (every third of it); one that dies loses the lease after ttl_ms.
The shared compare-and-set scripts (store/lua: lease_claim, compare_and_expire, compare_and_delete),
so a holder that lost the lease never extends or deletes the next one's.
"""
from __future__ import annotations

from redis.asyncio import Redis

from store.lua import bind


class Lease:
    def __init__(self, redis: Redis, key: str, owner: str, ttl_ms: int) -> None:
        self.r, self.key, self.owner, self.ttl_ms = redis, key, owner, int(ttl_ms)
        self._claim = bind(redis, "lease_claim")
        self._renew = bind(redis, "compare_and_expire")
        self._release = bind(redis, "compare_and_delete")

    async def acquire(self) -> bool:
        return bool(await self._claim([self.key], [self.owner, self.ttl_ms]))

    async def renew(self) -> bool:
        return bool(await self._renew([self.key], [self.owner, self.ttl_ms]))

    async def release(self) -> bool:
        return bool(await self._release([self.key], [self.owner]))

    async def holder(self) -> str | None:
        value = await self.r.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
