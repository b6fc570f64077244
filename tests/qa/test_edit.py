"""Guide commands /改价 /库存 /促销 through the real wiring: scope, idempotency, ties, bad input."""
from __future__ import annotations

import dataclasses
import time

import pytest

from bot.message import Message
from handlers.qa.catalog import Product
from tests.qa.helpers import dispatch, shopper_says

S01_SHOPPER, S02_SHOPPER = ("wm1", "wkS01"), ("wm9", "wkS02")


async def price_seen(h, who=S01_SHOPPER) -> str:
    out = await shopper_says(h, who[0], "草莓多少钱", kf=who[1])
    return out[0].splitlines()[0]


def app_text(text: str, user: str, msg_id: str) -> Message:
    return Message(id=msg_id, channel="app", conversation=user, sender=user, text=text, time=int(time.time()))


async def test_guide_price_change_is_confirmed_and_answered_in_their_store_only(service):
    out = await service.ask("/改价 草莓 35.9", user="xiaowang")
    assert out == ["✅ 梅溪湖店 丹东99草莓（F001）售价已更新：\n39.9元/盒 → 35.9元/盒\n顾客现在问到就是新的价格。"]
    assert "35.9元/盒" in await price_seen(service)
    assert "39.9元/盒" in await price_seen(service, S02_SHOPPER)


async def test_stock_to_zero_makes_shoppers_see_out_of_stock(service):
    out = await service.ask("/库存 F001 0", user="xiaowang")  # an SKU works as well as a name
    assert "120盒 → 0盒（缺货）" in out[0]
    answer = await shopper_says(service, "wm1", "草莓还有吗")
    assert answer[0].startswith("😥 丹东99草莓暂时缺货")


async def test_stock_accepts_a_glued_value_and_the_word_out_of_stock(service):
    assert "→ 7盒" in (await service.ask("/库存草莓7", user="xiaowang"))[0]
    assert "7盒 → 0盒（缺货）" in (await service.ask("/库存 草莓 缺货", user="xiaowang"))[0]


async def test_promo_set_and_cleared(service):
    set_ = await service.ask("/促销 车厘子 限时特价 第二箱9折", user="xiaowang")
    assert "无活动 → 限时特价 第二箱9折" in set_[0]
    assert "🎉 活动：限时特价 第二箱9折" in (await shopper_says(service, "wm1", "车厘子多少钱"))[0]
    cleared = await service.ask("/促销 车厘子 无", user="xiaowang")
    assert "限时特价 第二箱9折 → 无活动" in cleared[0]
    assert "活动" not in (await shopper_says(service, "wm1", "车厘子多少钱"))[0]


async def test_a_redelivered_command_changes_nothing_again(service):
    first = await dispatch(service, app_text("/改价 草莓 35.9", "xiaowang", "app:E1"), role="guide")
    await dispatch(service, app_text("/改价 草莓 30", "xiaowang", "app:E2"), role="guide")
    version = await service.store.catalog.version()
    again = await dispatch(service, app_text("/改价 草莓 35.9", "xiaowang", "app:E1"), role="guide")
    assert await service.store.catalog.version() == version  # nothing written
    assert "30元/盒" in await price_seen(service)  # E1 did not undo E2
    assert first[0].ctx["before"] == again[0].ctx["before"] == [3990]  # the same confirmation


async def test_a_tie_asks_which_one_by_sku_and_changes_nothing(service):
    version = await service.store.catalog.version()
    out = await service.ask("/库存 牛奶 0", user="xiaowang")
    assert out[0].startswith("“牛奶”对应多款商品，请用编码指定是哪一款：")
    assert "D001 " in out[0] and "D003 " in out[0] and "例如：/库存 D" in out[0]
    assert await service.store.catalog.version() == version


@pytest.mark.parametrize("command, expected", [
    ("/改价 草莓 abc", "价格“abc”不对"),
    ("/改价 草莓 -3", "价格“-3”不对"),
    ("/改价 草莓 35.999", "价格“35.999”不对"),
    ("/改价 草莓 0", "价格“0”不对"),
    ("/改价 草莓", "格式：/改价 商品名或编码 价格（元）\n例如：/改价 草莓 35.9"),
    ("/改价", "格式：/改价"),
    ("/库存 草莓 1.5", "库存“1.5”不对"),
    ("/库存 草莓 很多", "库存“很多”不对"),
    ("/改价 火龙果 10", "没找到商品“火龙果”"),
    ("/改价 F001", "格式：/改价"),
    ("/改价 草梅 10", "没找到“草梅”，您说的是 F001 丹东99草莓 吗？是的话请发：\n/改价 F001 35.9"),
    ("/促销 草莓 " + "特" * 41, "最多 40 个字"),
])
async def test_bad_input_gets_a_precise_reply_and_changes_nothing(service, command, expected):
    version = await service.store.catalog.version()
    out = await service.ask(command, user="xiaowang")
    assert len(out) == 1 and expected in out[0]
    assert await service.store.catalog.version() == version


async def test_without_the_slash_a_line_that_does_not_parse_is_a_question(service):
    out = await service.ask("库存 草莓", user="xiaowang")
    assert "丹东99草莓" in out[0] and "售价已更新" not in out[0]


async def test_shopper_is_refused_and_nothing_changes(service):
    version = await service.store.catalog.version()
    out = await shopper_says(service, "wm1", "/改价 草莓 1")
    assert out == ["“改价”是门店员工使用的指令，您暂时不能使用哦。发送“帮助”看看我能为您做什么。"]
    assert await service.store.catalog.version() == version


async def test_guide_cannot_change_another_store(service):
    out = await service.ask("/改价 S01 草莓 1", user="xiaoli")
    assert out == ["您只能改自己门店（五一广场店）的商品。"]
    assert "39.9元/盒" in await price_seen(service)


async def test_guide_may_name_their_own_store(service):
    out = await service.ask("/改价 S02 草莓 31", user="xiaoli")
    assert "✅ 五一广场店" in out[0]
    assert "31元/盒" in await price_seen(service, S02_SHOPPER)


async def test_admin_changes_every_store_or_the_one_named(service):
    await service.ask("/改价 草莓 35.9", user="xiaowang")  # S01 has its own row now
    everywhere = await service.ask("/改价 草莓 30", user="boss")
    assert everywhere[0].startswith("✅ 全部门店 丹东99草莓（F001）售价已更新：\n39.9元/盒 / 35.9元/盒 → 30元/盒")
    assert "30元/盒" in await price_seen(service) and "30元/盒" in await price_seen(service, S02_SHOPPER)
    one = await service.ask("/改价 s02 草莓 28", user="boss")
    assert one[0].startswith("✅ 五一广场店")
    assert "30元/盒" in await price_seen(service) and "28元/盒" in await price_seen(service, S02_SHOPPER)


async def test_guide_of_no_store_is_told_why(service):
    # A guide listed only in [roles] guides belongs to no store.
    out = await dispatch(service, app_text("/改价 草莓 30", "lonely", "app:L1"), role="guide")
    assert out[0].ctx["problem"] == "no_store"


async def test_guide_of_two_stores_names_one(service):
    cfg = service.config
    stores = tuple(dataclasses.replace(s, guides=("duo",)) for s in cfg.stores)
    service.deps["config"] = dataclasses.replace(cfg, stores=stores)
    asked = await dispatch(service, app_text("/改价 草莓 30", "duo", "app:D1"), role="guide")
    done = await dispatch(service, app_text("/改价 S02 草莓 30", "duo", "app:D2"), role="guide")
    assert asked[0].ctx["problem"] == "which_store" and done[0].template == "qa/edit_done.txt.j2"


async def test_a_store_edit_splits_a_row_shared_with_other_stores(service):
    shared = Product("Z1", "测试西瓜", ("西瓜",), "水果", "", "个", 2000, 5, stores=("S01", "S02"))
    await service.store.catalog.replace([shared])
    res = await service.store.catalog.edit("Z1", "S01", "price_fen", 1800, "m:split")
    assert res.status == "applied"
    fields = sorted(k.decode() for k in await service.redis.hkeys(service.store.keys.catalog_items()))
    assert fields == ["Z1@S01", "Z1@S02"]  # no two rows serve one store
    _, products, _ = await service.store.catalog.load()
    assert {(p.stores, p.price_fen) for p in products} == {(("S01",), 1800), (("S02",), 2000)}
    assert (await service.store.catalog.edit("Z1", "S03", "stock", 0, "m:none")).status == "not_carried"
    assert (await service.store.catalog.edit("NOPE", None, "stock", 0, "m:nope")).status == "missing"
