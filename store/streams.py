"""Durable partitioned streams (inbox and outbox): dedupe + XADD in one step, consumer-group reads.

A conversation always hashes to the same partition and each partition has one owner at a time
(a lease), so messages of one conversation are handled in order even with many workers.

Retention: a stream is never capped at write time (a cap would drop entries nobody has handled);
its owner trims it (trim()) to the oldest entry that is still pending or undelivered, so an acked
entry lives until the next trim tick and an un-acked one as long as it takes. Dead letters are
capped by count at write time and by age at each trim (see store/keys.py `dead`).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from store.keys import Keys
from store.lua import Call, bind, run_all, same_slot, slots_checked
from store.packed import exchange

log = logging.getLogger(__name__)
T = TypeVar("T")

GROUP = "workers"


MAX_PUT_MANY = 200  # entries per script call: a kf page of 1000 does not hold Redis in one script


@dataclass(frozen=True, slots=True)
class Put:
    """One dedupe+XADD, ready to run (keys and args of store/lua/streams_put.lua for one entry)."""
    keys: tuple[str, str]
    args: tuple


@dataclass(frozen=True, slots=True)
class Entry:
    part: int
    id: str
    key: str  # route key: the conversation (inbox) or recipient (outbox)
    data: str
    deliveries: int = 1
    # Writes the handler wants made together with this entry's ack (its replies, and writes deferred
    # with store/lua.py `later`): see ack().
    staged: list[Put | Call] = field(default_factory=list, compare=False)


_ARCHIVED = b'"channel":"archive"'  # how Message.to_json writes an archived line


class PartitionedStream:
    def __init__(self, redis: Redis, keys: Keys, name: str, partitions: int,
                 dedupe_ttl: int = 3 * 86400, dead_max: int = 10_000, dead_days: float = 30) -> None:
        self.r, self.k, self.name, self.n = redis, keys, name, partitions
        self.dedupe_ttl, self.dead_max, self.dead_days = dedupe_ttl, dead_max, dead_days
        self.group_text_days: float | None = None  # dead letters of archived group lines go sooner (privacy)
        self._put_many = bind(redis, "streams_put")
        self._claim = bind(redis, "lease_claim")
        self._release = bind(redis, "compare_and_delete")
        self._heartbeat = bind(redis, "streams_heartbeat")
        self._dead_letter = bind(redis, "streams_dead_letter")
        self._queue: list[tuple[list, list, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    def part_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.n

    def key(self, part: int) -> str:
        return self.k.stream(self.name, part)

    async def ensure_groups(self) -> None:
        for part in range(self.n):
            await self.ensure_group(part)

    async def ensure_group(self, part: int) -> None:
        # Every role creates the group with id 0, so whichever starts first, nothing is skipped;
        # after a Redis that restarted empty, id 0 also reads what was written since.
        try:
            await self.r.xgroup_create(self.key(part), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _grouped(self, part: int, call: Callable[[], Awaitable[T]]) -> T:
        """Run a consumer-group command; if the group is gone (Redis restarted empty, or the stream
        was deleted), recreate it and run the command again."""
        try:
            return await call()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        log.warning("%s partition %d: consumer group missing (Redis lost its data?); recreating it",
                    self.name, part)
        await self.ensure_group(part)
        return await call()

    def prepare(self, route_key: str, dedupe_id: str, data: str) -> Put:
        part = self.part_of(route_key)
        return Put((self.k.seen(self.name, part, dedupe_id), self.key(part)), (self.dedupe_ttl, data, route_key))

    async def put(self, route_key: str, dedupe_id: str, data: str) -> str | None:
        """Append unless dedupe_id was seen; returns the stream id, or None for a duplicate."""
        p = self.prepare(route_key, dedupe_id, data)
        [res] = await self._put_many(keys=list(p.keys), args=list(p.args))
        return res.decode() if isinstance(res, bytes) else res

    def put_batched(self, route_key: str, dedupe_id: str, data: str | bytes) -> asyncio.Future[str | None]:
        """Like put(), but concurrent callers share one pipelined round trip (group commit).

        Each entry is its own dedupe+XADD, in call order, and each caller gets its own result; the
        entries of one partition go in one script call with one reply. Under load this cuts the
        per-callback Redis cost several times over. A call that fails fails every entry in it: the
        callers answer "retry", and what it did store is found by the dedupe markers on the retry.

        Queued when called (not when awaited); returns the future of the result, to await (or
        gather) as the coroutine it used to be: no coroutine per entry on the ack path.
        """
        fut = asyncio.get_running_loop().create_future()
        route = route_key.encode()
        part = zlib.crc32(route) % self.n  # part_of(route_key)
        seen = self._seen_prefix[part] + dedupe_id.encode() if self._seen_prefix else \
            self.k.seen(self.name, part, dedupe_id).encode()
        self._queue.append((part, seen, data if isinstance(data, bytes) else data.encode(), route, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return fut

    @functools.cached_property
    def _seen_prefix(self) -> list[bytes]:
        """Per partition, the dedupe marker's key less the id (empty if Keys.seen is not that shape)."""
        prefixes = [self.k.seen(self.name, part, "").encode() for part in range(self.n)]
        ok = all(self.k.seen(self.name, part, "x-1").encode() == prefixes[part] + b"x-1" for part in range(self.n))
        return prefixes if ok else []

    @functools.cached_property
    def _stream_bulk(self) -> list[bytes]:
        """Per partition, its stream key as a RESP bulk string."""
        return [_bulk(self.key(part).encode()) for part in range(self.n)]

    async def _flush(self) -> None:
        # One pooled connection serves the group commit for as long as callers keep it busy: taking
        # it from the (blocking) pool and giving it back cost more Python than packing a batch.
        conn = None
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                calls: list[list] = []  # entries per script call: one partition, at most MAX_PUT_MANY
                open_call: dict[int, list] = {}
                for item in batch:
                    call = open_call.get(item[0])
                    if call is None or len(call) >= MAX_PUT_MANY:
                        call = open_call[item[0]] = []
                        calls.append(call)
                    call.append(item)
                try:
                    if isinstance(self.r, RedisCluster):
                        results = await self._send_cluster(calls)
                    else:
                        if conn is None:
                            conn = await self.r.connection_pool.get_connection()
                        results = await self._send_calls(calls, conn)
                except Exception as exc:
                    if conn is not None:  # disconnected by _send_calls: back to the pool, a fresh one next time
                        await self.r.connection_pool.release(conn)
                        conn = None
                    for *_, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for call, res in zip(calls, results):
                    if isinstance(res, NoScriptError):  # first use on this server, or after a restart
                        try:
                            res = await self._put_many(keys=[k for part, seen, *_ in call for k in (seen, self.key(part))],
                                                       args=[self.dedupe_ttl, *(x for _, _, d, r, _ in call for x in (d, r))])
                        except Exception as exc:
                            res = exc
                    each = res if isinstance(res, list) else [res] * len(call)
                    for (*_, fut), one in zip(call, each):
                        if fut.done():
                            continue
                        if isinstance(one, Exception):
                            fut.set_exception(one)
                        else:
                            fut.set_result(one.decode() if isinstance(one, bytes) else one)
        finally:
            if conn is not None:
                await self.r.connection_pool.release(conn)

    async def _send_cluster(self, calls: list[list]) -> list:
        """On Redis Cluster the calls go through the cluster pipeline, which sends each to its slot's node."""
        async with self.r.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.evalsha(self._put_many.sha, 2 * len(call),
                             *(k for part, seen, *_ in call for k in (seen, self.key(part))),
                             self.dedupe_ttl, *(x for _, _, d, r, _ in call for x in (d, r)))
            return await pipe.execute(raise_on_error=False)

    async def _send_calls(self, calls: list[list], conn) -> list:
        """One EVALSHA per call, written as one RESP buffer on `conn`; a reply per call.

        redis-py's pipeline spends ~30 µs of Python per command building and decoding it; packing
        this fixed-shape command by hand takes a few, which is most of the ack budget. On an error
        the connection is disconnected (a half-read reply stream must not be used again) and the
        error raised.
        """
        sha = self._put_many.sha.encode() if isinstance(self._put_many.sha, str) else self._put_many.sha
        head = b"$7\r\nEVALSHA\r\n" + _bulk(sha)
        ttl = _bulk(b"%d" % self.dedupe_ttl)
        streams = self._stream_bulk
        chunks: list[bytes] = []
        for call in calls:
            n = len(call)
            if slots_checked():
                same_slot([self.key(call[0][0]), *(seen for _, seen, *_ in call)], "streams_put (group commit)")
            stream_key = streams[call[0][0]]
            chunks += (b"*%d\r\n" % (4 + 4 * n), head, _bulk(b"%d" % (2 * n)))
            for _, seen, _, _, _ in call:
                chunks += (_bulk(seen), stream_key)
            chunks.append(ttl)
            for _, _, data, route, _ in call:
                chunks += (_bulk(data), _bulk(route))
        try:
            return await exchange(self.r.connection_pool, conn, b"".join(chunks), len(calls))
        except BaseException:
            await conn.disconnect()  # a half-read reply stream must not go back to the pool
            raise

    # -- ownership ---------------------------------------------------------------------------
    async def claim(self, part: int, owner: str, ttl_ms: int) -> int:
        """Take the partition's lease if free (2) or renew ours (1); 0 if another consumer holds it."""
        return int(await self._claim(keys=[self.k.lease(self.name, part)], args=[owner, ttl_ms]))

    async def claim_many(self, parts: list[int], owner: str, ttl_ms: int) -> list[int]:
        """claim() for several partitions in one round trip."""
        calls = [self._claim.call([self.k.lease(self.name, part)], [owner, ttl_ms]) for part in parts]
        return [int(x) for x in await run_all(self.r, calls)]

    async def holders(self, parts: list[int]) -> list[str | None]:
        """Who holds each partition's lease (None: free), in one round trip."""
        if not parts:
            return []
        async with self.r.pipeline(transaction=False) as pipe:
            for part in parts:
                pipe.get(self.k.lease(self.name, part))
            return [None if x is None else _s(x) for x in await pipe.execute()]

    async def acquire(self, part: int, owner: str, ttl_ms: int) -> bool:
        return await self.claim(part, owner, ttl_ms) > 0

    async def release(self, part: int, owner: str) -> None:
        await self._release(keys=[self.k.lease(self.name, part)], args=[owner])

    async def heartbeat(self, member: str, ttl_ms: int) -> int:
        """Say `member` is alive for ttl_ms more; returns how many consumers of this stream are."""
        return int(await self._heartbeat(keys=[self.k.members(self.name)], args=[member, ttl_ms]))

    async def leave(self, member: str) -> None:
        await self.r.zrem(self.k.members(self.name), member)

    # -- consuming ---------------------------------------------------------------------------
    async def read_new(self, part: int, consumer: str, count: int = 50, block_ms: int | None = None) -> list[Entry]:
        res = await self._grouped(part, lambda: self.r.xreadgroup(GROUP, consumer, {self.key(part): ">"},
                                                                  count=count, block=block_ms))
        return [Entry(part, _s(eid), _s(fields.get(b"k", b"")), _s(fields.get(b"d", b""))) for _, items in res or [] for eid, fields in items
                if fields is not None]

    async def reclaim(self, part: int, consumer: str, min_idle_ms: int, count: int = 50,
                      start: str = "0-0") -> tuple[list[Entry], str, list[str]]:
        """XAUTOCLAIM entries idle longer than min_idle_ms (crashed consumers, failed tries), in id order.

        Returns (entries, cursor to continue from, "0-0" when the end was reached, ids of pending
        entries that no longer exist). Redis drops the last from the pending list itself; the
        caller must report them, they are messages that were never handled.
        """
        res = await self._grouped(part, lambda: self.r.xautoclaim(self.key(part), GROUP, consumer, min_idle_ms,
                                                                  start, count=count))
        cursor = _s(res[0])
        lost = [_s(x) for x in (res[2] if len(res) > 2 else [])]
        lost += [_s(eid) for eid, f in res[1] if f is None]  # Redis 6.2 answers nil fields instead
        claimed = [(eid, f) for eid, f in res[1] if f is not None]
        if not claimed:
            return [], cursor, lost
        return await self._with_counts(part, claimed), cursor, lost

    async def take(self, part: int, consumer: str, ids: list[str]) -> list[Entry]:
        """XCLAIM these pending entries now, whatever their idle time (entries held back behind
        one that has just succeeded); ids no longer pending are left out."""
        res = await self._grouped(part, lambda: self.r.xclaim(self.key(part), GROUP, consumer, 0, ids))
        claimed = [(eid, f) for eid, f in res if f is not None]
        if not claimed:
            return []
        return await self._with_counts(part, claimed)

    async def _with_counts(self, part: int, claimed: list) -> list[Entry]:
        counts = {}
        pending = await self.r.xpending_range(self.key(part), GROUP, min=_s(claimed[0][0]),
                                              max=_s(claimed[-1][0]), count=len(claimed) * 4 + 10)
        for p in pending:
            counts[_s(p["message_id"])] = int(p["times_delivered"])
        return [Entry(part, _s(eid), _s(f.get(b"k", b"")), _s(f.get(b"d", b"")), counts.get(_s(eid), 1))
                for eid, f in claimed]

    async def pending_ids(self, part: int, lo: str, hi: str) -> set[str]:
        """Ids between lo and hi (inclusive) that are still pending in the group."""
        res = await self._grouped(part, lambda: self.r.xpending_range(self.key(part), GROUP, min=lo, max=hi,
                                                                      count=100_000))
        return {_s(p["message_id"]) for p in res}

    async def defer(self, consumer: str, entries: list[Entry]) -> None:
        """Hand back entries that were read but not tried (they wait behind a failed one).

        Reading bumped their delivery count; setting it back means max_deliveries counts real
        tries, so a poison message cannot drag the entries queued behind it into the dead letters.
        """
        if not entries:
            return

        async def run() -> None:
            async with self.r.pipeline(transaction=False) as pipe:
                for e in entries:
                    pipe.xclaim(self.key(e.part), GROUP, consumer, 0, [e.id], retrycount=e.deliveries - 1,
                                justid=True)
                await pipe.execute()
        await self._grouped(entries[0].part, run)

    async def ack(self, entry: Entry) -> None:
        """XACK the entry once the writes it staged (its replies) are stored.

        Two steps, not one MULTI: on a Redis Cluster the replies' outbox partitions and this inbox
        partition are different hash slots, and a transaction cannot span slots. Still exactly
        once: every staged put is deduped by an id derived from the inbound message id, and the
        XACK is sent only after every put answered. A crash between the steps leaves the entry
        pending; it is handled again, its replies find their dedupe markers (nothing is appended
        twice), and the XACK follows. Nothing acked is lost, and no reply is sent twice.
        """
        if entry.staged:
            await self.put_prepared(entry.staged)
        await self._grouped(entry.part, lambda: self.r.xack(self.key(entry.part), GROUP, entry.id))

    async def put_prepared(self, puts: list[Put | Call]) -> list:
        """Run prepared puts (of any partitions of any stream) in one pipelined round trip; raises
        if any of them failed (those that did run are found by their dedupe markers on a retry).
        Script calls among them (writes deferred to the ack, store/lua.py `later`) run in the same
        round trip, in order; each answer is the put's stream id (None: a duplicate) or the call's reply."""
        calls = [p if isinstance(p, Call) else self._put_many.call(list(p.keys), list(p.args)) for p in puts]
        res = await run_all(self.r, calls)
        return [one if isinstance(p, Call) else _s(one[0]) if one[0] else None for p, one in zip(puts, res)]

    async def dead_letter(self, entry: Entry, reason: str) -> None:
        """Move the entry to the dead letters: store the letter, then XACK.

        The dead-letter stream and the partition are different hash slots, so no MULTI: the letter
        is written with a marker keyed by the entry (store/lua/streams_dead_letter.lua), so a crash
        before the XACK, which leaves the entry pending and dead-lettered again, stores no second
        letter. The entry leaves the pending list only once its letter is stored.
        """
        await self._dead_letter(keys=[self.k.dead_marker(self.name, entry.part, entry.id), self.k.dead(self.name)],
                                args=[self.dedupe_ttl, self.dead_max, entry.data, reason, entry.id])
        await self._grouped(entry.part, lambda: self.r.xack(self.key(entry.part), GROUP, entry.id))

    # -- retention and lag ---------------------------------------------------------------------
    async def trim(self, part: int) -> int:
        """Drop entries that every reader is done with: older than both the oldest pending entry
        and the group's last-delivered id. Returns how many were removed."""
        key = self.key(part)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.xinfo_groups(key)
            pipe.xpending(key, GROUP)
            groups, pending = await pipe.execute(raise_on_error=False)
        if isinstance(groups, Exception) or isinstance(pending, Exception):
            return 0  # no stream or no group yet: nothing to trim
        group = next((g for g in groups if _s(g["name"]) == GROUP), None)
        if group is None:
            return 0
        # Nothing at or after last-delivered is trimmed (so the group never re-reads a gap), nor
        # anything still pending; ids only grow, so this floor stays safe until XTRIM runs.
        floor = _id(_s(group["last-delivered-id"]))
        if int(pending["pending"]):
            floor = min(floor, _id(_s(pending["min"])))
        if floor <= (0, 0):
            return 0
        # Exact, not "~": an approximate trim only drops whole nodes and would keep a stream with
        # one old pending entry at full length; exact costs little on a timer.
        return int(await self.r.xtrim(key, minid=f"{floor[0]}-{floor[1]}", approximate=False))

    async def trim_dead(self) -> int:
        """Dead letters older than dead_days go (they are capped by count at write time too), and
        those holding a customer group's words ([archive] keep_days) once that shorter time is up."""
        key = self.k.dead(self.name)
        oldest_ms = int((time.time() - self.dead_days * 86400) * 1000)
        removed = int(await self.r.xtrim(key, minid=str(max(oldest_ms, 0)), approximate=True))
        if self.group_text_days is not None and self.group_text_days < self.dead_days:
            cutoff_ms = int((time.time() - self.group_text_days * 86400) * 1000)
            rows = await self.r.xrange(key, min="-", max=str(max(cutoff_ms, 0)), count=self.dead_max)
            private = [eid for eid, f in rows if _ARCHIVED in (f.get(b"d") or b"")]
            if private:
                removed += int(await self.r.xdel(key, *private))
        return removed

    async def lag(self) -> dict[int, int]:
        """Per partition: entries not yet acked (undelivered + pending), in one round trip."""
        async with self.r.pipeline(transaction=False) as pipe:
            for part in range(self.n):
                pipe.xinfo_groups(self.key(part))
                pipe.xlen(self.key(part))
            res = await pipe.execute(raise_on_error=False)
        out = {}
        for part in range(self.n):
            groups, length = res[2 * part], res[2 * part + 1]
            group = None if isinstance(groups, Exception) else next(
                (g for g in groups if _s(g["name"]) == GROUP), None)
            if isinstance(length, Exception):
                raise length
            if group is None or group.get("lag") is None:
                out[part] = int(length)  # unknown lag: the (trimmed) length is an upper bound
            else:
                out[part] = int(group["lag"]) + int(group["pending"])
        return out

    async def dead_letters(self, ids: list[str] | None = None, limit: int = 1000) -> list[tuple[str, dict[str, str]]]:
        """Dead letters (id, fields), oldest first: those with the given stream ids, or the first `limit`."""
        key = self.k.dead(self.name)
        if ids:
            rows = [row for i in ids for row in await self.r.xrange(key, min=i, max=i)]
        else:
            rows = await self.r.xrange(key, count=limit)
        return [(_s(eid), {_s(k): _s(v) for k, v in f.items()}) for eid, f in rows]

    async def drop_dead(self, entry_id: str) -> None:
        """Delete one dead letter (replayed, or not worth replaying)."""
        await self.r.xdel(self.k.dead(self.name), entry_id)

    async def dead_count(self) -> int:
        return int(await self.r.xlen(self.k.dead(self.name)))

    async def pending_count(self) -> int:
        total = 0
        for part in range(self.n):
            info = await self.r.xpending(self.key(part), GROUP)
            total += int(info["pending"])
        return total

    async def length(self) -> int:
        return sum([await self.r.xlen(self.key(p)) for p in range(self.n)])


def _id(s: str) -> tuple[int, int]:
    ms, _, seq = s.partition("-")
    return int(ms), int(seq or 0)


def _bulk(v: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(v), v)


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v
