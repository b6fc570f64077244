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

# KEYS: held, meta, due. ARGV: target, item, next ms, meta field/value pairs.
# 1 = parked now, 0 = the target was parked already: the item joined the end of its list.
_PARK = """
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  if not redis.call('LPOS', KEYS[1], ARGV[2]) then redis.call('RPUSH', KEYS[1], ARGV[2]) end
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"""

# KEYS: held, due, meta. ARGV: target, item, wake ms or "". 1 = held behind the parked ones,
# 0 = target not parked. With a wake time, a first entry waiting only for kf's reply quota is
# tried again then: a new reply to a kf shopper usually means the shopper wrote again.
_JOIN = """
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
if not redis.call('LPOS', KEYS[1], ARGV[2]) then redis.call('RPUSH', KEYS[1], ARGV[2]) end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], 'kind') == 'quota' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""

# KEYS: meta, due. ARGV: target, next ms, meta field/value pairs. The first entry failed again.
_AGAIN = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: held, meta, due. ARGV: target, item. The first entry is done (sent or dead-lettered):
# drop it and return the next one, or unpark the target when none is left.
_NEXT = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[2] then redis.call('LPOP', KEYS[1]) end
redis.call('DEL', KEYS[2])
local nxt = redis.call('LINDEX', KEYS[1], 0)
if not nxt then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return false
end
return nxt
"""

# KEYS: due, partition stream. ARGV: now ms, lease ms, max targets.
# Claims due targets for `lease` (their score becomes the claim token) and queues a resume marker
# for each in the partition stream, with the fields the stream's own XADD uses (k = route, d = data).
# No MAXLEN here: a cap could trim entries not yet handled; bounding the stream is its owner's job.
# A marker lost with a crashed worker is claimed again once the lease has passed.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local token = tostring(tonumber(ARGV[1]) + tonumber(ARGV[2]))
for _, target in ipairs(due) do
  redis.call('ZADD', KEYS[1], token, target)
  redis.call('XADD', KEYS[2], '*', 'k', target, 'd', '{"resume":' .. token .. '}')
end
return #due
"""


class Parking:
    def __init__(self, redis: Redis, keys: Keys, name: str, partitions: int) -> None:
        self.r, self.k, self.name, self.n = redis, keys, name, partitions
        self._park = redis.register_script(_PARK)
        self._join = redis.register_script(_JOIN)
        self._again = redis.register_script(_AGAIN)
        self._next = redis.register_script(_NEXT)
        self._claim = redis.register_script(_CLAIM)

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
        async with self.r.pipeline(transaction=False) as pipe:
            for part in range(self.n):
                # evalsha directly: a Script in a pipeline costs a SCRIPT EXISTS round trip first.
                pipe.evalsha(self._claim.sha, 2, self.due_key(part), stream_key(part), now_ms, lease_ms, limit)
            res = await pipe.execute(raise_on_error=False)
        total = 0
        for part, r in enumerate(res):
            if isinstance(r, Exception):  # NOSCRIPT after a Redis restart: load it through the Script
                r = await self._claim(keys=[self.due_key(part), stream_key(part)], args=[now_ms, lease_ms, limit])
            total += int(r)
        return total

    async def waiting(self) -> int:
        """Targets with held entries, over all partitions."""
        async with self.r.pipeline(transaction=False) as pipe:
            for part in range(self.n):
                pipe.zcard(self.due_key(part))
            return sum(await pipe.execute())

    async def is_parked(self, part: int, target: str) -> bool:
        return await self.r.zscore(self.due_key(part), target) is not None


def item_of(entry_id: str, data: str) -> bytes:
    """How an outbox entry sits in a held list: the same bytes for every delivery of that entry."""
    return json.dumps({"e": entry_id, "d": data}, ensure_ascii=False, separators=(",", ":")).encode()


def parse_item(item: bytes) -> tuple[str, str]:
    obj = json.loads(item)
    return obj["e"], obj["d"]
