"""State of the features that listen to customer groups: the steps a pasted 接龙 list was read as,
the questions waiting to be sent to a group's guide, and when a 团's roster is to be posted.

Group text is private: a question batch keeps what the guide needs (who, what, the answer) and
expires after `[listen] text_days`; nothing else here holds message text.
"""
from __future__ import annotations

import json

from redis.asyncio import Redis

from store.keys import DAY, Keys

PLAN_TTL = 3 * DAY

# KEYS: queued marker, batch list, due zset. ARGV: chat id, item JSON, due at, ttl.
# Queues a message's question once; the group's due time is set by its first waiting question.
_QUEUE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 3 * 86400) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[1])
return 1
"""

# KEYS: batch list, due zset. ARGV: chat id, count taken. Drops what was sent; the group leaves the
# due set only when nothing new arrived meanwhile.
_DONE = """
redis.call('LTRIM', KEYS[1], tonumber(ARGV[2]), -1)
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
"""


class ListenState:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._queue = redis.register_script(_QUEUE)
        self._done = redis.register_script(_DONE)

    # -- pasted lists ---------------------------------------------------------------------------
    async def fix_plan(self, msg_id: str, plan: dict) -> dict:
        """Store the plan for `msg_id` unless one is stored; return the one that stands."""
        key = self.k.listen_plan(msg_id)
        if await self.r.set(key, json.dumps(plan, ensure_ascii=False), nx=True, ex=PLAN_TTL):
            return plan
        raw = await self.r.get(key)
        return json.loads(raw) if raw else plan

    async def plan(self, msg_id: str) -> dict | None:
        raw = await self.r.get(self.k.listen_plan(msg_id))
        return json.loads(raw) if raw else None

    async def kf_last(self, conversation: str) -> float | None:
        """When the shopper of a kf conversation last wrote (the reply window's start), if known."""
        last = await self.r.hget(self.k.shopper(conversation, "win"), "last")
        return float(last) if last is not None else None

    # -- questions for the guide ------------------------------------------------------------------
    async def queue(self, chat_id: str, msg_id: str, item: dict, due: float, ttl: int) -> bool:
        res = await self._queue(keys=[self.k.listen_queued(chat_id, msg_id), self.k.listen_batch(chat_id),
                                      self.k.listen_due()],
                                args=[chat_id, json.dumps(item, ensure_ascii=False), repr(float(due)), ttl])
        return bool(res)

    async def due(self, now: float, limit: int = 200) -> list[str]:
        raw = await self.r.zrangebyscore(self.k.listen_due(), "-inf", repr(float(now)), start=0, num=limit)
        return [x.decode() if isinstance(x, bytes) else x for x in raw]

    async def postpone(self, chat_id: str, until: float) -> None:
        await self.r.zadd(self.k.listen_due(), {chat_id: until}, xx=True)

    async def batch(self, chat_id: str) -> list[dict]:
        return [json.loads(x) for x in await self.r.lrange(self.k.listen_batch(chat_id), 0, -1)]

    async def sent(self, chat_id: str, count: int) -> None:
        await self._done(keys=[self.k.listen_batch(chat_id), self.k.listen_due()], args=[chat_id, count])

    # -- roster posts at chosen times ------------------------------------------------------------
    async def set_roster_times(self, gid: int, times: list[str], ttl: int) -> None:
        key = self.k.listen_roster_times(gid)
        async with self.r.pipeline(transaction=True) as p:
            p.delete(key)
            if times:
                p.hset(key, mapping={t: 1 for t in times})
                p.expire(key, ttl)
                p.sadd(self.k.listen_roster_groups(), gid)
            else:
                p.srem(self.k.listen_roster_groups(), gid)
            await p.execute()

    async def roster_times(self) -> dict[int, list[str]]:
        ids = sorted(int(x) for x in await self.r.smembers(self.k.listen_roster_groups()))
        out = {}
        for gid in ids:
            times = sorted(x.decode() for x in await self.r.hkeys(self.k.listen_roster_times(gid)))
            out[gid] = times
        return out

    async def drop_roster(self, gid: int) -> None:
        await self.set_roster_times(gid, [], 0)
