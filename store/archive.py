"""Chat-archive reader state: the seq cursor, the one-reader lease, the wake flag, skipped items, the
groups' recent lines and their consent counts (keys in store/keys.py, `archive_*`).

The cursor is fenced by the lease: a reader that lost its lease (paused, partitioned) cannot move
the cursor of the one that took over, and the cursor never moves backwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from store.keys import DAY, Keys
from store.lua import bind

POISON_KEPT = 1000
LINES_KEPT = 2000  # per group; the features look back minutes or hours, not thousands of lines
WAKE_TTL = 60


class LeaseLost(Exception):
    """Another reader holds the corp's lease: this one must stop writing."""


@dataclass(frozen=True, slots=True)
class Consent:
    agree: int = 0
    disagree: int = 0
    default: int = 0  # Default_Agree: counted as agreed, as WeCom archives them
    checked_at: float = 0.0

    @property
    def members(self) -> int:
        return self.agree + self.disagree + self.default

    @property
    def coverage(self) -> float:
        """Share of the group's external members whose messages WeCom archives (1.0 when none)."""
        return (self.agree + self.default) / self.members if self.members else 1.0


class ArchiveState:
    def __init__(self, redis: Redis, keys: Keys, corp_id: str) -> None:
        self.r, self.k, self.corp = redis, keys, corp_id
        self._claim = bind(redis, "lease_claim")
        self._release = bind(redis, "compare_and_delete")
        self._save = bind(redis, "archive_save_cursor")

    # -- lease and cursor ----------------------------------------------------------------------
    async def claim(self, owner: str, ttl_ms: int) -> int:
        return int(await self._claim(keys=[self.k.archive_lease(self.corp)], args=[owner, ttl_ms]))

    async def release(self, owner: str) -> None:
        await self._release(keys=[self.k.archive_lease(self.corp)], args=[owner])

    async def holder(self) -> str | None:
        v = await self.r.get(self.k.archive_lease(self.corp))
        return v.decode() if isinstance(v, bytes) else v

    async def cursor(self) -> int:
        v = await self.r.hget(self.k.archive_cursor(self.corp), "seq")
        return int(v) if v else 0

    async def save_cursor(self, owner: str, seq: int) -> None:
        """Move the cursor to `seq` (never back); LeaseLost if `owner` no longer holds the lease."""
        ok = await self._save(keys=[self.k.archive_lease(self.corp), self.k.archive_cursor(self.corp)],
                              args=[owner, seq, int(time.time())])
        if not int(ok):
            raise LeaseLost(self.corp)

    # -- msgaudit_notify -----------------------------------------------------------------------
    async def wake(self) -> None:
        await wake(self.r, self.k, self.corp)

    async def wait_wake(self, timeout: float) -> bool:
        """True when woken by a notify, False when `timeout` seconds passed (the safety pull)."""
        return await self.r.blpop([self.k.archive_wake(self.corp)], timeout=max(timeout, 0.01)) is not None

    # -- skipped items -------------------------------------------------------------------------
    async def record_poison(self, seq: int, msgid: str, version: int, reason: str) -> None:
        await self.r.xadd(self.k.archive_poison(self.corp),
                          {"seq": seq, "msgid": msgid, "ver": version, "reason": reason, "at": int(time.time())},
                          maxlen=POISON_KEPT, approximate=True)

    async def poison(self, count: int = 100) -> list[dict[str, str]]:
        rows = await self.r.xrange(self.k.archive_poison(self.corp), count=count)
        return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in rows]

    # -- recent group lines ----------------------------------------------------------------------
    async def add_lines(self, lines: list[tuple[str, int, dict]], keep_days: int) -> None:
        """Store (chat_id, msgtime ms, line) in one round trip: idempotent (same member on a replay),
        trimmed to keep_days and LINES_KEPT, expiring keep_days after the group's last line."""
        if not lines:
            return
        floor = int((time.time() - keep_days * DAY) * 1000)
        touched = set()
        async with self.r.pipeline(transaction=False) as pipe:
            for chat_id, ms, line in lines:
                key = self.k.archive_lines(chat_id)
                pipe.zadd(key, {orjson.dumps(line): ms})
                touched.add(key)
            for key in touched:
                pipe.zremrangebyscore(key, "-inf", floor)
                pipe.zremrangebyrank(key, 0, -LINES_KEPT - 1)
                pipe.expire(key, keep_days * DAY)
            await pipe.execute()

    async def recent_lines(self, chat_id: str, since_ms: int = 0) -> list[dict]:
        rows = await self.r.zrangebyscore(self.k.archive_lines(chat_id), since_ms, "+inf")
        return [orjson.loads(x) for x in rows]

    # -- consent -------------------------------------------------------------------------------
    async def consent(self, chat_id: str) -> Consent | None:
        d = await self.r.hgetall(self.k.archive_consent(chat_id))
        if not d:
            return None
        g = {k.decode(): v.decode() for k, v in d.items()}
        return Consent(int(g.get("agree", 0)), int(g.get("disagree", 0)), int(g.get("default", 0)),
                       float(g.get("at", 0)))

    async def save_consent(self, chat_id: str, c: Consent, ttl: int) -> None:
        key = self.k.archive_consent(chat_id)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"agree": c.agree, "disagree": c.disagree, "default": c.default,
                                    "at": c.checked_at})
            pipe.expire(key, ttl)
            await pipe.execute()


async def wake(redis: Redis, keys: Keys, corp_id: str) -> None:
    """A msgaudit_notify arrived: one token for the reader's BLPOP (more would mean nothing more)."""
    key = keys.archive_wake(corp_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.lpush(key, "1")
        pipe.ltrim(key, 0, 0)
        pipe.expire(key, WAKE_TTL)
        await pipe.execute()
