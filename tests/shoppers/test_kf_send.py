"""Replies to kf shoppers: WeCom's 5-replies-per-message and 48 h rules, and no retries on 95001/95018."""
from __future__ import annotations

import time

import pytest

from tests.shoppers.helpers import kf_callback, start
from bot.message import Message, Reply, Target


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    return await start(aiohttp_client, redis, service_config, fake)


async def _dead(h) -> list[dict]:
    return [{k.decode(): v.decode() for k, v in e[1].items()}
            for e in await h.store.r.xrange(h.store.keys.dead("outbox"))]


async def test_window_error_is_not_retried(shop, fake):
    h, rec = shop
    fake.kf_push("wkS01", "wmX", "在吗")
    fake.script("kf/send_msg", 95018)
    await kf_callback(h)
    for _ in range(3):
        await h.retry_due(600)
    assert [c.errcode for c in fake.sent("kf/send_msg")] == [95018]  # one call, no retry
    dead = await _dead(h)
    assert len(dead) == 1 and "95018" in dead[0]["reason"]


async def test_wecom_95001_waits_for_the_shopper_then_gives_up_at_the_horizon(shop, fake):
    h, rec = shop
    fake.kf_push("wkS01", "wmX", "在吗")
    fake.script("kf/send_msg", 95001, 95001, 95001)
    await kf_callback(h)
    await h.drain()
    assert [c.errcode for c in fake.sent("kf/send_msg")] == [95001]
    assert await _dead(h) == [] and await h.store.parking.waiting() == 1
    await h.retry_due(120)  # WeCom still counts 5 replies: it keeps waiting, at backoff_seconds
    assert [c.errcode for c in fake.sent("kf/send_msg")] == [95001, 95001]
    await h.retry_due(h.config.sender.retry_horizon_seconds)
    assert len(fake.sent("kf/send_msg")) == 3  # the try that was due, then none past the horizon
    await h.retry_due(600)
    assert len(fake.sent("kf/send_msg")) == 3
    dead = await _dead(h)
    assert len(dead) == 1 and "95001" in dead[0]["reason"] and await h.store.parking.waiting() == 0


async def test_at_most_five_replies_per_customer_message(shop, fake):
    h, rec = shop
    rec.replies = 7
    fake.kf_push("wkS01", "wmChatty", "都有什么")
    await kf_callback(h)
    await h.drain()
    calls = fake.sent("kf/send_msg")
    assert len(calls) == 5 and all(c.errcode == 0 for c in calls)  # the last two never reach WeCom
    assert await _dead(h) == [] and await h.store.parking.waiting() == 1  # they wait for the shopper
    await h.retry_due(120)
    assert len(fake.sent("kf/send_msg")) == 5  # still 5 replies to one customer message
    # A new customer message opens a new allowance: the two waiting replies go first, then the new one.
    rec.replies = 1
    fake.kf_push("wkS01", "wmChatty", "还有呢")
    await kf_callback(h)
    await h.drain()
    ok = fake.sent("kf/send_msg", ok=True)
    assert len(ok) == 8
    assert [c.body["text"]["content"] for c in ok] == [f"收到：都有什么 ({i})" for i in range(1, 8)] + ["收到：还有呢 (1)"]
    assert len({c.body["msgid"] for c in ok}) == 8


async def test_nothing_is_sent_48h_after_the_customer_wrote(shop, fake):
    h, _ = shop
    conv = "kf:wkS01:wmGone"
    await h.store.kf.customer_wrote(conv, int(time.time()) - 49 * 3600)
    origin = Message(id="job:test:1", channel="schedule", conversation="job:test", kind="schedule")
    await h.worker.emit(origin, [Reply("_raw.txt.j2", text="您的团到货了", to=Target("kf", "wkS01:wmGone"))])
    await h.drain()
    assert fake.sent("kf/send_msg") == []
    assert "95018" in (await _dead(h))[0]["reason"]


async def test_a_transport_failure_gives_the_reply_slot_back(shop, fake):
    h, rec = shop
    rec.replies = 5
    fake.kf_push("wkS01", "wmRetry", "你好")
    fake.script("kf/send_msg", "http500")
    await kf_callback(h)
    await h.drain()
    ok = fake.sent("kf/send_msg", ok=True)
    assert len(ok) == 5  # the retried reply did not use up a sixth slot
