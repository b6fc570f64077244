"""The features wired together as handlers/__init__.py lists them: shared words reach the right
feature, and whatever nothing takes gets a sensible answer (or none, for shoppers' chatter)."""
from __future__ import annotations

import handlers
from tests.coupons.helpers import shopper_says

OPEN = "/开团 丹东99草莓 36.9元/盒 限200盒 每人限4盒 满20盒成团 截止明天20:00 自提周六10-12点服务台"


def test_every_feature_is_routed_and_scheduled():
    names = {r.name for r in handlers.ROUTERS}
    for feature in ("shoppers", "coupons", "groupbuy", "digest"):
        assert any(feature in n for n in names), feature
    # Archived group lines are handled by listen and nothing else; the shopper gate is the first to see kf.
    assert handlers.ROUTERS[0].name == "handlers.groupbuy.listen"
    assert all(r.kind in ("any", "schedule") for r in handlers.ROUTERS[0].routes)
    assert handlers.ROUTERS[1].name == "handlers.shoppers"
    assert handlers.ROUTERS[-1].name == "handlers.help.fallback"
    jobs = {j.name for j in handlers.JOBS}
    assert {"kf_safety_pull", "coupon_reminders", "groupbuy_cutoff", "digest_tick"} <= jobs


async def test_guide_help_lists_every_feature(service):
    text = (await service.ask("帮助"))[0]
    for command in ("/开团", "/发券", "/核销", "/团", "/群发", "/结束"):
        assert command in text, command


async def test_bare_confirm_goes_to_the_newest_draft(service):
    service.fake.add_group("wrGroupA", "xiaowang", [])
    coupon = await service.ask("/发券 新人券 满50减10 100张 每人1张 有效3天")
    cid = coupon[0].split("「")[0]
    assert "已建好" in coupon[0]
    assert "请核对" in (await service.ask(OPEN))[0]
    opened = await service.ask("确认")
    assert "已开团" in opened[0]
    assert (await service.store.coupons.campaign(cid))["state"] == "draft"
    # Naming the campaign still reaches it, and a bare 确认 now has nothing left to confirm.
    assert "上线" in (await service.ask(f"确认 {cid}"))[0]
    assert (await service.store.coupons.campaign(cid))["state"] == "live"


async def test_draft_order_reversed_confirms_the_coupon(service):
    await service.ask(OPEN)
    coupon = await service.ask("/发券 满50减10 100张 每人1张 有效3天")
    cid = coupon[0].split("「")[0]
    await service.ask("确认")
    assert (await service.store.coupons.campaign(cid))["state"] == "live"
    assert await service.store.groupbuys.all_ids() == []


async def test_staff_get_a_pointer_for_what_nothing_takes(service):
    assert "没有“/改介”这个指令" in (await service.ask("/改介 草莓 3"))[0]
    assert "帮助" in (await service.ask("今天天气怎么样呀"))[0]


async def test_shopper_chatter_gets_no_answer_and_thanks_one_short_one(service):
    assert await shopper_says(service, "wmA", "我闺女最爱吃草莓了") == []
    [thanks] = await shopper_says(service, "wmA", "好的谢谢老板👍")
    assert len(thanks) < 30
    assert await shopper_says(service, "wmA", "谢谢") == []


async def test_shopper_cannot_use_guide_commands(service):
    assert "门店员工使用的指令" in (await shopper_says(service, "wmA", "/开团 草莓 1元"))[0]


async def test_guide_help_is_a_menu_and_a_topic_shows_the_details(service):
    (menu,) = await service.ask("帮助")
    assert len(menu.encode()) < 1024 and "【接龙团购】/开团 /团" in menu and "帮助 开团" in menu
    (detail,) = await service.ask("帮助 开团")
    assert "/开团 商品 价格 限量" in detail and "/发券" not in detail
    (unknown,) = await service.ask("帮助 退货")
    assert "没找到“退货”" in unknown and "/开团" in unknown


async def test_buyers_help_has_no_shopper_phrases(service):
    (text,) = await service.ask("帮助", user="buyer1")
    assert "/日报" in text and "+1" not in text and "领券" not in text
