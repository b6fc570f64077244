"""The shopper channel through the real router list (handlers.ROUTERS, no dispatcher swapped): kf
shoppers reach coupons and 接龙 through kf/sync_msg, a handed-off shopper's 领券 and +1 go to the
guide instead, new contacts get the welcome coupon, and 群发 shares the day with 接龙's post."""
from __future__ import annotations

import dataclasses
import re

import pytest

import handlers
from tests.conftest import make_config
from tests.coupons.helpers import make_live
from tests.harness import Harness
from tests.shoppers.helpers import contact_event_xml, says

OPEN = "/开团 丹东99草莓 36.9元/盒 限200盒 每人限4盒 满20盒成团 截止明天20:00 自提周六10-12点服务台"


async def _open_group(h) -> int:
    assert "请核对" in (await h.ask(OPEN))[0]
    opened = await h.ask("确认")
    assert "已开团" in opened[0], opened
    return int(opened[0].split("团号 ")[1].split("｜")[0])


@pytest.fixture
async def wired(service):
    assert service.worker.dispatcher.routers == handlers.ROUTERS
    service.fake.add_group("wrGroupA", "xiaowang", ["wmA"], name="梅溪湖1群")
    service.fake.kf_customers["wmA"] = {"external_userid": "wmA", "nickname": "王阿姨"}
    return service


async def test_a_handed_off_shoppers_coupon_and_join_go_to_the_guide(wired):
    h = wired
    cid = await make_live(h, "见面礼 无门槛5元 50张 每人1张 有效7天 全员")
    gid = await _open_group(h)
    [asked] = await says(h, "wmA", "转人工")
    assert "导购" in asked
    notice = h.sent_texts("xiaowang")[-1]
    ticket = re.search(r"#(\d+)", notice).group(1)

    # Handed off: neither coupons nor 接龙 answers or acts; the guide reads both lines.
    assert await says(h, "wmA", "领券") == []
    assert await says(h, "wmA", "+1") == []
    assert h.sent_texts("xiaowang")[-2:] == [f"#{ticket} 王阿姨：领券", f"#{ticket} 王阿姨：+1"]
    assert (await h.store.coupons.ledger_counts(cid))["issued"] == 0
    assert await h.store.groupbuys.lines(gid) == []

    await h.ask(f"/结束 {ticket}")
    [claimed] = await says(h, "wmA", "领券")
    assert claimed.startswith("领到啦") and "券码" in claimed
    [joined] = await says(h, "wmA", "+1")
    assert joined.startswith("✅ 已记录")
    assert [(x.owner, x.name) for x in await h.store.groupbuys.lines(gid)] == [("wmA", "王阿姨")]


async def test_the_guides_relay_and_end_reach_the_shopper_through_kf(wired):
    h = wired
    await says(h, "wmA", "找导购")
    ticket = re.search(r"#(\d+)", h.sent_texts("xiaowang")[-1]).group(1)
    await h.ask(f"/回复 {ticket} 草莓下午到，给您留两盒")
    assert h.sent_texts("wmA", path="kf/send_msg")[-1] == "草莓下午到，给您留两盒"
    out = await h.ask("/结束 王阿姨")  # by the shopper's name works too
    assert f"已结束 #{ticket}" in out[0]
    assert not (await h.deps["shoppers"].context_for("wkS01", "wmA")).handed_off


async def test_a_new_contact_gets_the_welcome_coupon_and_the_kf_link(wired):
    h = wired
    cid = await make_live(h, "见面礼 无门槛5元 50张 每人1张 有效7天 全员")
    assert cid in (await h.ask(f"/欢迎券 {cid}"))[0]
    await h.post_app(contact_event_xml("xiaowang", "wmNew", h.fake.welcome_code()))
    await h.drain()
    [call] = h.fake.sent("externalcontact/send_welcome_msg", ok=True)
    text = call.body["text"]["content"]
    assert "梅溪湖店" in text and "见面礼" in text
    code = text.split("券码 ", 1)[1][:11]
    assert (await h.store.coupons.code_record(code.replace("-", "")))["holder"] == "wmNew"
    assert call.body["attachments"][0]["link"]["url"].endswith("enc_scene=ENCs_S01")


async def test_group_post_and_the_groupbuy_post_share_the_day(wired):
    h = wired
    shoppers = h.deps["shoppers"]  # a tenant whose admin set 群发 to one per group per day
    shoppers.settings = dataclasses.replace(shoppers.settings, group_post_quota="day")
    await _open_group(h)  # its announcement is the day's 群发 for the store's groups
    [task] = h.fake.msg_templates
    assert (task["sender"], task["targets"], task["chat_type"]) == ("xiaowang", ["wrGroupA"], "group")
    assert task["attachments"][0]["link"]["url"].endswith("enc_scene=ENCgb1")
    out = await h.ask("/群发 今晚草莓特价")
    assert len(h.fake.msg_templates) == 1
    assert "今天发不了" in out[0] and "每天只能" in out[0] and "今晚草莓特价" in out[0]


async def test_group_post_by_command(wired):
    h = wired
    out = await h.ask("/群发 今晚草莓特价 29.9 一盒")
    [task] = h.fake.msg_templates
    assert (task["sender"], task["targets"]) == ("xiaowang", ["wrGroupA"])
    assert "群发待确认" in out[0] and "今晚草莓特价 29.9 一盒" in out[0]
    assert "https://work.weixin.qq.com/kf/wkS01?enc_scene=ENCs_S01" in out[0]  # the link, for pasting


TWO_STORES = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrGroupA"], "kf": "wkHQ"},
              {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "groups": ["wrGroupB"], "kf": "wkHQ"}]


async def test_one_kf_for_two_stores_asks_once_then_answers_the_held_claim(aiohttp_client, redis, prefix, fake):
    cfg = make_config(prefix, fake.base_url, stores=TWO_STORES,
                      roles={"guides": ["xiaowang", "xiaoli"], "buyers": [], "admins": []})
    h = await Harness.start(aiohttp_client, redis, cfg, fake)
    assert h.worker.dispatcher.routers == handlers.ROUTERS
    await make_live(h, "五一券 无门槛5元 50张 每人1张 有效7天 全员", user="xiaoli")
    [question] = await says(h, "wmQ", "领券", kf="wkHQ")
    assert "1. 梅溪湖店" in question and "2. 五一广场店" in question
    chosen, claimed = await says(h, "wmQ", "2", kf="wkHQ")
    assert "五一广场店" in chosen
    assert claimed.startswith("领到啦") and "五一券" in claimed
    [again] = await says(h, "wmQ", "领券", kf="wkHQ")  # never asked twice
    assert again.startswith("您已经领过了")
