"""Durable partitioned streams (inbox and outbox): dedupe + XADD in one step, consumer-group reads.

A conversation always hashes to the same partition and each partition has one owner at a time
(a lease), so messages of one conversation are handled in order even with many workers.
"""
from __future__ import annotations

import asyncio
import math
import zlib
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

from store.keys import Keys

GROUP = "workers"

# KEYS[1] dedupe marker, KEYS[2] stream; ARGV: ttl, maxlen, payload, route key. Returns the entry id or false.
_PUT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'k', ARGV[4], 'd', ARGV[3])
end
return false
"""

# Renew a lease only if we still own it. KEYS[1] lease; ARGV: owner, ttl ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Entry:
    part: int
    id: str
    key: str  # route key: the conversation (inbox) or recipient (outbox)
    data: str
    deliveries: int = 1


class PartitionedStream:
    def __init__(self, redis: Redis, keys: Keys, name: str, partitions: int,
                 dedupe_ttl: int = 3 * 86400, maxlen: int = 200_000) -> None:
        self.r, self.k, self.name, self.n = redis, keys, name, partitions
        self.dedupe_ttl, self.maxlen = dedupe_ttl, maxlen
        self._put = redis.register_script(_PUT)
        self._renew = redis.register_script(_RENEW)
        self._queue: list[tuple[list, list, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    def part_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.n

    def key(self, part: int) -> str:
        return self.k.stream(self.name, part)

    async def ensure_groups(self) -> None:
        # Every role creates the group with id 0, so whichever starts first, nothing is skipped.
        for part in range(self.n):
            try:
                await self.r.xgroup_create(self.key(part), GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def put(self, route_key: str, dedupe_id: str, data: str) -> str | None:
        """Append unless dedupe_id was seen; returns the stream id, or None for a duplicate."""
        part = self.part_of(route_key)
        res = await self._put(keys=[self.k.seen(self.name, part, dedupe_id), self.key(part)],
                              args=[self.dedupe_ttl, self.maxlen, data, route_key])
        return res.decode() if isinstance(res, bytes) else res

    async def put_batched(self, route_key: str, dedupe_id: str, data: str) -> str | None:
        """Like put(), but concurrent callers share one pipelined round trip (group commit).

        Each entry is still its own atomic script call and each caller gets its own result; under
        load this cuts the per-callback Redis cost several times over.
        """
        fut = asyncio.get_running_loop().create_future()
        part = self.part_of(route_key)
        self._queue.append(([self.k.seen(self.name, part, dedupe_id), self.key(part)],
                            [self.dedupe_ttl, self.maxlen, data, route_key], fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self._send_batch(batch)
                for (keys, args, fut), res in zip(batch, results):
                    if isinstance(res, NoScriptError):  # first use on this server, or after a restart
                        res = await self._put(keys=keys, args=args)
                    if fut.done():
                        continue
                    if isinstance(res, Exception):
                        fut.set_exception(res)
                    else:
                        fut.set_result(res.decode() if isinstance(res, bytes) else res)
            except Exception as exc:
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)

    async def _send_batch(self, batch: list) -> list:
        """EVALSHA for each entry, written as one RESP buffer on one connection.

        redis-py's pipeline spends ~30 µs of Python per command building and decoding it; packing
        this single fixed-shape command by hand takes a few, which is most of the ack budget.
        """
        sha = self._put.sha.encode() if isinstance(self._put.sha, str) else self._put.sha
        chunks = []
        for keys, args, _ in batch:
            parts = [b"EVALSHA", sha, b"2", *(_b(x) for x in keys), *(_b(x) for x in args)]
            chunks.append(b"*%d\r\n" % len(parts))
            for part in parts:
                chunks.append(b"$%d\r\n%s\r\n" % (len(part), part))
        pool = self.r.connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_packed_command(b"".join(chunks), check_health=False)
            results: list = []
            # One deadline for the whole batch instead of a timeout context per reply.
            async with asyncio.timeout(pool.connection_kwargs.get("socket_timeout") or 10):
                for _ in batch:
                    try:
                        results.append(await conn.read_response(disable_decoding=True, timeout=math.inf))
                    except ResponseError as exc:  # an error reply is fully read; the stream stays in sync
                        results.append(exc)
            return results
        except BaseException:
            await conn.disconnect()  # a half-read reply stream must not go back to the pool
            raise
        finally:
            await pool.release(conn)

    # -- ownership ---------------------------------------------------------------------------
    async def acquire(self, part: int, owner: str, ttl_ms: int) -> bool:
        key = self.k.lease(self.name, part)
        if await self.r.set(key, owner, nx=True, px=ttl_ms):
            return True
        return bool(await self._renew(keys=[key], args=[owner, ttl_ms]))

    async def release(self, part: int, owner: str) -> None:
        key = self.k.lease(self.name, part)
        await self.r.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                          1, key, owner)

    # -- consuming ---------------------------------------------------------------------------
    async def read_new(self, part: int, consumer: str, count: int = 50, block_ms: int | None = None) -> list[Entry]:
        res = await self.r.xreadgroup(GROUP, consumer, {self.key(part): ">"}, count=count, block=block_ms)
        return [Entry(part, _s(eid), _s(fields.get(b"k", b"")), _s(fields.get(b"d", b""))) for _, items in res or [] for eid, fields in items
                if fields is not None]

    async def reclaim(self, part: int, consumer: str, min_idle_ms: int, count: int = 50) -> list[Entry]:
        """XAUTOCLAIM entries idle longer than min_idle_ms (crashed consumers, failed tries), in id order."""
        res = await self.r.xautoclaim(self.key(part), GROUP, consumer, min_idle_ms, "0-0", count=count)
        claimed = [(eid, f) for eid, f in res[1] if f is not None]
        if not claimed:
            return []
        counts = {}
        pending = await self.r.xpending_range(self.key(part), GROUP, min=_s(claimed[0][0]),
                                              max=_s(claimed[-1][0]), count=len(claimed) * 4 + 10)
        for p in pending:
            counts[_s(p["message_id"])] = int(p["times_delivered"])
        return [Entry(part, _s(eid), _s(f.get(b"k", b"")), _s(f.get(b"d", b"")), counts.get(_s(eid), 1))
                for eid, f in claimed]

    async def defer(self, consumer: str, entries: list[Entry]) -> None:
        """Hand back entries that were read but not tried (they wait behind a failed one).

        Reading bumped their delivery count; setting it back means max_deliveries counts real
        tries, so a poison message cannot drag the entries queued behind it into the dead letters.
        """
        if not entries:
            return
        async with self.r.pipeline(transaction=False) as pipe:
            for e in entries:
                pipe.xclaim(self.key(e.part), GROUP, consumer, 0, [e.id], retrycount=e.deliveries - 1, justid=True)
            await pipe.execute()

    async def ack(self, entry: Entry) -> None:
        await self.r.xack(self.key(entry.part), GROUP, entry.id)

    async def dead_letter(self, entry: Entry, reason: str) -> None:
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.xadd(self.k.dead(self.name), {"d": entry.data, "reason": reason, "from": entry.id},
                      maxlen=50_000, approximate=True)
            pipe.xack(self.key(entry.part), GROUP, entry.id)
            await pipe.execute()

    async def pending_count(self) -> int:
        total = 0
        for part in range(self.n):
            info = await self.r.xpending(self.key(part), GROUP)
            total += int(info["pending"])
        return total

    async def length(self) -> int:
        return sum([await self.r.xlen(self.key(p)) for p in range(self.n)])


def _b(v: bytes | str | int) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode()


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v
