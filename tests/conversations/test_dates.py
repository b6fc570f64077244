"""Class 7 of the conversations issue: dates are resolved once, shown absolutely (12月6日 周六, with
the year when it is not this year's), past cutoffs are refused, and a pickup before the cutoff is
caught. Transcripts through the real router list: a guide on the app, shoppers on 微信客服."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.render import day_label
from handlers.groupbuy.when import parse_deadline
from tests.coupons.helpers import TZ, shopper_says
from tests.groupbuy.helpers import open_group


def label(days: int) -> str:
    today = datetime.now(TZ).date()
    return day_label(today + timedelta(days=days), today)


@pytest.mark.parametrize("cutoff", ["截止昨天20:00", "截止昨晚8点", "截止前天", "截止上周一 20:00"])
async def test_a_past_cutoff_is_refused_not_moved_to_today(service, cutoff):
    [reply] = await service.ask(f"/开团 丹东99草莓 36.9元/盒 {cutoff} 自提后天")
    assert "已经过了" in reply and "请核对" not in reply


async def test_cutoff_and_pickup_are_shown_as_absolute_days(service):
    [draft] = await service.ask("/开团 丹东99草莓 36.9元/盒 截止明天20:00 自提后天下午 服务台")
    assert f"截单：{label(1)} 20:00" in draft
    assert f"自提：{label(2)} 下午 服务台" in draft and "后天" not in draft
    [opened, announce] = (await service.ask("确认"))[:2]
    gid = int(opened.split("团号 ")[1].split("｜")[0])
    assert f"{label(1)} 20:00截单" in opened
    assert f"📍 自提：{label(2)} 下午 服务台" in announce and "后天" not in announce
    # asked later, the shopper hears the same absolute day, never a 后天 that has moved on
    await shopper_says(service, "wmD", "+1")
    [where] = await shopper_says(service, "wmD", "在哪提货")
    assert label(2) in where and "后天" not in where
    assert (await service.store.groupbuys.get(gid)).pickup == f"{label(2)} 下午 服务台"


async def test_a_date_in_another_year_shows_its_year(service):
    year = datetime.now(TZ).year + 1
    [draft] = await service.ask(f"/开团 丹东99草莓 36.9元/盒 截止{year}-01-10 20:00 自提{year}-01-11 服务台")
    assert f"截单：{year}年1月10日 周{'一二三四五六日'[date(year, 1, 10).weekday()]} 20:00" in draft
    assert f"自提：{year}年1月11日" in draft


def _md(days: int) -> str:
    d = datetime.now(TZ).date() + timedelta(days=days)
    return f"{d.month}月{d.day}日"


@pytest.mark.parametrize("text", ["截止后天20:00 自提明天下午", "截止明天20:00 自提明天上午10点",
                                  "截止明天20:00 自提今天", f"截止{_md(3)}20:00 自提{_md(2)}"])
async def test_a_pickup_before_the_cutoff_is_refused(service, text):
    [reply] = await service.ask(f"/开团 丹东99草莓 36.9元/盒 {text}")
    assert "在截单" in reply and "之前" in reply and "请核对" in reply
    assert not any("已开团" in t for t in await service.ask("确认"))


async def test_a_bare_weekday_pickup_is_the_first_one_after_the_cutoff(service):
    [draft] = await service.ask("/开团 丹东99草莓 36.9元/盒 截止明天20:00 自提周六10-12点服务台")
    tomorrow = datetime.now(TZ).date() + timedelta(days=1)
    sat = tomorrow + timedelta(days=(5 - tomorrow.weekday()) % 7)
    if sat == tomorrow:  # 10-12点 on the cutoff day itself would end before 20:00: refused instead
        assert "在截单" in draft
    else:
        assert f"自提：{day_label(sat, datetime.now(TZ).date())} 10-12点服务台" in draft
    [late] = await service.ask("/开团 丹东99草莓 36.9元/盒 截止明天20:00 自提明天21点")
    assert "请核对这个团" in late


def test_past_day_words_are_read_as_past():
    now = datetime(2026, 12, 5, 10, 0, tzinfo=TZ)  # a Saturday
    assert parse_deadline("昨天20:00", now) == datetime(2026, 12, 4, 20, 0, tzinfo=TZ)
    assert parse_deadline("上周五", now) == datetime(2026, 11, 27, 23, 59, tzinfo=TZ)
    assert parse_deadline("前天", now).date() == date(2026, 12, 3)
    assert parse_deadline("明天20:00", now) == datetime(2026, 12, 6, 20, 0, tzinfo=TZ)
