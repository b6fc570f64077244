"""State of the features that listen to customer groups: the steps a pasted 接龙 list was read as,
the questions waiting to be sent to a group's guide, and when a 团's roster is to be posted.

Group text is private: a question batch keeps what the guide needs (who, what, the answer) and
expires after `[listen] text_days`; nothing else here holds message text.
"""
from __future__ import annotations

import json

from redis.asyncio import Redis

from store.keys import DAY, Keys
from store.lua import bind

PLAN_TTL = 3 * DAY


class ListenState:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._queue = bind(redis, "listen_queue")
        self._sent = bind(redis, "listen_sent")

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
        """Queue a message's question for the group's guide once. The group's due time is set after
        the push (and again on a redelivery), so a batch being sent meanwhile cannot strand it."""
        res = await self._queue(keys=[self.k.listen_queued(chat_id, msg_id), self.k.listen_batch(chat_id)],
                                args=[json.dumps(item, ensure_ascii=False), ttl])
        await self.r.zadd(self.k.listen_due(), {chat_id: due}, nx=True)
        return bool(res)

    async def due(self, now: float, limit: int = 200) -> list[str]:
        raw = await self.r.zrangebyscore(self.k.listen_due(), "-inf", repr(float(now)), start=0, num=limit)
        return [x.decode() if isinstance(x, bytes) else x for x in raw]

    async def postpone(self, chat_id: str, until: float) -> None:
        await self.r.zadd(self.k.listen_due(), {chat_id: until}, xx=True)

    async def batch(self, chat_id: str) -> list[dict]:
        return [json.loads(x) for x in await self.r.lrange(self.k.listen_batch(chat_id), 0, -1)]

    async def sent(self, chat_id: str, count: int) -> None:
        """Drop the `count` questions just sent; the group leaves the due set unless more arrived
        (checked again after leaving it, so a question pushed in between is never stranded)."""
        if await self._sent(keys=[self.k.listen_batch(chat_id)], args=[count]):
            return
        await self.r.zrem(self.k.listen_due(), chat_id)
        if await self.r.llen(self.k.listen_batch(chat_id)):
            await self.r.zadd(self.k.listen_due(), {chat_id: 0}, nx=True)

    # -- roster posts at chosen times ------------------------------------------------------------
    async def set_roster_times(self, gid: int, times: list[str], ttl: int) -> None:
        key = self.k.listen_roster_times(gid)
        async with self.r.pipeline(transaction=False) as p:  # two slots: the 团's times and the index
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
