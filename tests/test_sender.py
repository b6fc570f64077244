"""Outbound delivery through the fake WeCom API: tokens, errcodes, budgets, splitting."""
from __future__ import annotations

import asyncio
import logging

import pytest

from bot.message import Attachment, Message, Reply, Target
from bot.split import split_text


def _msg(i: int = 1) -> Message:
    return Message(id=f"app:{i}", channel="app", conversation="xiaowang", sender="xiaowang", text="x")


async def send(service, *replies: Reply, msg_id: int = 1) -> None:
    await service.worker.emit(_msg(msg_id), list(replies))
    await service.outbox.drain()


async def test_token_is_fetched_once_and_shared(service):
    for i in range(3):
        await send(service, Reply("errors/oops.txt.j2"), msg_id=i)
    assert len(service.fake.sent("gettoken")) == 1
    assert len(service.fake.sent("message/send", ok=True)) == 3


async def test_42001_refreshes_token_and_retries_once(service):
    await send(service, Reply("errors/oops.txt.j2"), msg_id=1)
    service.fake.expire_tokens()
    await send(service, Reply("errors/oops.txt.j2"), msg_id=2)
    sends = service.fake.sent("message/send")
    assert [c.errcode for c in sends] == [0, 42001, 0]
    assert len(service.fake.sent("gettoken")) == 2


async def test_45009_waits_and_delivers(service):
    service.fake.script("message/send", 45009, 45009)
    await send(service, Reply("errors/oops.txt.j2"))
    assert [c.errcode for c in service.fake.sent("message/send")] == [45009]  # parked, not slept on
    assert await service.store.outbox.pending_count() == 0  # acked: it waits in the held list
    await service.retry_due(60)
    await service.retry_due(60)
    sends = service.fake.sent("message/send")
    assert [c.errcode for c in sends] == [45009, 45009, 0]
    assert await service.store.parking.waiting() == 0


async def test_minus_one_and_http500_retry_with_backoff(service):
    service.fake.script("message/send", -1, "http500")
    await send(service, Reply("errors/oops.txt.j2"))
    assert [c.errcode for c in service.fake.sent("message/send")] == [-1, "http500", 0]


async def test_config_error_reported_once_with_fix_and_dead_lettered(service, caplog):
    service.fake.script("message/send", 60020, 60020)
    with caplog.at_level(logging.ERROR):
        await send(service, Reply("errors/oops.txt.j2"), msg_id=1)
        await send(service, Reply("errors/oops.txt.j2"), msg_id=2)
    reports = [r for r in caplog.records if "60020" in r.getMessage() and "trusted IP" in r.getMessage()]
    assert len(reports) == 1
    assert len(await service.redis.xrange(service.store.keys.dead("outbox"))) == 2
    assert len(service.fake.sent("message/send")) == 2  # no retry hammering


async def test_long_text_split_on_lines_under_2048_bytes(service):
    lines = [f"第{i}行：" + "草莓" * 30 for i in range(60)]  # ~11 KB of CJK text
    await send(service, Reply("_raw.txt.j2", text="\n".join(lines)))
    parts = service.sent_texts("xiaowang")
    assert len(parts) > 1
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == "\n".join(lines)


async def test_split_resumes_after_partial_failure(service):
    reply = Reply("_raw.txt.j2", text="\n".join("甲" * 600 for _ in range(3)))  # 3 parts of 1800 bytes
    service.fake.script("message/send", 0, 81013)  # second part undeliverable
    await send(service, reply)
    assert len(service.fake.sent("message/send")) == 2


async def test_webhook_budget_and_markdown_limit(service):
    body = "\n".join(f"- 行{i} " + "数据" * 40 for i in range(40))
    reply = Reply("_raw.md.j2", text=body, to=Target("webhook", "KEY1"))
    await send(service, reply)
    calls = service.fake.sent("webhook/send", ok=True)
    assert len(calls) >= 2
    assert all(len(c.body["markdown"]["content"].encode()) <= 4096 for c in calls)


async def test_file_attachment_uploaded_then_sent(service):
    reply = Reply("_raw.txt.j2", text="附件如下", attachment=Attachment("自提清单.xlsx", b"PK\x03\x04" + b"0" * 100))
    await send(service, reply)
    assert service.fake.sent("media/upload", ok=True)[0].body["media"]["filename"] == "自提清单.xlsx"
    files = [c for c in service.fake.sent("message/send", ok=True) if c.body["msgtype"] == "file"]
    assert len(files) == 1


async def test_kf_95001_waits_for_the_shopper_not_the_partition(service):
    service.fake.script("kf/send_msg", 95001)
    await send(service, Reply("_raw.txt.j2", text="hi", to=Target("kf", "wkS01:wmShopper")))
    assert len(service.fake.sent("kf/send_msg")) == 1
    assert await service.store.outbox.pending_count() == 0
    assert await service.store.parking.waiting() == 1  # held until the quota frees up


async def test_app_budget_waits_instead_of_failing(aiohttp_client, redis, prefix, fake, monkeypatch):
    import types

    import bot.sender
    from tests.conftest import make_config
    from tests.harness import Harness
    h = await Harness.start(aiohttp_client, redis, make_config(prefix, fake.base_url, sender={
        "app_per_member_per_minute": 2, "backoff_seconds": 0.01}), fake)
    # Shrink the window so the test waits 0.3 s instead of a minute: waited for in place.
    take = h.store.budget.take_call
    h.store.budget.take_call = lambda scope, who, limit, window_ms=60_000: take(scope, who, limit, 300)
    waits: list[float] = []

    async def sleep(seconds: float, *a, **kw):
        waits.append(seconds)
        return await asyncio.sleep(seconds, *a, **kw)
    monkeypatch.setattr(bot.sender, "asyncio", types.SimpleNamespace(**{**vars(asyncio), "sleep": sleep}))
    for i in range(3):
        await h.worker.emit(_msg(i), [Reply("errors/oops.txt.j2")])
    await h.outbox.drain()
    assert len(fake.sent("message/send", ok=True)) == 3
    # The third message found the budget used up and waited for it in place: not parked, not failed.
    assert waits and all(0 < w <= 0.3 for w in waits)
    assert await h.store.parking.waiting() == 0 and await h.store.outbox.pending_count() == 0


async def test_a_used_up_budget_parks_that_member_only(aiohttp_client, redis, prefix, fake):
    """A budget that frees up in a minute holds that member's messages, in order; others go on."""
    from tests.conftest import make_config
    from tests.harness import Harness
    h = await Harness.start(aiohttp_client, redis, make_config(prefix, fake.base_url, sender={
        "app_per_member_per_minute": 2}, roles={"guides": ["xiaowang", "xiaoli"]}), fake)
    for i in range(4):
        await h.worker.emit(_msg(i), [Reply("_raw.txt.j2", text=f"第{i}条")])
    await h.worker.emit(Message(id="app:li", channel="app", conversation="xiaoli", sender="xiaoli", text="x"),
                        [Reply("_raw.txt.j2", text="给小李")])
    await h.drain()
    assert h.sent_texts("xiaowang") == ["第0条", "第1条"]
    assert h.sent_texts("xiaoli") == ["给小李"]  # not stuck behind xiaowang's budget
    assert await h.store.outbox.pending_count() == 0
    h.store.budget.take_call = lambda scope, who, limit, window_ms=60_000: take(scope, who, limit, 1)
    take = type(h.store.budget).take_call.__get__(h.store.budget)
    await h.retry_due(61)
    assert h.sent_texts("xiaowang") == ["第0条", "第1条", "第2条", "第3条"]


def test_split_never_cuts_a_character():
    text = "草" * 1000  # one line of 3000 bytes
    parts = split_text(text, 2048)
    assert "".join(parts) == text
    assert all(len(p.encode()) <= 2048 for p in parts)


def test_split_keeps_short_text_whole():
    assert split_text("你好\n世界", 2048) == ["你好\n世界"]


async def test_same_entry_id_in_two_partitions_is_delivered_twice(service):
    """Two partitions' streams hand out the same ids within one millisecond; neither entry may be
    taken for the other when the sender records which parts it has delivered."""
    import json
    outbox = service.store.outbox
    for part, user in ((0, "xiaowang"), (1, "xiaoli")):
        out = {"channel": "app", "to": user, "msgtype": "text", "content": f"给{user}", "origin": "m"}
        await service.redis.xadd(outbox.key(part), {"k": f"app:{user}", "d": json.dumps(out)}, id="1-1")
    await service.outbox.drain()
    assert service.sent_texts("xiaowang") == ["给xiaowang"]
    assert service.sent_texts("xiaoli") == ["给xiaoli"]


async def test_webhook_key_never_reaches_the_logs(service, caplog):
    service.fake.script("webhook/send", 45009, 93000)
    with caplog.at_level(logging.DEBUG):
        await send(service, Reply("_raw.txt.j2", text="hi", to=Target("webhook", "SECRETKEY123")))
        await service.retry_due(60)
    ours = [r for r in caplog.records if r.name.startswith(("bot", "store", "handlers"))]  # not the fake's access log
    assert ours and not [r for r in ours if "SECRETKEY123" in r.getMessage()]
    assert len(await service.redis.xrange(service.store.keys.dead("outbox"))) == 1


async def test_40014_invalid_token_refreshes_and_retries_once(service):
    await send(service, Reply("errors/oops.txt.j2"), msg_id=1)
    service.fake.tokens.clear()  # WeCom forgot every token it issued: they are now invalid (40014)
    await send(service, Reply("errors/oops.txt.j2"), msg_id=2)
    assert [c.errcode for c in service.fake.sent("message/send")] == [0, 40014, 0]
    assert len(service.fake.sent("gettoken")) == 2


async def test_refused_secret_is_not_asked_again_at_once(service, caplog):
    """Wrong secrets can get the server's IP banned: one gettoken, one report, then a pause."""
    service.fake.script("gettoken", 40001)
    with caplog.at_level(logging.ERROR):
        for i in range(3):
            await send(service, Reply("errors/oops.txt.j2"), msg_id=i)
    assert len(service.fake.sent("gettoken")) == 1
    assert len([r for r in caplog.records if "40001" in r.getMessage()]) == 1
    assert len(await service.redis.xrange(service.store.keys.dead("outbox"))) == 3


@pytest.mark.parametrize("limit", [2048, 4096, 20480])
@pytest.mark.parametrize("unit", ["a", "草", "😀", "a草😀"])
def test_split_at_the_byte_limit_exactly(limit, unit):
    size = len(unit.encode())
    fits = unit * (limit // size)
    assert split_text(fits, limit) == [fits]
    over = fits + unit  # one unit past the limit, in one line
    parts = split_text(over, limit)
    assert len(parts) == 2 and "".join(parts) == over
    assert all(len(p.encode()) <= limit for p in parts)
    for p in parts:
        p.encode().decode("utf-8")  # every part is whole characters


def test_split_prefers_line_boundaries():
    line = "甲" * 600  # 1800 bytes
    parts = split_text("\n".join([line, line, line]), 2048)
    assert parts == [line, line, line]


async def test_appchat_text_and_file(service):
    reply = Reply("_raw.txt.j2", text="今日采购单", to=Target("appchat", "wrBuyersChat"),
                  attachment=Attachment("采购单.xlsx", b"PK\x03\x04" + b"1" * 64))
    await send(service, reply)
    calls = service.fake.sent("appchat/send", ok=True)
    assert [c.body["msgtype"] for c in calls] == ["text", "file"]
    assert all(c.body["chatid"] == "wrBuyersChat" for c in calls)
    assert calls[0].body["text"]["content"] == "今日采购单"
