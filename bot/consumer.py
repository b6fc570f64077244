"""Owns stream partitions and feeds their entries, in order per route key, to a handle function.

handle(entry) returning normally means "effects stored, ack it"; raising leaves the entry pending,
so it is reclaimed (XAUTOCLAIM) after retry_after_ms and tried again, up to max_deliveries, then
dead-lettered. Later entries of the same route key wait behind a failed one, preserving order.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from store.streams import Entry, PartitionedStream

log = logging.getLogger(__name__)

Handle = Callable[[Entry], Awaitable[None]]


def consumer_name(role: str) -> str:
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class PartitionConsumer:
    def __init__(self, stream: PartitionedStream, handle: Handle, *, name: str, lease_ms: int = 10_000,
                 retry_after_ms: int = 15_000, max_deliveries: int = 5, batch: int = 50) -> None:
        self.stream, self.handle, self.name = stream, handle, name
        self.lease_ms, self.retry_after_ms, self.max_deliveries, self.batch = (
            lease_ms, retry_after_ms, max_deliveries, batch)
        # route key -> id of its failed entry; cleared once that entry is acked or dead-lettered.
        self._blocked: dict[int, dict[str, str]] = {p: {} for p in range(stream.n)}
        self._owned: set[int] = set()  # partitions whose lease we hold and loop over

    # -- one pass over one partition ---------------------------------------------------------
    async def poll(self, part: int, block_ms: int | None = None) -> int:
        entries = await self.stream.reclaim(part, self.name, self.retry_after_ms, self.batch)
        if len(entries) < self.batch:
            entries += await self.stream.read_new(part, self.name, self.batch - len(entries),
                                                  None if entries else block_ms)
        if not entries:
            return 0
        groups: dict[str, list[Entry]] = {}
        for e in entries:
            groups.setdefault(e.key, []).append(e)
        done = await asyncio.gather(*(self._run_group(part, g) for g in groups.values()))
        return sum(done)

    async def _run_group(self, part: int, entries: list[Entry]) -> int:
        blocked = self._blocked[part]
        done, waiting = 0, []
        for e in entries:
            failed_id = blocked.get(e.key)
            if failed_id is not None and failed_id != e.id:
                waiting.append(e)  # an earlier entry of this conversation has not succeeded yet
                continue
            if e.deliveries > self.max_deliveries:
                log.error("dead-lettering %s entry %s after %d deliveries", self.stream.name, e.id, e.deliveries - 1)
                await self.stream.dead_letter(e, f"failed {e.deliveries - 1} deliveries")
                blocked.pop(e.key, None)
                continue
            try:
                await self.handle(e)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s entry %s failed (delivery %d)", self.stream.name, e.id, e.deliveries)
                blocked[e.key] = e.id
                continue
            await self.stream.ack(e)
            blocked.pop(e.key, None)
            done += 1
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
        tasks: dict[int, asyncio.Task] = {}
        try:
            while True:
                for part in range(self.stream.n):
                    owned = await self.stream.acquire(part, self.name, self.lease_ms)
                    task = tasks.get(part)
                    if owned and (task is None or task.done()):
                        self._owned.add(part)
                        tasks[part] = asyncio.create_task(self._loop(part), name=f"{self.name}:{part}")
                    elif not owned and task is not None:
                        self._owned.discard(part)
                        task.cancel()
                        tasks.pop(part)
                await asyncio.sleep(self.lease_ms / 3000)
        finally:
            # A cancel can be lost inside the Redis client (seen: a partition loop left waiting on a
            # blocking read after cancel()), so a loop also stops once its partition is not in
            # _owned, and shutdown does not wait for the loops forever.
            self._owned.clear()
            for task in tasks.values():
                task.cancel()
            if tasks:
                await asyncio.wait(tasks.values(), timeout=5)
            for part in tasks:
                try:
                    await self.stream.release(part, self.name)
                except Exception:  # shutting down; the lease expires by itself
                    pass

    async def _loop(self, part: int) -> None:
        while part in self._owned:
            try:
                await self.poll(part, block_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s partition %d: poll failed; retrying", self.stream.name, part)
                await asyncio.sleep(1)
