"""Owns stream partitions and feeds their entries, in order per route key, to a handle function.

handle(entry) returning normally means "effects stored, ack it" (writes it staged on the entry go
out with the ack); raising leaves the entry pending, so it is reclaimed (XAUTOCLAIM) after
retry_after_ms and tried again, up to max_deliveries, then dead-lettered. Later entries of the
same route key wait behind a failed one, preserving order.

Long-running mode (run): every consumer of a stream heartbeats into a members ZSET; each holds
about ceil(partitions / live consumers) leases and releases the rest once their in-flight entries
are acked, so a joining worker gets its share within a few ticks and a dead one's partitions are
taken over when its leases expire. A consumer that takes a partition first adopts everything the
previous owner left pending (in id order, before reading anything new), which keeps each
conversation in order across a hand-over. Redis errors never end a loop: they are logged once per
outage, counted, and retried with backoff; a partition whose lease could not be renewed in time is
not polled until it is confirmed again.
"""
from __future__ import annotations

import asyncio
import bisect
import logging
import math
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

from bot import metrics
from bot.loops import Backoff, Outage, unreachable
from store.streams import Entry, PartitionedStream

log = logging.getLogger(__name__)

Handle = Callable[[Entry], Awaitable[None]]
FAST_TICK = 0.2  # seconds between lease rounds while short of our share just after a rebalance
REBALANCE_WINDOW = 5.0  # seconds after the live count changed during which FAST_TICK applies


def _order(e: Entry | str) -> tuple[int, int]:
    ms, _, seq = (e if isinstance(e, str) else e.id).partition("-")
    return int(ms), int(seq or 0)


def consumer_name(role: str) -> str:
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class PartitionConsumer:
    def __init__(self, stream: PartitionedStream, handle: Handle, *, name: str, lease_ms: int = 10_000,
                 retry_after_ms: int = 15_000, max_deliveries: int = 5, batch: int = 50,
                 trim_ms: int = 30_000) -> None:
        self.stream, self.handle, self.name = stream, handle, name
        self.lease_ms, self.retry_after_ms, self.max_deliveries, self.batch = (
            lease_ms, retry_after_ms, max_deliveries, batch)
        # Leases are renewed (and the balance checked) several times per lease period, at least
        # once a second, so a joining worker is seen quickly.
        self.tick_s = min(lease_ms / 3000, 1.0)
        # Entries are retried once idle retry_after_ms, so looking twice per period is enough:
        # XAUTOCLAIM on a timer, not on every poll.
        self.reclaim_s = max(0.01, min(retry_after_ms / 2000, 5.0))
        self.trim_s = trim_ms / 1000
        # route key -> ids of its entries held back behind a failed one (the failed one first).
        self._held: dict[int, dict[str, list[str]]] = {p: {} for p in range(stream.n)}
        self._owned: set[int] = set()  # partitions whose lease we hold and loop over
        self._releasing: set[int] = set()  # told to stop; released once their loop has finished
        self._tasks: dict[int, asyncio.Task] = {}
        self._adopt: dict[int, str] = {}  # newly taken partitions: XAUTOCLAIM cursor of the adoption
        self._valid_until: dict[int, float] = {}  # monotonic time our lease is known good until
        self._next_reclaim: dict[int, float] = {}
        self._next_trim: dict[int, float] = {}
        self._polled: dict[int, float] = {}  # last successful poll per partition (health)
        self.last_tick = time.monotonic()  # last successful lease round (health); start counts as one
        self.live = 1
        self._short = False  # holding fewer partitions than our share, shortly after the live count changed
        self._fast_until = 0.0  # monotonic time until which such a shortfall is looked at every FAST_TICK
        self._draining = False
        self._lease_outage = Outage(f"{stream.name}_leases", log)
        self._poll_outage = Outage(f"{stream.name}_poll", log)

    # -- one pass over one partition ---------------------------------------------------------
    async def poll(self, part: int, block_ms: int | None = None, *, reclaim: bool = True) -> int:
        entries: list[Entry] = []
        adopting = part in self._adopt
        if adopting:
            # Everything the last owner left pending comes first, whatever its idle time.
            entries, cursor, lost = await self.stream.reclaim(part, self.name, 0, self.batch, self._adopt[part])
            self._report_lost(part, lost)
            if cursor == "0-0" or not entries and not lost:
                del self._adopt[part]
                adopting = False
            else:
                self._adopt[part] = cursor
        elif reclaim:
            entries, _, lost = await self.stream.reclaim(part, self.name, self.retry_after_ms, self.batch)
            self._report_lost(part, lost)
        if not adopting and len(entries) < self.batch:
            entries += await self.stream.read_new(part, self.name, self.batch - len(entries),
                                                  None if entries else block_ms)
        if not entries:
            return 0
        groups: dict[str, list[Entry]] = {}
        for e in entries:
            groups.setdefault(e.key, []).append(e)
        done = await asyncio.gather(*(self._run_group(part, g) for g in groups.values()))
        return sum(done)

    def _report_lost(self, part: int, ids: list[str]) -> None:
        if ids:
            # Deleted or trimmed while pending: never handled. Our own trim never does this.
            metrics.STREAM_LOST.labels(self.stream.name).inc(len(ids))
            log.error("%s partition %d: %d pending entr%s no longer in the stream, never handled: %s",
                      self.stream.name, part, len(ids), "y is" if len(ids) == 1 else "ies are", ", ".join(ids[:20]))

    async def _run_group(self, part: int, entries: list[Entry]) -> int:
        """Run one conversation's entries in id order. An entry that fails holds back every later
        one of its conversation (they are handed back, `defer`); once it succeeds or is
        dead-lettered, the held-back ones are taken again at once and run in order."""
        key = entries[0].key
        held = self._held[part].setdefault(key, [])  # ids pending behind a failure, oldest first
        if held:  # forget ids no longer pending (acked just before a connection dropped, say)
            alive = await self.stream.pending_ids(part, held[0], held[-1])
            held[:] = [i for i in held if i in alive]
        todo = sorted(entries, key=_order)
        done, waiting = 0, []
        while todo:
            e = todo.pop(0)
            if held and held[0] != e.id and _order(held[0]) < _order(e):
                if e.id not in held:
                    bisect.insort(held, e.id, key=_order)
                waiting.append(e)  # an earlier entry of this conversation has not succeeded yet
                continue
            try:
                if e.deliveries > self.max_deliveries:
                    log.error("dead-lettering %s entry %s after %d deliveries", self.stream.name, e.id,
                              e.deliveries - 1)
                    await self.stream.dead_letter(e, f"failed {e.deliveries - 1} deliveries")
                else:
                    try:
                        await self.handle(e)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        if unreachable(exc):
                            raise
                        log.exception("%s entry %s failed (delivery %d)", self.stream.name, e.id, e.deliveries)
                        if e.id not in held:
                            held.insert(0, e.id)
                        continue
                    await self.stream.ack(e)
                    done += 1
            except Exception:
                # Redis unreachable: this entry and the rest of the conversation stay pending, held
                # in order; the poll fails and its loop reports the outage once and backs off.
                for x in (e, *todo):
                    if x.id not in held:
                        bisect.insort(held, x.id, key=_order)
                raise
            if e.id in held:
                held.remove(e.id)
            in_hand = {x.id for x in todo}
            missing = [i for i in held if i not in in_hand]
            if missing:  # claim each follower once: every XCLAIM counts as a delivery
                followers = await self.stream.take(part, self.name, missing)
                taken = {f.id for f in followers}
                held[:] = [i for i in held if i in taken or i in in_hand]  # the rest are no longer pending
                waiting = [w for w in waiting if w.id not in taken]
                todo = sorted({x.id: x for x in todo + followers}.values(), key=_order)
        if not held:
            self._held[part].pop(key, None)
        await self.stream.defer(self.name, waiting)
        return done

    # -- burst mode: tests, the CLI and the sandbox ------------------------------------------
    async def drain(self, max_rounds: int = 1000) -> int:
        """Process everything available now on every partition; returns entries handled."""
        total = 0
        for _ in range(max_rounds):
            n = 0
            for part in range(self.stream.n):
                if await self.stream.acquire(part, self.name, self.lease_ms):
                    n += await self.poll(part)
            total += n
            if n == 0:
                break
        return total

    # -- long-running mode -------------------------------------------------------------------
    async def run(self) -> None:
        """Hold a fair share of the partitions and consume them until cancelled or stop()ped."""
        try:
            while not self._draining:
                try:
                    await self._tick()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self._lease_outage.failed("lease round")
                    await self._lease_outage.wait()
                    continue
                self._lease_outage.ok()
                self.last_tick = time.monotonic()
                # Just after a worker joined or left, one short of its share looks again soon: the
                # partitions it wants are freed as each releasing loop finishes, not all at a tick.
                fast = self._short and self.last_tick < self._fast_until
                await asyncio.sleep(min(self.tick_s, FAST_TICK) if fast else self.tick_s)
        finally:
            await self._shutdown()

    async def stop(self, timeout: float = 10.0) -> None:
        """Drain (SIGTERM): take no new partitions, let every loop finish and ack what it holds,
        then release the leases at once so other workers take over without waiting for expiry."""
        self._draining = True
        self._owned.clear()
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self._shutdown()  # release now; run() notices the drain at its next tick

    async def _tick(self) -> None:
        started = time.monotonic()
        live = max(1, await self.stream.heartbeat(self.name, self.lease_ms))
        if live != self.live:
            self._fast_until = started + REBALANCE_WINDOW
        self.live = live
        target = math.ceil(self.stream.n / self.live)

        for part in [p for p in self._releasing if self._tasks.get(p) is None or self._tasks[p].done()]:
            await self.stream.release(part, self.name)  # its loop finished: in-flight entries are acked
            self._drop(part)

        held = sorted(self._owned | self._releasing)
        if held:
            for part, res in zip(held, await self.stream.claim_many(held, self.name, self.lease_ms)):
                if part not in self._owned and part not in self._releasing:
                    # Its loop released it while the claim was on its way: do not keep it renewed.
                    if res:
                        await self.stream.release(part, self.name)
                    continue
                if res == 0:
                    log.warning("%s partition %d: lease lost to another worker", self.stream.name, part)
                    self._drop(part)
                    continue
                if res == 2 and part in self._owned:
                    # Our lease expired (Redis was unreachable) and nobody took it: take it over
                    # like a new owner would, the previous loop's state included.
                    self._restart(part)
                self._valid_until[part] = started + self.lease_ms / 1000 * 0.8

        if len(self._owned) > target:
            # Release the surplus: the loops stop after their current batch; leases go next tick.
            for part in random.sample(sorted(self._owned), len(self._owned) - target):
                self._owned.discard(part)
                self._releasing.add(part)
            log.info("%s: %d live consumers; releasing down to %d partitions", self.stream.name, self.live, target)
        elif len(self._owned) + len(self._releasing) < target:
            await self._take(target - len(self._owned) - len(self._releasing), started)
        self._short = len(self._owned) + len(self._releasing) < target

        for part in [p for p, t in self._tasks.items() if t.done() and p not in self._owned]:
            del self._tasks[part]
        for part in self._owned:
            task = self._tasks.get(part)
            if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
                metrics.LOOP_ERRORS.labels(f"{self.stream.name}_partition_restart").inc()
                log.error("%s partition %d loop died; restarting it", self.stream.name, part,
                          exc_info=task.exception())
            if task is None or task.done():
                self._tasks[part] = asyncio.create_task(self._loop(part), name=f"{self.name}:{part}")

    async def _take(self, want: int, started: float) -> None:
        others = [p for p in range(self.stream.n) if p not in self._owned and p not in self._releasing]
        free = [p for p, holder in zip(others, await self.stream.holders(others)) if holder is None]
        random.shuffle(free)  # workers starting together do not all race for partition 0
        for part in free:
            if want == 0 or self._draining:
                break
            if await self.stream.claim(part, self.name, self.lease_ms) == 0:
                continue  # another worker was quicker
            log.info("%s partition %d taken (%d live consumers)", self.stream.name, part, self.live)
            self._owned.add(part)
            self._restart(part)
            self._valid_until[part] = started + self.lease_ms / 1000 * 0.8
            metrics.PARTITIONS_HELD.labels(self.stream.name).inc()
            want -= 1

    def _restart(self, part: int) -> None:
        """Fresh state for a partition we (re)took: adopt its pending entries before new ones."""
        self._adopt[part] = "0-0"
        self._held[part] = {}
        self._next_reclaim[part] = 0.0

    def _drop(self, part: int) -> None:
        if part in self._owned or part in self._releasing:
            metrics.PARTITIONS_HELD.labels(self.stream.name).dec()
        self._owned.discard(part)
        self._releasing.discard(part)
        self._valid_until.pop(part, None)
        self._polled.pop(part, None)
        # Its task stays in _tasks until it has finished, so no second loop starts beside it.

    async def _loop(self, part: int) -> None:
        backoff = Backoff()
        while part in self._owned:
            now = time.monotonic()
            if now > self._valid_until.get(part, 0):
                await asyncio.sleep(0.05)  # lease not confirmed lately: hands off until it is
                continue
            try:
                reclaim = now >= self._next_reclaim.get(part, 0)
                if reclaim:
                    self._next_reclaim[part] = now + self.reclaim_s
                await self.poll(part, block_ms=1000, reclaim=reclaim)
                if now >= self._next_trim.get(part, 0):
                    self._next_trim[part] = now + self.trim_s
                    await self._trim(part)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._poll_outage.failed(f"partition {part} poll")
                await backoff.wait()
                continue
            self._polled[part] = time.monotonic()
            self._poll_outage.ok()
            backoff.reset()
        if part in self._releasing and not self._draining:
            # Handed over to a worker that joined: its entries are acked, so free the lease now
            # rather than at our next tick; the joiner takes it at its next look.
            try:
                await self.stream.release(part, self.name)
            except Exception:  # Redis away: the next tick releases it
                return
            self._drop(part)

    async def _trim(self, part: int) -> None:
        removed = await self.stream.trim(part)
        if part == 0:
            removed += await self.stream.trim_dead()
        if removed:
            log.debug("%s partition %d: trimmed %d finished entries", self.stream.name, part, removed)

    async def _shutdown(self) -> None:
        # A cancel can be lost inside the Redis client (seen: a partition loop left waiting on a
        # blocking read after cancel()), so a loop also stops once its partition is not in
        # _owned, and shutdown does not wait for the loops forever.
        self._owned.clear()
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        if tasks:
            await asyncio.wait(tasks.values(), timeout=5)
        for part in sorted(set(tasks) | self._releasing):
            try:
                await self.stream.release(part, self.name)
            except Exception:  # shutting down; the lease expires by itself
                pass
            self._drop(part)
        try:
            await self.stream.leave(self.name)
        except Exception:  # the heartbeat expires by itself
            pass

    # -- health ------------------------------------------------------------------------------
    def health(self, stall_s: float) -> tuple[bool, dict]:
        """Is this consumer doing its job: leases renewed lately, and every partition it holds
        polled lately by a live loop."""
        now = time.monotonic()
        problems = []
        if now - self.last_tick > stall_s:
            problems.append(f"no lease round for {now - self.last_tick:.0f}s")
        for part in sorted(self._owned):
            task = self._tasks.get(part)
            if task is None or task.done():
                problems.append(f"partition {part} loop not running")
            elif now - self._polled.get(part, self.last_tick) > stall_s:
                problems.append(f"partition {part} not polled for {now - self._polled.get(part, 0):.0f}s")
        return not problems, {"partitions": sorted(self._owned), "live_consumers": self.live,
                              **({"problems": problems} if problems else {})}
