"""Sliding-window send budgets (30/min per member, 20/min per webhook) shared by every replica."""
from __future__ import annotations

import uuid

from redis.asyncio import Redis

from store.keys import Keys
from store.lua import Call, bind


class Budget:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._take = bind(redis, "budget_take")

    def take_call(self, scope: str, who: str, limit: int, window_ms: int = 60_000) -> Call:
        """take, for a caller that sends it in its own pipeline (its last argument is the slot's member)."""
        return self._take.call([self.k.budget(scope, who)], [window_ms, limit, uuid.uuid4().hex])

    async def take(self, scope: str, who: str, limit: int, window_ms: int = 60_000) -> int:
        """Take one send slot; returns 0 on success or the milliseconds to wait before trying again."""
        c = self.take_call(scope, who, limit, window_ms)
        return int(await c.run(self.r))
