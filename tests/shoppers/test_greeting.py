"""A shopper entering 微信客服 is greeted once, within WeCom's 20 s, naming the store they came for."""
from __future__ import annotations

import pytest

from tests.shoppers.helpers import kf_callback, start
from tests.conftest import make_config


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    return await start(aiohttp_client, redis, service_config, fake)


def _greetings(fake) -> list[str]:
    return [c.body["text"]["content"] for c in fake.sent("kf/send_msg_on_event", ok=True)]


async def test_entering_brings_one_greeting_naming_the_store(aiohttp_client, redis, prefix, fake):
    stores = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "kf": "wkHQ"},
              {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "kf": "wkHQ"}]
    h, _ = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=stores), fake)
    fake.kf_push("wkHQ", "wmIn", msgtype="event", event={"scene": "s_S02"}, welcome=True)
    await kf_callback(h, "wkHQ")
    await h.drain()
    [text] = _greetings(fake)
    assert "五一广场店" in text and "人工" in text
    # Back within 48 h: WeCom hands out no code, so no second greeting.
    fake.kf_push("wkHQ", "wmIn", msgtype="event", event={"scene": "s_S02"}, welcome=True)
    await kf_callback(h, "wkHQ")
    await h.drain()
    assert len(fake.sent("kf/send_msg_on_event")) == 1


async def test_a_stale_enter_session_is_not_greeted(shop, fake):
    h, _ = shop
    fake.advance(-60)
    fake.kf_push("wkS01", "wmSlow", msgtype="event", event={}, welcome=True)
    fake.advance(60)
    await kf_callback(h)
    await h.drain()
    assert fake.sent("kf/send_msg_on_event") == []


async def test_a_dead_code_is_an_ordinary_outcome(shop, fake, caplog):
    h, _ = shop
    fake.kf_push("wkS01", "wmDead", msgtype="event", event={}, welcome=True)
    fake.script("kf/send_msg_on_event", 40029)
    await kf_callback(h)
    for _ in range(3):
        await h.drain()
    assert [c.errcode for c in fake.sent("kf/send_msg_on_event")] == [40029]
    assert await h.store.inbox.pending_count() == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
