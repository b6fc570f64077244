"""Class 8 of the conversations issue: a shopper's own words for their own things. 我的接龙 / 我的订单
list their lines (also when nothing is open), 我的券 their coupons, 我妈那份改成2份 changes the one
line named 我妈, the bot's example quantities stay within the per-person limit, and 我要投诉 / 找人
reach a guide instead of an FAQ answer. Transcripts through the real router list."""
from __future__ import annotations

import pytest

from tests.coupons.helpers import codes_in, make_live, shopper_says
from tests.groupbuy.helpers import open_group

LATER = "截止明天20:00 自提后天10-12点服务台"


@pytest.mark.parametrize("words", ["我的接龙", "我的订单", "查一下我的团购", "我的接龙？"])
async def test_my_orders_with_nothing_is_a_clear_none(service, words):
    [reply] = await shopper_says(service, "wmNone", words)
    assert "还没有报名" in reply


async def test_my_orders_lists_own_lines_across_groups_and_no_one_elses(service):
    await open_group(service, f"/开团 丹东99草莓 36.9元/盒 每人限4盒 {LATER}")
    await open_group(service, f"/开团 阿克苏苹果 69.9元/箱 {LATER}")
    await shopper_says(service, "wmMe", "草莓2盒")
    await shopper_says(service, "wmOther", "苹果3箱")
    for words in ("我的接龙", "我的订单"):
        [mine] = await shopper_says(service, "wmMe", words)
        assert "丹东99草莓：2盒（第1号）" in mine and "苹果" not in mine


async def test_my_coupons_lists_the_shoppers_codes(service):
    await make_live(service, "新人券 满50减10 100张 每人1张 有效3天 全员")
    assert "还没有券" in (await shopper_says(service, "wmC", "我的券"))[0]
    got = codes_in(await shopper_says(service, "wmC", "领券"))
    [mine] = await shopper_says(service, "wmC", "我的券")
    assert got and got[0] in mine


async def test_the_line_named_mom_is_the_one_changed(service):
    await open_group(service, f"/开团 阿克苏苹果 69.9元/箱 每人限6箱 {LATER}")
    await shopper_says(service, "wmFam", "+1")
    await shopper_says(service, "wmFam", "帮我妈报1箱")
    await shopper_says(service, "wmFam", "帮我姐报1箱")
    [changed] = await shopper_says(service, "wmFam", "我妈那份改成2份")
    assert "已改好" in changed and "我妈 2箱（第2号）" in changed
    assert "1箱（第1号）" in changed and "我姐 1箱（第3号）" in changed
    [cancel] = await shopper_says(service, "wmFam", "我姐那份不要了")
    assert "第3号" in cancel and "我妈 2箱" in cancel


async def test_the_bots_examples_stay_within_the_limit(service):
    opened = await service.ask(f"/开团 阿克苏苹果 69.9元/箱 每人限2箱 {LATER}") and await service.ask("确认")
    announce = next(t for t in opened if "接龙方式" in t)
    assert "改成2箱" in announce and "改成3箱" not in announce
    await shopper_says(service, "wmLim", "+2")
    [again] = await shopper_says(service, "wmLim", "+1")
    assert "已到每人限购2箱" in again and "再加1" not in again and "改成3" not in again


@pytest.mark.parametrize("words", ["我要投诉", "投诉：昨天的草莓是烂的", "找人", "我想找个负责人", "找店长"])
async def test_complaints_and_asking_for_a_person_reach_a_guide(service, words):
    user = f"wmH{abs(hash(words)) % 10_000}"
    [reply] = await shopper_says(service, user, words)
    assert "导购" in reply and "退换" not in reply
    handed = service.sent_texts("xiaowang")
    assert any(words in t for t in handed), handed
