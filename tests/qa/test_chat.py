"""Shoppers and staff asking through the real wiring (`handlers.ROUTERS`, `handlers.setup` seeding
the demo catalog): answers, ties picked by number, demand signals, chatter, hints, addressing."""
from __future__ import annotations

import time

import pytest

from bot.message import Message
from handlers.digest import demand_day
from handlers.digest.load import digest_for
from handlers.digest.settings import settings as digest_settings
from tests.aibot_chat import aibot  # noqa: F401  (fixture: the service in each [wecom.aibot] mode)
from tests.conftest import make_config
from tests.harness import Harness
from tests.qa.helpers import day_signals, demand, dispatch, group_line, shopper_says


async def test_shopper_gets_price_with_unit_spec_and_promo(service):
    out = await shopper_says(service, "wm1", "草莓多少钱一盒")
    assert len(out) == 1
    assert "丹东99草莓" in out[0] and "39.9元/盒（500g/盒）" in out[0] and "第二盒半价" in out[0]


async def test_stock_question_answers_stock_first(service):
    out = await shopper_says(service, "wm1", "车厘子还有吗")
    assert out[0].startswith("✅ 智利车厘子JJ级有货")


async def test_typo_and_pinyin_are_answered_with_the_product_named(service):
    typo = await shopper_says(service, "wm1", "草梅多少钱")
    pinyin = await shopper_says(service, "wm1", "caomei 有吗")
    assert "您问的是「丹东99草莓」吧" in typo[0]
    assert "丹东99草莓" in pinyin[0]


async def test_faq_and_promotions(service):
    hours = await shopper_says(service, "wm1", "你们几点关门")
    promos = await shopper_says(service, "wm1", "今天有什么特价")
    assert "8:00-22:00" in hours[0]
    assert promos[0].startswith("🎉 近期活动") and "第二盒半价" in promos[0]


async def test_a_tie_lists_options_and_a_number_picks_one(service):
    out = await shopper_says(service, "wm1", "牛奶多少钱")
    assert "您问的是哪一款" in out[0] and "回复序号" in out[0]
    lines = [x for x in out[0].splitlines() if x[:2] in ("1.", "2.", "3.")]
    second = lines[1].split(" ", 2)[1]
    picked = await shopper_says(service, "wm1", "2")
    assert len(picked) == 1 and second in picked[0] and "元/" in picked[0]
    # Another shopper's "2" picks nothing: the list belongs to the conversation it was shown in.
    assert await shopper_says(service, "wm2", "2") == []


async def test_a_new_question_withdraws_the_list(service):
    await shopper_says(service, "wm1", "牛奶多少钱")
    await shopper_says(service, "wm1", "草莓多少钱")
    assert await shopper_says(service, "wm1", "2") == []


async def test_out_of_stock_is_unmet_demand_counted_once_per_shopper_with_guide_credit(service, fake):
    fake.add_group("wrGroupA", "xiaowang", ["wm1"], name="梅溪湖1群")
    first = await shopper_says(service, "wm1", "榴莲有货吗")
    again = await shopper_says(service, "wm1", "榴莲什么时候到货")
    await shopper_says(service, "wm2", "榴莲还有吗")
    assert "暂时缺货" in first[0] and "已帮您记下" in first[0] and "到货时间可以问导购" in first[0]
    assert "已帮您记下" in again[0]  # still true: it is on record
    signal = await demand(service, "unmet", "S01", "F008")
    assert signal["askers"] == 2  # wm1 twice counts once
    assert signal["guides"] == {"xiaowang": 1}  # wm2 is in no group: credited to nobody
    assert signal["examples"][0] == "榴莲有货吗"


async def test_in_stock_product_records_nothing(service):
    await shopper_says(service, "wm1", "草莓多少钱")
    assert await day_signals(service) == []


async def test_item_not_carried_is_a_wish_term(service):
    out = await shopper_says(service, "wm1", "有没有牛油果")
    await shopper_says(service, "wm1", "有没有牛油果啊")
    assert "暂时没有牛油果" in out[0] and "已经帮您记下" in out[0]
    signal = await demand(service, "wish", "S01", "牛油果")
    assert signal["askers"] == 1


async def test_each_store_answers_and_records_for_itself(service):
    await service.store.catalog.edit("F001", "S02", "price_fen", 2990, "setup:s02price")
    s01 = await shopper_says(service, "wm1", "草莓多少钱")
    s02 = await shopper_says(service, "wm9", "草莓多少钱", kf="wkS02")
    assert "39.9元" in s01[0] and "29.9元" in s02[0]
    await shopper_says(service, "wm9", "榴莲有吗", kf="wkS02")
    assert (await demand(service, "unmet", "S02", "F008"))["askers"] == 1
    assert await demand(service, "unmet", "S01", "F008") is None


@pytest.mark.parametrize("line", ["[图片]", "草莓很甜", "我闺女最爱吃草莓了"])
async def test_chatter_gets_no_reply(service, line):
    assert await shopper_says(service, "wm1", line) == []


@pytest.mark.parametrize("line", ["谢谢老板", "收到", "好的👍", "好的谢谢老板👍"])
async def test_thanks_and_acks_get_one_short_answer_not_a_product(service, line):
    [reply] = await shopper_says(service, "wm1", line)
    assert len(reply) < 30 and "元" not in reply
    assert await shopper_says(service, "wm1", line) == []


async def test_a_photo_gets_no_reply(service):
    msg = Message(id="kf:photo1", channel="kf", conversation="kf:wkS01:wm1", sender="wm1", sender_kind="customer",
                  text="[图片]", kind="other", time=int(time.time()))
    service.fake.kf_push("wkS01", "wm1", "[图片]")
    await service.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    await service.drain()
    assert service.sent_texts("wm1", path="kf/send_msg") == []


async def test_unplaceable_line_gets_one_hint_then_quiet(service):
    first = await shopper_says(service, "wm1", "我想问一下")
    second = await shopper_says(service, "wm1", "怎么买")
    other = await shopper_says(service, "wm2", "怎么买")
    assert len(first) == 1 and "草莓多少钱" in first[0] and "人工" in first[0]
    assert second == []  # not on every line
    assert len(other) == 1  # per conversation


async def test_a_group_line_is_never_answered_in_the_group_but_counts_as_demand(service):
    # Nothing can be posted into a customer group in real time: an archived line, mentioned or
    # not, gets no reply there; its demand counts (source: group) and its guide hears of it
    # (tests/listen/test_group_questions.py).
    assert await dispatch(service, group_line("wm5", "榴莲有货吗")) == []
    signal = await demand(service, "unmet", "S01", "F008")
    assert signal["askers"] == 1 and signal["sources"] == {"group": 1}
    assert await dispatch(service, group_line("wm5", "@小助手 榴莲有货吗")) == []
    assert (await demand(service, "unmet", "S01", "F008"))["askers"] == 1  # the same shopper, counted once
    assert await dispatch(service, group_line("wm5", "@小助手 我想问一下")) == []


async def test_aibot_group_is_always_addressed(aibot):  # in both [wecom.aibot] modes
    out = await aibot.ask("车厘子多少钱", chat="C1")
    assert len(out) == 1 and "智利车厘子JJ级 259元/箱" in out[0]


async def test_staff_get_answers_and_the_fallback_for_the_rest(service):
    answer = await service.ask("草莓多少钱", user="xiaowang")
    unknown = await service.ask("有没有牛油果", user="xiaowang")
    nothing = await service.ask("我想问一下", user="xiaowang")
    assert "39.9元/盒" in answer[0]
    assert unknown == nothing == ["这句我没看懂。发送“帮助”看看可以用哪些指令，例如 /开团、/发券、/改价。"]
    assert await day_signals(service) == []  # staff are not demand


async def test_shopper_help_lists_how_to_ask(service):
    out = await shopper_says(service, "wm1", "帮助")
    assert "草莓多少钱" in out[0] and "/改价" not in out[0]


async def test_nothing_is_claimed_before_a_catalog_exists(aiohttp_client, redis, prefix, fake):
    h = await Harness.start(aiohttp_client, redis, make_config(prefix, fake.base_url), fake)
    assert await h.store.catalog.version() == 0  # not demo: nothing seeded by default
    assert await shopper_says(h, "wm1", "有没有牛油果") == []
    assert await day_signals(h) == []


async def test_shopper_of_unknown_store_is_answered_chain_wide_and_counted_as_such(service):
    asked = await shopper_says(service, "wm7", "榴莲有货吗", kf="wkChain")  # a kf account of no store
    assert len(asked) == 1 and "梅溪湖店" in asked[0]  # the shopper gate asks once which store
    out = await shopper_says(service, "wm7", "榴莲还有吗", kf="wkChain")  # ignored: answer anyway
    assert "暂时缺货" in out[0]
    assert (await demand(service, "unmet", "*", "F008"))["askers"] == 1
    now = time.time()
    digest = await digest_for(service.store, service.config, digest_settings(service.config),
                              demand_day(service.config, now), now)
    assert [r["sku"] for r in digest["unmet"]] == ["F008"]


async def test_a_product_with_an_open_tuan_points_to_it(service):
    """The shelf price is not the whole answer while the store runs a 团 of that product."""
    service.fake.add_group("wrGroupA", "xiaowang", [])
    await service.ask("/开团 丹东99草莓 36.9元/盒 限200盒 截止明天20:00 自提周六10-12点服务台")
    await service.ask("确认")
    out = await shopper_says(service, "wm1", "草莓多少钱")
    assert "39.9元/盒" in out[0] and "正在接龙团购：36.9元/盒" in out[0] and "+1" in out[0]
    other = await shopper_says(service, "wm1", "车厘子多少钱")
    assert "接龙" not in other[0]
