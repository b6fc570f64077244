"""Durability of the inbox: crashes before ack, failing handlers, dead letters, ordering."""
from __future__ import annotations

import asyncio

import handlers
from bot.consumer import PartitionConsumer
from bot.message import Message, Reply
from bot.router import Dispatcher, Router


async def test_worker_killed_before_ack_loses_nothing_and_applies_once(service):
    """A consumer takes the entry, applies its effect, dies before XACK; another reclaims it."""
    effects: list[str] = []
    router = Router("t")

    @router.command("记一笔")
    async def record(msg: Message, store) -> Reply:
        # Effect recorded by message id, the way every handler makes its state change idempotent.
        if await store.r.set(f"{service.config.redis.prefix}:effect:{msg.id}", 1, nx=True, ex=600):
            effects.append(msg.id)
        return Reply("errors/oops.txt.j2")

    from bot.worker import Worker
    worker = Worker(service.config, service.store, Dispatcher([router]), service.deps)
    calls = 0

    async def crashing(entry):
        nonlocal calls
        calls += 1
        await worker.handle(entry)
        raise asyncio.CancelledError  # the process dies after the effects, before the ack

    await service.say("/记一笔", msg_id=4242)
    dying = PartitionConsumer(service.store.inbox, crashing, name="dying", retry_after_ms=50)
    for part in range(service.store.inbox.n):
        await service.store.inbox.acquire(part, "dying", 5000)
        try:
            await dying.poll(part)
        except asyncio.CancelledError:
            pass
    assert calls == 1
    assert await service.store.inbox.pending_count() == 1

    await asyncio.sleep(0.06)
    survivor = PartitionConsumer(service.store.inbox, worker.handle, name="survivor", retry_after_ms=50)
    for part in range(service.store.inbox.n):
        await service.store.inbox.release(part, "dying")  # its lease would expire on its own
    assert await survivor.drain() == 1
    assert await service.store.inbox.pending_count() == 0
    assert effects == ["app:4242"]
    await service.outbox.drain()
    assert len(service.sent_texts("xiaowang")) == 1  # the reply was deduped by message id too


async def test_failing_handler_apologises_once_retries_then_dead_letters(service, monkeypatch):
    router = Router("boom")
    runs = 0

    @router.command("炸")
    async def boom() -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("bug")

    monkeypatch.setattr(handlers, "ROUTERS", [router])
    service.worker.dispatcher = Dispatcher([router])
    await service.say("炸")
    for _ in range(6):
        await service.inbox.drain()
        await asyncio.sleep(0.06)
    await service.outbox.drain()
    assert runs == service.config.worker.max_deliveries
    dead = await service.redis.xrange(service.store.keys.dead("inbox"))
    assert len(dead) == 1
    assert await service.store.inbox.pending_count() == 0
    apologies = service.sent_texts("xiaowang")
    assert len(apologies) == 1 and "抱歉" in apologies[0]


async def test_later_messages_wait_behind_a_failed_one(service):
    router = Router("order")
    seen: list[str] = []
    fail_once = {"a"}

    @router.any_text()
    async def note(msg: Message) -> None:
        if msg.text in fail_once:
            fail_once.discard(msg.text)
            raise RuntimeError("transient")
        seen.append(msg.text)

    service.worker.dispatcher = Dispatcher([router])
    for i, text in enumerate(["a", "b", "c"]):
        await service.say(text, user="u1", msg_id=100 + i)
    await service.say("x", user="u2", msg_id=200)
    await service.inbox.drain()
    assert seen == ["x"]  # u1's b and c wait for a
    await asyncio.sleep(0.06)
    await service.inbox.drain()
    assert seen == ["x", "a", "b", "c"]


async def test_unknown_command_from_shopper_gets_no_crash(service):
    replies = await service.ask("/改价 草莓 1", user="random_shopper")
    assert len(replies) <= 1


async def test_help_lists_role_commands(service):
    (text,) = await service.ask("帮助", user="xiaowang")
    assert "导购" in text
    (text2,) = await service.ask("/help", user="someone")
    assert "顾客" in text2


async def test_entries_waiting_behind_a_poison_message_are_handled_not_dead_lettered(service):
    """Waiting behind a failing entry is not a delivery: the later ones run once it is dead-lettered."""
    router = Router("poison")
    seen: list[str] = []

    @router.any_text()
    async def note(msg: Message) -> None:
        if msg.text == "poison":
            raise RuntimeError("always fails")
        seen.append(msg.text)

    service.worker.dispatcher = Dispatcher([router])
    for i, text in enumerate(["poison", "b", "c"]):
        await service.say(text, user="u1", msg_id=300 + i)
    for _ in range(service.config.worker.max_deliveries + 3):
        await service.inbox.drain()
        await asyncio.sleep(0.06)
    assert seen == ["b", "c"]
    dead = await service.redis.xrange(service.store.keys.dead("inbox"))
    assert len(dead) == 1 and b"poison" in dead[0][1][b"d"]
    assert await service.store.inbox.pending_count() == 0
