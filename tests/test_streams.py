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
