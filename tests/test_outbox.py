"""bot/outbox.Emitter: the one writer of outbox entries, for handlers, jobs and the sender's own notices."""
from __future__ import annotations

from bot.message import Attachment, Message, Reply, Target
from bot.outbox import ACKING, Emitter
from bot.render import renderer


async def test_an_origin_without_a_message_carries_attachments_and_is_deduped(service):
    emit = service.deps["emit"]
    reply = Reply("_raw.txt.j2", text="提货单", to=Target("app", "xiaowang"),
                  attachment=Attachment("pickup.xlsx", b"PK\x03\x04sheet"))
    assert await emit("post:S01:m1", [reply], tag="#gpost:done") == 1
    assert await emit("post:S01:m1", [reply], tag="#gpost:done") == 1  # a redelivery: same id
    await service.drain()
    assert service.sent_texts("xiaowang") == ["提货单"]
    assert len(service.fake.sent("media/upload", ok=True)) == 1


async def test_a_reply_without_destination_is_dropped_and_a_message_gives_its_default(service):
    emit = Emitter(service.store, renderer(service.config))
    assert await emit("job:1", [Reply("_raw.txt.j2", text="无处可去")]) == 0
    msg = Message(id="app:o1", channel="app", conversation="xiaoli", sender="xiaoli", text="x")
    assert await emit(msg, [Reply("_raw.txt.j2", text="回给发信人")]) == 1
    await service.drain()
    assert service.sent_texts("xiaoli") == ["回给发信人"]


async def test_writes_are_staged_on_the_entry_being_acked(service):
    class FakeEntry:
        staged: list = []
    token = ACKING.set(FakeEntry)
    try:
        n = await service.deps["emit"]("app:o2", [Reply("_raw.txt.j2", text="随ack写", to=Target("app", "x"))])
    finally:
        ACKING.reset(token)
    assert n == 1 and len(FakeEntry.staged) == 1
    await service.drain()
    assert service.sent_texts("x") == []  # nothing written until the ack writes the staged entry
