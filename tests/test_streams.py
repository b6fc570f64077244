"""The inbox's group commit against a real Redis: one atomic dedupe+XADD per entry, shared round trips."""
from __future__ import annotations

import asyncio

from store import Store


async def test_concurrent_puts_share_a_round_trip_and_dedupe_each(redis, prefix):
    inbox = Store(redis, prefix=prefix, partitions=2).inbox
    ids = await asyncio.gather(*(inbox.put_batched(f"conv{i % 3}", f"m{i % 10}", "{}") for i in range(30)))
    assert sum(x is not None for x in ids) == 10  # each message id stored once, whoever came first
    assert await inbox.length() == 10


async def test_a_redis_that_forgot_the_script_still_stores_the_entry(redis, prefix):
    """After a Redis restart (or SCRIPT FLUSH) the batched EVALSHA answers NOSCRIPT; the entry
    must still be stored, not lost or failed back to WeCom."""
    inbox = Store(redis, prefix=prefix).inbox
    await inbox.put_batched("conv", "warm", "{}")
    await redis.script_flush()
    got = await asyncio.gather(*(inbox.put_batched("conv", f"m{i}", "{}") for i in range(5)))
    assert all(got) and await inbox.length() == 6


async def test_a_large_batch_keeps_each_conversations_order_across_script_calls(redis, prefix):
    """More entries than one script call takes (MAX_PUT_MANY), over several partitions: every
    entry is stored once, and each conversation's entries stay in call order."""
    from store.streams import MAX_PUT_MANY

    inbox = Store(redis, prefix=prefix, partitions=3).inbox
    await inbox.ensure_groups()
    n = MAX_PUT_MANY * 2 + 7
    ids = await asyncio.gather(*(inbox.put_batched(f"conv{i % 5}", f"m{i}", str(i)) for i in range(n)))
    assert all(ids) and await inbox.length() == n
    seen: dict[str, list[int]] = {}
    for part in range(3):
        for e in await inbox.read_new(part, "c1", count=n):
            seen.setdefault(e.key, []).append(int(e.data))
    assert sum(map(len, seen.values())) == n
    assert all(v == sorted(v) for v in seen.values())
