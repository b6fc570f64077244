"""Long-running consumers: partitions spread over live workers, hand-overs keep order and
exactly-once, a dead worker's partitions are taken over, retention never trims unhandled entries."""
from __future__ import annotations

import asyncio
import random

from bot.consumer import PartitionConsumer
from store import Store
from store.streams import GROUP


async def wait_for(cond, seconds: float = 20.0, what: str = "") -> None:
    for _ in range(int(seconds * 20)):
        if await cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not in {seconds}s: {what}")


class Ledger:
    """What a handler did: successful handles per entry and the order per conversation."""

    def __init__(self, fail_once: set[str] = frozenset()) -> None:
        self.done: dict[str, int] = {}
        self.by_key: dict[str, list[int]] = {}
        self.by_consumer: dict[str, int] = {}
        self.fail_once = set(fail_once)

    def handler(self, who: str):
        async def handle(entry) -> None:
            await asyncio.sleep(random.random() / 500)  # in flight for a moment, like real work
            if entry.data in self.fail_once:
                self.fail_once.discard(entry.data)
                raise RuntimeError("transient")
            self.done[entry.data] = self.done.get(entry.data, 0) + 1
            self.by_key.setdefault(entry.key, []).append(int(entry.data.split(":")[1]))
            self.by_consumer[who] = self.by_consumer.get(who, 0) + 1
        return handle


async def test_partitions_spread_over_live_workers_and_hand_over_in_order_exactly_once(redis, prefix):
    store = Store(redis, prefix=prefix, partitions=8)
    inbox = store.inbox
    await inbox.ensure_groups()
    convs = [f"c{i}" for i in range(24)]
    # A few entries fail once: their conversations are blocked behind them when partitions move.
    ledger = Ledger(fail_once={f"c{i}:{3 + i % 5}" for i in range(0, 24, 5)})
    opts = dict(lease_ms=1500, retry_after_ms=300, max_deliveries=5, batch=10)
    a = PartitionConsumer(inbox, ledger.handler("a"), name="a", **opts)
    b = PartitionConsumer(inbox, ledger.handler("b"), name="b", **opts)
    run_a = asyncio.create_task(a.run())

    async def produce(rounds: int) -> None:
        for n in range(rounds):
            for c in convs:
                await inbox.put(c, f"{c}:{n}", f"{c}:{n}")
            await asyncio.sleep(0.02)

    try:
        await wait_for(lambda: _true(len(a._owned) == 8))
        producing = asyncio.create_task(produce(60))
        await asyncio.sleep(0.5)
        run_b = asyncio.create_task(b.run())  # joins under load
        await wait_for(lambda: _true(len(a._owned) == 4 and len(b._owned) == 4), 10, "4 and 4")
        assert not a._owned & b._owned
        await asyncio.sleep(0.5)
        await b.stop()  # leaves under load: its partitions go back to a
        run_b.cancel()
        await asyncio.gather(run_b, return_exceptions=True)
        await wait_for(lambda: _true(len(a._owned) == 8), 10, "a takes b's partitions back")
        await producing
        total = 60 * len(convs)
        await wait_for(lambda: _true(len(ledger.done) == total), 30, f"all {total} handled")
        await wait_for(lambda: _pending_zero(inbox))
    finally:
        run_a.cancel()
        await asyncio.gather(run_a, return_exceptions=True)

    assert set(ledger.done.values()) == {1}, "an entry was handled twice"
    for key, seqs in ledger.by_key.items():
        assert seqs == list(range(60)), f"{key} handled out of order: {seqs[:20]}"
    assert ledger.by_consumer["b"] > 0 and ledger.by_consumer["a"] > 0
    assert not ledger.fail_once  # every planned failure happened, and was retried
    assert await redis.zcard(store.keys.members("inbox")) == 0  # both left the members set


async def _true(x: bool) -> bool:
    return x


async def _pending_zero(stream) -> bool:
    return await stream.pending_count() == 0


async def test_a_dead_workers_partitions_are_taken_over_with_its_pending_entries_first(redis, prefix):
    store = Store(redis, prefix=prefix, partitions=2)
    inbox = store.inbox
    await inbox.ensure_groups()
    for n in range(5):
        await inbox.put("conv", f"m{n}", f"conv:{n}")
    part = inbox.part_of("conv")
    # The dead worker held the lease, read three entries and vanished without acking them.
    assert await inbox.claim(part, "dead", 800) == 2
    assert len(await inbox.read_new(part, "dead", 3)) == 3
    await inbox.heartbeat("dead", 800)
    for n in range(5, 8):
        await inbox.put("conv", f"m{n}", f"conv:{n}")

    ledger = Ledger()
    heir = PartitionConsumer(inbox, ledger.handler("heir"), name="heir", lease_ms=900, retry_after_ms=60_000)
    task = asyncio.create_task(heir.run())
    try:
        # retry_after_ms is a minute: only adoption at takeover can pick the dead worker's entries up.
        await wait_for(lambda: _true(len(ledger.done) == 8), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert ledger.by_key["conv"] == list(range(8))
    assert await inbox.pending_count() == 0


async def test_trim_keeps_every_unacked_entry_and_drops_the_finished(redis, prefix):
    store = Store(redis, prefix=prefix, partitions=1)
    inbox = store.inbox
    await inbox.ensure_groups()
    for n in range(300):
        await inbox.put(f"k{n % 7}", f"m{n}", f"k{n % 7}:{n}")
    key = inbox.key(0)
    everything = [eid.decode() for eid, _ in await redis.xrange(key)]
    read = await inbox.read_new(0, "c", 250)
    for e in read[:120] + read[130:200]:  # 120..129 stay pending, 200..249 read but not acked, 250.. unread
        await inbox.ack(e)
    assert await inbox.trim(0) == 120
    assert [eid.decode() for eid, _ in await redis.xrange(key)] == everything[120:]
    await inbox.trim(0)  # nothing more is finished: nothing more goes
    assert await redis.xlen(key) == 180
    for e in read[120:130]:
        await inbox.ack(e)
    assert await inbox.trim(0) == 80  # up to the oldest pending one, 200
    assert (await redis.xpending(key, GROUP))["pending"] == 50
    # Pending entries that vanish anyway (someone else's XTRIM) are reported, not silently dropped.
    await redis.xtrim(key, minid=read[205].id, approximate=False)
    consumer = PartitionConsumer(inbox, Ledger().handler("x"), name="x", retry_after_ms=0)
    from bot import metrics
    before = metrics.STREAM_LOST.labels("inbox")._value.get()
    await consumer.poll(0)
    assert metrics.STREAM_LOST.labels("inbox")._value.get() - before == 5


async def test_dead_letters_are_capped(redis, prefix):
    store = Store(redis, prefix=prefix, partitions=1, dead_max=100)
    inbox = store.inbox
    await inbox.ensure_groups()
    for n in range(400):
        await inbox.put("k", f"m{n}", "x")
    for e in await inbox.read_new(0, "c", 400):
        await inbox.dead_letter(e, "test")
    assert 100 <= await inbox.dead_count() < 250  # approximate cap: whole nodes are dropped
    assert await inbox.pending_count() == 0


async def test_a_redis_error_mid_conversation_keeps_its_order(redis, prefix):
    """The handler's Redis call fails (a blip): the poll fails and is retried with backoff, and
    the conversation's later entries, read before or after, still run after the failed one."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from bot import metrics
    store = Store(redis, prefix=prefix, partitions=1)
    inbox = store.inbox
    await inbox.ensure_groups()
    ledger = Ledger()
    blip = {"c:2"}
    record = ledger.handler("w")

    async def handle(entry) -> None:
        if entry.data in blip:
            blip.discard(entry.data)
            raise RedisConnectionError("Connection reset by peer")
        await record(entry)

    for n in range(6):
        await inbox.put("c", f"m{n}", f"c:{n}")
    before = metrics.LOOP_ERRORS.labels("inbox_poll")._value.get()
    consumer = PartitionConsumer(inbox, handle, name="w", lease_ms=1500, retry_after_ms=200)
    task = asyncio.create_task(consumer.run())
    try:
        await wait_for(lambda: _true(not blip), 10, "the blip")
        for n in range(6, 12):  # arrive while c:2 is still waiting for its retry
            await inbox.put("c", f"m{n}", f"c:{n}")
        await wait_for(lambda: _true(len(ledger.done) == 12), 10, "all 12 handled")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert ledger.by_key["c"] == list(range(12))
    assert set(ledger.done.values()) == {1}
    assert metrics.LOOP_ERRORS.labels("inbox_poll")._value.get() == before + 1
