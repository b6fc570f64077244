"""群发 quota as WeCom counts it: per customer group, as many per calendar month as it has days by
default, or 7 per week / 1 per day when the tenant's admin switched it ([shoppers] group_post_quota)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError
from bot.message import Message
from handlers.shoppers.settings import settings
from store.post_quota import next_period_start, period_of
from tests.conftest import make_config
from tests.shoppers.helpers import start

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=12):
    return datetime(y, m, d, hh, tzinfo=TZ)


def test_periods_and_their_limits():
    assert period_of("month", at(2026, 2, 10))[:2] == ("202602", 28)
    assert period_of("month", at(2028, 2, 10))[:2] == ("202802", 29)
    assert period_of("month", at(2026, 12, 31))[:2] == ("202612", 31)
    assert period_of("week", at(2026, 12, 31))[:2] == ("2026W53", 7)
    assert period_of("week", at(2027, 1, 4))[:2] == ("2027W01", 7)
    assert period_of("day", at(2026, 12, 5))[:2] == ("20261205", 1)
    assert next_period_start("month", at(2026, 12, 5)) == datetime(2027, 1, 1, tzinfo=TZ)
    assert next_period_start("week", at(2026, 12, 5)) == datetime(2026, 12, 7, tzinfo=TZ)  # a Saturday


def test_the_setting_is_checked():
    assert settings(make_config("x", "http://x")).group_post_quota == "month"
    with pytest.raises(ConfigError, match="group_post_quota"):
        settings(make_config("x", "http://x", shoppers={"group_post_quota": "year"}))


def origin(n: int) -> Message:
    return Message(id=f"app:q{n}", channel="app", conversation="xiaowang", sender="xiaowang")


@pytest.mark.parametrize("quota,allowed", [("month", 28), ("week", 7), ("day", 1)])
async def test_posts_until_the_quota_then_refused(aiohttp_client, redis, prefix, fake, quota, allowed):
    fake.add_group("wrGroupA", "xiaowang", ["wmA"], name="梅溪湖1群")
    cfg = make_config(prefix, fake.base_url, shoppers={"group_post_quota": quota})
    h, _ = await start(aiohttp_client, redis, cfg, fake)
    feb = at(2026, 2, 2, 9).timestamp()  # a Monday in a 28-day month: the week fits in it
    results = [await h.shoppers.post_to_groups("S01", f"第{n}条", origin=origin(n), now=feb + n * 60)
               for n in range(allowed + 1)]
    assert [r.ok for r in results] == [True] * allowed + [False]
    refusal = results[-1].replies[0].ctx
    assert (refusal["quota"], refusal["limit"], refusal["earlier_head"]) == (quota, allowed, f"第{allowed - 1}条")
    # A redelivered post keeps its own slot instead of taking another.
    again = await h.shoppers.post_to_groups("S01", "第0条", origin=origin(0), now=feb)
    assert again.ok
    # The next period starts afresh.
    later = {"day": 86400, "week": 7 * 86400, "month": 28 * 86400}[quota]
    assert (await h.shoppers.post_to_groups("S01", "下一期", origin=origin(999), now=feb + later)).ok
