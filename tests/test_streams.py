"""Durable streams against a real Redis: the inbox's group commit (one atomic dedupe+XADD per entry, shared
round trips), and acks and dead letters that stay exactly once across a crash between their steps."""
from __future__ import annotations

import asyncio

import pytest

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


async def test_a_crash_between_the_replies_and_the_ack_sends_each_reply_once(redis, prefix, monkeypatch):
    """ack() stores the staged replies, then XACKs (two hash slots on a cluster, so no MULTI): a
    crash in between leaves the entry pending; handling it again stages the same replies, which
    their dedupe markers drop, and the XACK follows."""
    from store import Store
    from store.streams import GROUP

    store = Store(redis, prefix=prefix, partitions=2)
    await store.inbox.ensure_groups()
    await store.inbox.put("conv", "m1", "hello")
    [entry] = await store.inbox.read_new(store.inbox.part_of("conv"), "c1")
    replies = [store.outbox.prepare(f"app:u{i}", f"m1#{i}", f"reply {i}") for i in range(3)]
    entry.staged.extend(replies)
    real_xack = redis.xack

    async def crash(*a, **kw):
        raise ConnectionError("the worker died before its XACK")

    monkeypatch.setattr(redis, "xack", crash)
    with pytest.raises(ConnectionError):
        await store.inbox.ack(entry)
    monkeypatch.setattr(redis, "xack", real_xack)
    assert await store.outbox.length() == 3  # the replies are stored before anything is acked
    assert await store.inbox.pending_count() == 1
    [again], _, _ = await store.inbox.reclaim(entry.part, "c2", 0)  # redelivered to another worker
    again.staged.extend(store.outbox.prepare(f"app:u{i}", f"m1#{i}", f"reply {i}") for i in range(3))
    await store.inbox.ack(again)
    assert await store.outbox.length() == 3
    assert await store.inbox.pending_count() == 0
    assert (await redis.xpending(store.inbox.key(entry.part), GROUP))["pending"] == 0


async def test_an_entry_dead_lettered_twice_leaves_one_letter(redis, prefix, monkeypatch):
    from store import Store

    store = Store(redis, prefix=prefix, partitions=1)
    await store.inbox.ensure_groups()
    await store.inbox.put("conv", "m1", "poison")
    [entry] = await store.inbox.read_new(0, "c1")
    real_xack = redis.xack

    async def crash(*a, **kw):
        raise ConnectionError("died before the XACK")

    monkeypatch.setattr(redis, "xack", crash)
    with pytest.raises(ConnectionError):
        await store.inbox.dead_letter(entry, "failed 3 deliveries")
    monkeypatch.setattr(redis, "xack", real_xack)
    await store.inbox.dead_letter(entry, "failed 4 deliveries")
    assert await store.inbox.dead_count() == 1
    assert await store.inbox.pending_count() == 0


async def test_dead_letters_of_group_lines_go_after_the_archive_keep_days(redis, prefix):
    """A customer group's words are kept [archive] keep_days, a dead letter included; other dead
    letters (and recent group ones, still replayable) stay until dead_days."""
    import time

    from bot.message import Message
    inbox = Store(redis, prefix=prefix, dead_days=30).inbox
    inbox.group_text_days = 7
    key = inbox.k.dead(inbox.name)
    old = int((time.time() - 10 * 86400) * 1000)
    group = Message(id="g1", channel="archive", conversation="wr1", chat_type="group", text="草莓还有吗").to_json()
    kf = Message(id="k1", channel="kf", conversation="kf:wk:wm1", text="草莓还有吗").to_json()
    await redis.xadd(key, {"d": group, "reason": "x", "from": "1-1"}, id=f"{old}-0")
    await redis.xadd(key, {"d": kf, "reason": "x", "from": "1-2"}, id=f"{old}-1")
    await redis.xadd(key, {"d": group, "reason": "x", "from": "1-3"})  # recent
    assert await inbox.trim_dead() == 1
    left = [f["d"] for _, f in await inbox.dead_letters()]
    assert left == [kf, group]
