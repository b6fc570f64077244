"""Guides' and buyers' commands through the 智能机器人 in both modes, against the fake WeCom: the URL
callback and the long connection must answer every line the same (tests/aibot_chat.py runs each
test once per mode), 1:1 and @bot in an internal group, and handle a redelivered message once."""
from __future__ import annotations

import re

import pytest

from tests.aibot_chat import aibot  # noqa: F401  (fixture: the service in each [wecom.aibot] mode)
from tests.qa.conftest import qa_config

LATER = "截止明天20:00 自提后天10-12点服务台"


@pytest.fixture
def service_config(prefix, fake):
    return qa_config(prefix, fake.base_url)  # the demo catalog and FAQ seeded


async def test_guide_help_lists_the_staff_commands(aibot):
    [out] = await aibot.ask("帮助")
    assert "身份是【导购】" in out and "/开团" in out and "/发券" in out


async def test_a_question_at_the_bot_in_a_group_is_answered(aibot):
    [out] = await aibot.ask("车厘子多少钱", chat="wrInternal1")
    assert "智利车厘子JJ级 259元/箱" in out


async def test_guide_opens_a_tuan_draft_then_confirms(aibot):
    [draft] = await aibot.ask(f"/开团 丹东99草莓 36.9元/盒 限20盒 {LATER}")
    assert "请核对这个团" in draft and "团购价：36.9元/盒" in draft
    [done] = await aibot.ask("确认")
    assert "已开团" in done and "团号 1" in done


async def test_guide_issues_a_coupon_after_confirming(aibot):
    [draft] = await aibot.ask("/发券 满50减10 100张 每人1张 有效3天")
    cid = re.search(r"(C\d+)「", draft).group(1)
    [ok] = await aibot.ask(f"确认 {cid}")
    assert "上线了" in ok


async def test_guide_changes_a_price_and_the_next_question_gets_it(aibot):
    [ok] = await aibot.ask("/改价 丹东99草莓 35.9")
    assert "35.9" in ok
    [out] = await aibot.ask("草莓多少钱", chat="wrInternal1")
    assert "35.9元/盒" in out


async def test_buyer_asks_for_the_demand_of_today(aibot):
    [out] = await aibot.ask("/需求", user="buyer1")
    assert "需求" in out


async def test_a_redelivered_message_is_handled_once(aibot):
    [draft] = await aibot.ask(f"/开团 丹东99草莓 36.9元/盒 限20盒 {LATER}", msgid="DUP1")
    # WeCom delivers the same msgid again (a retry, or a second connection): no second draft, no reply
    await aibot.send(aibot.payload(f"/开团 丹东99草莓 36.9元/盒 限20盒 {LATER}", "xiaowang", None, "DUP1"))
    [done] = await aibot.ask("确认")
    assert "已开团" in done
    assert sum("请核对这个团" in t for t in aibot.texts()) == 1
