"""Ask a human, and ask once which store: the gate in front of every kf shopper message."""
from __future__ import annotations

import asyncio

import pytest

from tests.shoppers.helpers import says, start
from tests.conftest import make_config


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    return await start(aiohttp_client, redis, service_config, fake)


async def test_handoff_keeps_the_bot_quiet_until_the_guide_ends_it(shop, fake):
    h, rec = shop
    fake.kf_customers.setdefault("wmH", {"external_userid": "wmH", "nickname": "王阿姨"})
    assert await says(h, "wmH", "草莓还有吗") == ["收到：草莓还有吗 (1)"]
    guide_before = len(h.sent_texts("xiaowang"))

    out = await says(h, "wmH", "转人工")
    assert len(out) == 1 and "导购" in out[0]
    [notice] = h.sent_texts("xiaowang")[guide_before:]
    assert "王阿姨" in notice and "草莓还有吗" in notice and "转人工" in notice
    ticket = notice.split("#", 1)[1].split("】", 1)[0]

    # Quiet: nothing reaches the rest of the bot, nothing goes to the shopper; the guide sees it.
    seen = len(rec.seen)
    assert await says(h, "wmH", "我下午去拿") == []
    assert len(rec.seen) == seen
    assert h.sent_texts("xiaowang")[-1] == f"#{ticket} 王阿姨：我下午去拿"

    await h.ask(f"/回复 {ticket} 给您留了两盒", user="xiaowang")
    assert h.sent_texts("wmH", path="kf/send_msg")[-1] == "给您留了两盒"

    out = await h.ask(f"/结束 {ticket}", user="xiaowang")
    assert f"已结束 #{ticket}" in out[0]
    assert "服务到这里" in h.sent_texts("wmH", path="kf/send_msg")[-1]
    assert await says(h, "wmH", "鸡蛋多少钱") == ["收到：鸡蛋多少钱 (1)"]


async def test_handoff_times_out(shop, fake):
    h, rec = shop
    await says(h, "wmT", "人工")
    assert (await h.shoppers.context_for("wkS01", "wmT")).handed_off
    await h.store.r.pexpire(h.store.keys.shopper("kf:wkS01:wmT", "ho"), 1)  # the timeout passes
    await asyncio.sleep(0.01)
    assert await says(h, "wmT", "在吗") == ["收到：在吗 (1)"]
    out = await h.ask("/结束", user="xiaowang")
    assert "没有正在进行" in out[0]


async def test_bare_end_ends_the_guides_latest_and_a_second_ask_changes_nothing(shop, fake):
    h, rec = shop
    await says(h, "wmP", "找导购")
    notices = len(h.sent_texts("xiaowang"))
    out = await says(h, "wmP", "人工")  # asked again while handed off: forwarded, no new ticket
    assert out == [] and len(h.sent_texts("xiaowang")) == notices + 1
    out = await h.ask("/结束", user="xiaowang")
    assert "已结束" in out[0]
    assert not (await h.shoppers.context_for("wkS01", "wmP")).handed_off


async def test_other_words_do_not_trigger_a_handoff(shop, fake):
    h, rec = shop
    for text in ("人工种植的草莓好吃吗", "导购说有优惠"):
        assert await says(h, "wmN", text) == [f"收到：{text} (1)"]
    assert not (await h.shoppers.context_for("wkS01", "wmN")).handed_off


TWO_STORES = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "kf": "wkHQ"},
              {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "kf": "wkHQ"}]


async def test_unknown_store_is_asked_once_and_the_held_question_answered(aiohttp_client, redis, prefix, fake):
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=TWO_STORES), fake)
    out = await says(h, "wmQ", "草莓多少钱", kf="wkHQ")
    assert len(out) == 1 and "1. 梅溪湖店" in out[0] and "2. 五一广场店" in out[0]
    assert rec.seen == []
    out = await says(h, "wmQ", "2", kf="wkHQ")
    assert "五一广场店" in out[0] and out[1] == "收到：草莓多少钱 (1)"
    assert [(m.text, c.store_id, c.store_source) for m, c in zip(rec.seen, rec.contexts)] == [
        ("草莓多少钱", "S02", "chosen")]
    assert await says(h, "wmQ", "鸡蛋呢", kf="wkHQ") == ["收到：鸡蛋呢 (1)"]


async def test_an_answer_that_names_no_store_is_not_asked_again(aiohttp_client, redis, prefix, fake):
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=TWO_STORES), fake)
    await says(h, "wmR", "在吗", kf="wkHQ")
    # The held question is still answered (without a store), then the answer itself.
    assert await says(h, "wmR", "随便", kf="wkHQ") == ["收到：在吗 (1)", "收到：随便 (1)"]
    assert await says(h, "wmR", "草莓", kf="wkHQ") == ["收到：草莓 (1)"]
    assert rec.contexts[-1].store_id is None


async def test_handoff_goes_to_the_chosen_stores_guides(aiohttp_client, redis, prefix, fake):
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=TWO_STORES), fake)
    await says(h, "wmS", "人工", kf="wkHQ")
    await says(h, "wmS", "五一广场", kf="wkHQ")
    assert any("顾客找人工" in t for t in h.sent_texts("xiaoli"))
    assert not any("顾客找人工" in t for t in h.sent_texts("xiaowang"))
