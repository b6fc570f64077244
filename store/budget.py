"""Sliding-window send budgets (30/min per member, 20/min per webhook) shared by every replica."""
from __future__ import annotations

import uuid

from redis.asyncio import Redis

from store.keys import Keys

# KEYS[1] zset of send times; ARGV: window ms, limit. Returns 0 when a slot was taken, else ms to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class Budget:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.k = keys
        self._take = redis.register_script(_TAKE)

    def take_call(self, scope: str, who: str, limit: int, window_ms: int = 60_000):
        """(script, keys, args) of take, for a caller that sends it in its own pipeline."""
        return self._take, [self.k.budget(scope, who)], [window_ms, limit, uuid.uuid4().hex]

    async def take(self, scope: str, who: str, limit: int, window_ms: int = 60_000) -> int:
        """Take one send slot; returns 0 on success or the milliseconds to wait before trying again."""
        script, keys, args = self.take_call(scope, who, limit, window_ms)
        return int(await script(keys=keys, args=args))
