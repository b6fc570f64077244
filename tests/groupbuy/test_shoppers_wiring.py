"""接龙 with the shopper channel wired: the announcement becomes a 群发 with a kf card
whose scene is the 团, a shopper who came in through that card means that 团, and their WeChat
nickname names their line."""
from __future__ import annotations

import time

import pytest

import handlers.shoppers as shoppers_feature
from bot.router import Dispatcher
from handlers import confirm, help
from handlers.groupbuy import chat
from tests.groupbuy.helpers import OPEN, open_group, shop, use_groupbuy


@pytest.fixture
async def wired(service):
    use_groupbuy(service)
    await shoppers_feature.setup(service.deps)
    await chat.setup(service.deps)
    service.worker.dispatcher = Dispatcher([shoppers_feature.router, confirm.router, help.router, chat.router])
    service.fake.add_group("wrGroupA", "xiaowang", ["wmA", "wmB"], name="梅溪湖1群")
    return service


async def test_confirm_posts_to_groups_with_the_groups_kf_card(wired):
    await wired.ask(OPEN)
    out = await wired.ask("确认")
    assert "群发任务已创建" in out[0]
    posts = [c.body for c in wired.fake.sent("externalcontact/add_msg_template", ok=True)]
    assert len(posts) == 1 and posts[0]["chat_id_list"] == ["wrGroupA"]
    assert "点下方卡片找客服" in posts[0]["text"]["content"]
    assert posts[0]["attachments"][0]["link"]["url"].endswith("enc_scene=ENCgb1")
    ways = [c.body for c in wired.fake.sent("kf/add_contact_way", ok=True)]
    assert {"open_kfid": "wkS01", "scene": "gb1"} in ways


async def test_scene_of_the_kf_card_picks_the_group_and_its_store(wired):
    first = await open_group(wired)
    second = await open_group(wired, "/开团 手工水饺 30元/份 截止明天20:00 自提周六服务台")
    assert "您要报哪个" in (await shop(wired, "wmB", "+1"))[0]
    await wired.store.kf.record_page([wired.store.shoppers.set_scene_call("kf:wkS01:wmA", f"gb{second}", "",
                                                                           int(time.time()))])
    assert (await shop(wired, "wmA", "+1"))[0].startswith("✅ 已记录：手工水饺 1份（第1号）")
    assert await wired.deps["shoppers"].context_for("wkS01", "wmA") is not None
    lines = await wired.store.groupbuys.lines(second)
    assert [(x.owner, x.name) for x in lines] == [("wmA", "wmA")]  # the fake's nickname is the id
    assert await wired.store.groupbuys.lines(first) == []
