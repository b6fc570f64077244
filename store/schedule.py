"""When each scheduled job last fired, so a start after downtime can run what it missed."""
from __future__ import annotations

from redis.asyncio import Redis

from store.keys import Keys


class Schedule:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys

    async def last_fire(self, job: str) -> int | None:
        """The fire time (epoch seconds) last enqueued for `job`, or None if it never fired."""
        v = await self.r.get(self.k.job_last(job))
        return None if v is None else int(v)

    async def fired(self, job: str, at: int) -> None:
        await self.r.set(self.k.job_last(job), at)
