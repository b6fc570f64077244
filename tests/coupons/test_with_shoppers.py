"""Coupons behind the real shopper channel (issue 3): signed kf callbacks, kf/sync_msg, its store and
join-time context, its kf sender with the reply quota, and its new-contact welcome."""
from __future__ import annotations

import pytest

import handlers.shoppers as shoppers_mod  # first: import cycle in store/
from bot.router import Dispatcher
from handlers.coupons.chat import router as coupons_router, welcome_extra
from tests.coupons.conftest import tail
from tests.coupons.test_chat import codes_in, make_live
from tests.harness import Harness
from tests.shoppers.helpers import chat_event_xml, contact_event_xml, kf_callback, member_version


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    h = await Harness.start(aiohttp_client, redis, service_config, fake)
    shoppers = await shoppers_mod.setup(h.deps)
    shoppers.add_welcome_extra(welcome_extra(h.store, h.config))
    h.worker.dispatcher = Dispatcher([shoppers_mod.router, coupons_router, tail])
    return h


async def kf_says(h, user: str, text: str, kf: str = "wkS01", callbacks: int = 1) -> list[str]:
    before = len(h.sent_texts(user, path="kf/send_msg"))
    h.fake.kf_push(kf, user, text)
    for _ in range(callbacks):
        await kf_callback(h, kf)
    await h.drain()
    return h.sent_texts(user, path="kf/send_msg")[before:]


async def test_claim_through_kf_callbacks_and_duplicated_callbacks_give_one_code(shop):
    cid = await make_live(shop)
    [reply] = await kf_says(shop, "wmKf", "领券", callbacks=3)  # WeCom re-announcing the same message
    assert reply.startswith("领到啦")
    [code] = codes_in([reply])
    assert (await shop.store.coupons.ledger_counts(cid))["issued"] == 1
    [again] = await kf_says(shop, "wmKf", "抢券")
    assert again.startswith("你已经领过了") and code in again
    [mine] = await kf_says(shop, "wmKf", "我的券")
    assert code in mine
    # a plain question still reaches the features behind coupons
    assert await kf_says(shop, "wmKf", "草莓多少钱") == ["问答:草莓多少钱"]


async def test_store_and_join_time_come_from_the_shopper_context(shop):
    await make_live(shop, "五一新人券 无门槛5元 10张 有效3天 新人3天", user="xiaoli")
    await make_live(shop, "梅溪湖券 无门槛6元 10张 有效3天")
    shop.fake.add_group("wrGroupB", "xiaoli", ["wmB1"])
    members = ["xiaoli", "wmB1"]
    # the shopper feature learns the group (and its store S02) from a membership event
    await shop.post_app(chat_event_xml("wrGroupB", "update", "add_member", ["wmB1"], cur=member_version(members)))
    await shop.drain()
    [reply] = await kf_says(shop, "wmB1", "新人券", kf="wkS02")
    assert reply.startswith("领到啦") and "「五一新人券」" in reply and "梅溪湖券" not in reply
    rec = await shop.store.coupons.code_record(codes_in([reply])[0].replace("-", ""))
    assert rec["store"] == "S02"


async def test_new_contact_gets_the_welcome_coupon_in_the_welcome_message(shop):
    cid = await make_live(shop, "见面礼 无门槛5元 50张 有效7天")
    await shop.ask(f"/欢迎券 {cid}")
    await shop.post_app(contact_event_xml("xiaowang", "wmNewContact", shop.fake.welcome_code()))
    await shop.drain()
    [call] = shop.fake.sent("externalcontact/send_welcome_msg")
    text = call.body["text"]["content"]
    assert "送你一张见面礼「见面礼」" in text
    code = text.split("券码 ", 1)[1][:11]
    rec = await shop.store.coupons.code_record(code.replace("-", ""))
    assert rec["holder"] == "wmNewContact" and rec["campaign"] == cid
    # talking afterwards does not bring a second one
    assert await kf_says(shop, "wmNewContact", "你好") == ["问答:你好"]
