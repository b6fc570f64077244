"""Outbox entries waiting for a retry, held per target (recipient) so that order per target holds.

A target is "parked" while it is in its partition's due set; its held list keeps the entries in
the order they were to be sent, the first one being the one retried. Every key of one partition
shares the partition stream's hash tag, so each script below touches one slot, and the timer's
script can put the resume marker into the partition stream in the same step as it claims the
target. Entries are pushed idempotently (a redelivered outbox entry is not held twice).
"""
from __future__ import annotations

import json

from redis.asyncio import Redis

from store.keys import Keys
from store.lua import bind, run_all


class Parking:
    def __init__(self, redis: Redis, keys: Keys, name: str, partitions: int) -> None:
        self.r, self.k, self.name, self.n = redis, keys, name, partitions
        self._park = bind(redis, "parking_park")
        self._join = bind(redis, "parking_join")
        self._again = bind(redis, "parking_again")
        self._next = bind(redis, "parking_next")
        self._claim = bind(redis, "parking_claim")

    def due_key(self, part: int) -> str:
        return self.k.retry_due(self.name, part)

    def _keys(self, part: int, target: str) -> list[str]:
        return [self.k.held(self.name, part, target), self.k.held_meta(self.name, part, target),
                self.due_key(part)]

    async def park(self, part: int, target: str, item: bytes, next_ms: int, meta: dict) -> bool:
        """Hold `item` first for target and schedule its retry; False if target was parked already."""
        flat = [x for kv in meta.items() for x in kv]
        return bool(await self._park(keys=self._keys(part, target), args=[target, item, next_ms, *flat]))

    async def join(self, part: int, target: str, item: bytes, wake_quota_at: int | None = None) -> bool:
        """Hold `item` behind the target's waiting entries; False (nothing done) if it has none."""
        held, meta, due = self._keys(part, target)
        return bool(await self._join(keys=[held, due, meta],
                                     args=[target, item, "" if wake_quota_at is None else wake_quota_at]))

    async def again(self, part: int, target: str, next_ms: int, meta: dict) -> None:
        _, meta_key, due = self._keys(part, target)
        await self._again(keys=[meta_key, due], args=[target, next_ms, *[x for kv in meta.items() for x in kv]])

    async def next(self, part: int, target: str, item: bytes) -> bytes | None:
        return await self._next(keys=self._keys(part, target), args=[target, item])

    async def head(self, part: int, target: str, token: int) -> tuple[bytes | None, dict[str, str]]:
        """The first held entry and its retry state, if the resume marker `token` is current."""
        held, meta, due = self._keys(part, target)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.zscore(due, target)
            pipe.lindex(held, 0)
            pipe.hgetall(meta)
            score, item, state = await pipe.execute()
        if score is None or int(score) != token:
            return None, {}  # a stale marker: the target was resumed or rescheduled since
        if item is None:  # nothing held (a crash between the last send and its bookkeeping)
            await self.r.zrem(due, target)
        return item, {k.decode(): v.decode() for k, v in state.items()}

    async def claim(self, now_ms: int, lease_ms: int, stream_key, limit: int = 100) -> int:
        """Queue resume markers for every due target of every partition; returns how many."""
        calls = [self._claim.call([self.due_key(part), stream_key(part)], [now_ms, lease_ms, limit])
                 for part in range(self.n)]
        return sum(int(r) for r in await run_all(self.r, calls))

    async def waiting(self) -> int:
        """Targets with held entries, over all partitions."""
        async with self.r.pipeline(transaction=False) as pipe:
            for part in range(self.n):
                pipe.zcard(self.due_key(part))
            return sum(await pipe.execute())


def item_of(entry_id: str, data: str) -> bytes:
    """How an outbox entry sits in a held list: the same bytes for every delivery of that entry."""
    return json.dumps({"e": entry_id, "d": data}, ensure_ascii=False, separators=(",", ":")).encode()


def parse_item(item: bytes) -> tuple[str, str]:
    obj = json.loads(item)
    return obj["e"], obj["d"]
