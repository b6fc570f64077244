"""Writes a handler defers to its message's ack (store/lua.py `later`): none is made when the
handler fails (the retry makes it), all are made before the XACK, and a failed one keeps the entry
pending; outside a handled message they are made at once."""
from __future__ import annotations

import asyncio

import pytest

from bot.consumer import PartitionConsumer
from bot.message import Message, Reply
from bot.router import Dispatcher, Router
from bot.worker import Worker
from store.lua import Call, bind, later, script


async def test_deferred_writes_ride_on_the_ack_and_a_failed_handling_makes_none(service):
    key = f"{service.config.redis.prefix}:deferred"
    set_ex = bind(service.store.r, "set_ex")
    router = Router("t")
    tries = 0

    @router.command("记")
    async def record(msg: Message, store) -> Reply:
        nonlocal tries
        tries += 1
        await later(store.r, [set_ex.call([key], [f"try{tries}", 600])])
        assert await store.r.get(key) is None  # not written yet: it waits for the ack
        if tries == 1:
            raise RuntimeError("fails after deferring")
        return Reply("errors/oops.txt.j2")

    worker = Worker(service.config, service.store, Dispatcher([router]), service.deps)
    consumer = PartitionConsumer(service.store.inbox, worker.handle, name="c", retry_after_ms=50)
    await service.say("/记", msg_id=77)
    assert await consumer.drain() == 0  # failed: pending, nothing deferred was written
    assert await service.store.r.get(key) is None
    await asyncio.sleep(0.06)
    assert await consumer.drain() == 1
    assert await service.store.r.get(key) == b"try2"
    assert await service.store.inbox.pending_count() == 0


async def test_a_staged_write_that_fails_keeps_the_entry_pending(service):
    router = Router("t")
    broken = script("set_ex")
    bad = Call(broken, [f"{service.config.redis.prefix}:x"], ["v", "not-a-number"])  # SET ... EX fails

    @router.command("坏")
    async def record(msg: Message, store) -> Reply:
        await later(store.r, [bad])
        return Reply("errors/oops.txt.j2")

    worker = Worker(service.config, service.store, Dispatcher([router]), service.deps)
    consumer = PartitionConsumer(service.store.inbox, worker.handle, name="c", retry_after_ms=60_000)
    await service.say("/坏", msg_id=78)
    with pytest.raises(Exception):
        await consumer.drain()
    assert await service.store.inbox.pending_count() == 1  # not acked: handled again later


async def test_outside_a_handled_message_a_deferred_write_is_made_at_once(redis, prefix):
    await later(redis, [bind(redis, "set_ex").call([f"{prefix}:now"], ["1", 60])])
    assert await redis.get(f"{prefix}:now") == b"1"
