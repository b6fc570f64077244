"""Class 9 of the conversations issue: a guide's messy one-liners. A 团 post without the command
(开团啦！…), a price without 元 or a unit, 20箱 without 限, a bare 36.9 and a coupon called 全场9折
are read as the guide obviously meant, or answered with one precise question, never a generic
"not understood". Transcripts through the real router list with the demo catalog."""
from __future__ import annotations

from datetime import datetime

import pytest

from handlers.groupbuy.opening import OpenSpec, parse_open
from tests.coupons.helpers import TZ

LATER = "截止明天20:00 自提后天10-12点服务台"


@pytest.mark.parametrize("post", [
    "开团啦！丹东99草莓，团购价36.9元/盒，限200盒，截止明天20:00，后天自提",
    "开团了~ 丹东99草莓 36.9元/盒 截止明天20:00 自提后天服务台",
    "今日开团：丹东99草莓｜36.9元/盒｜截止明天20:00｜后天自提",
])
async def test_a_group_post_without_the_command_becomes_a_draft(service, post):
    [draft] = await service.ask(post)
    assert "请核对这个团" in draft and "丹东99草莓" in draft and "36.9元/盒" in draft
    assert "已开团" in (await service.ask("确认"))[0]


async def test_a_price_without_a_unit_for_a_catalog_product_gets_one_question(service):
    [q] = await service.ask("开团啦！丹东99草莓，团购价198，截止明天20:00，后天自提")
    assert q.startswith("❓") and "198元是每盒还是每份" in q
    [q] = await service.ask(f"/开团 丹东99草莓 36.9 限20箱 {LATER}")
    assert "36.9元是每盒还是每箱" in q
    # nothing was drafted by either question
    assert not any("已开团" in t for t in await service.ask("确认"))
    [draft] = await service.ask(f"/开团 丹东99草莓 36.9 限20盒 {LATER}")  # units agree: nothing to ask
    assert "团购价：36.9元/盒" in draft and "限20盒" in draft


async def test_a_bare_count_is_the_total_and_a_unit_clash_names_both_units(service):
    [draft] = await service.ask(f"/开团 土鸡蛋礼盒 88元/盒 20盒 {LATER}")
    assert "限20盒" in draft and "备注" not in draft
    [clash] = await service.ask(f"/开团 丹东99草莓 36.9元/盒 20箱 {LATER}")
    assert "单位不一致" in clash and "盒和箱" in clash


@pytest.mark.parametrize("text", ["36.9", "36.9元", "¥19.9"])
async def test_a_bare_price_from_a_guide_is_asked_about(service, text):
    [q] = await service.ask(text)
    assert q.startswith("❓") and "/开团" in q and "/改价" in q and "没看懂" not in q


async def test_a_bare_price_with_a_draft_pending_names_that_draft(service):
    await service.ask(f"/开团 丹东99草莓 39.9元/盒 {LATER}")
    [q] = await service.ask("36.9")
    assert "丹东99草莓" in q and "36.9元/盒" in q


@pytest.mark.parametrize("text, name, rule", [
    ("全场9折 100张 有效3天", "全场9折", "9折"),
    ("全场通用 满100享8折 50张 有效7天", "全场满100享8折", "满100"),
    ("周末福利 全场9折 100张 有效3天", "周末福利", "9折"),
])
async def test_a_whole_store_coupon_keeps_a_meaningful_name(service, text, name, rule):
    [draft] = await service.ask(f"/发券 {text}")
    assert f"「{name}」" in draft and rule in draft


def test_opening_reads_a_lone_number_before_the_cutoff_as_the_price():
    now = datetime(2026, 12, 5, 10, 0, tzinfo=TZ)
    s = parse_open("草莓 36.9 截止明天20:00 自提后天 3栋 502", now, TZ)
    assert isinstance(s, OpenSpec) and s.price_fen == 3690 and not s.price_unit_written
    assert "502" in s.pickup and s.title == "草莓"
