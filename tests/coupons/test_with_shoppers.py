"""Coupons behind the real shopper channel, through handlers.ROUTERS: signed kf callbacks and
kf/sync_msg, the shopper's store and join time from its group events, its kf sender."""
from __future__ import annotations

from tests.coupons.helpers import codes_in
from tests.coupons.test_real_wiring import live
from tests.shoppers.helpers import chat_event_xml, kf_callback, member_version


async def kf_says(h, user: str, text: str, kf: str = "wkS01", callbacks: int = 1) -> list[str]:
    before = len(h.sent_texts(user, path="kf/send_msg"))
    h.fake.kf_push(kf, user, text)
    for _ in range(callbacks):
        await kf_callback(h, kf)
    await h.drain()
    return h.sent_texts(user, path="kf/send_msg")[before:]


async def test_claim_through_kf_callbacks_and_duplicated_callbacks_give_one_code(service):
    cid = await live(service, "新人券 满50减10 100张 每人1张 有效3天 全员")
    [reply] = await kf_says(service, "wmKf", "领券", callbacks=3)  # WeCom re-announcing the same message
    assert reply.startswith("领到啦")
    [code] = codes_in([reply])
    assert (await service.store.coupons.ledger_counts(cid))["issued"] == 1
    [again] = await kf_says(service, "wmKf", "抢券")
    assert again.startswith("您已经领过了") and code in again
    [mine] = await kf_says(service, "wmKf", "我的券")
    assert code.replace("-", "") in mine.replace("-", "")


async def test_store_and_join_time_come_from_the_shopper_context(service):
    await live(service, "五一新人券 无门槛5元 10张 有效3天 新人3天", user="xiaoli")
    await live(service, "梅溪湖券 无门槛6元 10张 有效3天")
    service.fake.add_group("wrGroupB", "xiaoli", ["wmB1"])
    members = ["xiaoli", "wmB1"]
    # the shopper feature learns the group (and its store S02) from a membership event
    await service.post_app(chat_event_xml("wrGroupB", "update", "add_member", ["wmB1"], cur=member_version(members)))
    await service.drain()
    [reply] = await kf_says(service, "wmB1", "新人券", kf="wkS02")
    assert reply.startswith("领到啦") and "「五一新人券」" in reply and "梅溪湖券" not in reply
    rec = await service.store.coupons.code_record(codes_in([reply])[0].replace("-", ""))
    assert rec["store"] == "S02"
