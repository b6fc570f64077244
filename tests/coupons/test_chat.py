"""Coupons end to end: signed guide callbacks and kf shopper messages through inbox, worker, outbox, fake WeCom."""
from __future__ import annotations

import random
import re

from bot.router import Dispatcher
from handlers import confirm
from handlers.coupons.chat import router as coupons_router
from tests.coupons.conftest import tail
from tests.coupons.helpers import codes_in, kf_message, make_live, shopper_says

async def test_guide_creates_confirms_and_lists(shop):
    [draft] = await shop.ask("/发券 新人券 满50减10 100张 每人1张 有效3天")
    assert re.match(r"C\d+「新人券」已建好，还没上线", draft)
    assert "满50减10" in draft and "领取后3天内有效" in draft and "入群7天内的新人专享" in draft
    assert "回复“确认”上线" in draft
    cid = draft.split("「")[0]
    [listing] = await shop.ask("/券")
    assert "还没有券" in listing  # a draft is not a campaign yet
    # /券 came in between, so a bare 确认 no longer means the draft; it says how to name it
    [pending] = await shop.ask("确认")
    assert f"回复「确认 {cid}」" in pending
    [live] = await shop.ask(f"确认 {cid}")
    assert live.startswith(f"{cid}「新人券」上线了")
    [listing] = await shop.ask("/券")
    assert f"{cid}「新人券」满50减10｜进行中" in listing and "已领0 · 已核销0 · 剩100" in listing
    # the draft is consumed: nothing is pending any more
    assert await shop.ask("确认") == ["现在没有需要您确认的事项。"]


async def test_parse_error_says_what_was_not_understood_and_shows_an_example(shop):
    [reply] = await shop.ask("/发券 新人券 满50减10 每人1张 有效3天 送大礼")
    assert "“送大礼”看不懂" in reply and "没写发多少张" in reply
    assert "/发券 新人券 满50减10 100张 每人1张 有效3天" in reply
    [reply] = await shop.ask("/发券 满50减60 10张 有效三天 门店 S09")
    assert "减的钱要比门槛少" in reply
    [reply] = await shop.ask("/发券 满50减10 10张 有效3天 门店 S09")
    assert "没有门店“S09”" in reply
    assert await shop.ask("确认") == ["现在没有需要您确认的事项。"]  # nothing was drafted


async def test_confirm_belongs_to_the_guide_who_drafted_and_expires(shop):
    await shop.ask("/发券 无门槛5元 10张 有效3天")
    assert await shop.ask("确认", user="xiaoli") == ["现在没有需要您确认的事项。"]
    await shop.redis.delete(shop.store.keys.confirm_offers("xiaowang"))  # as if the ten minutes had passed
    assert await shop.ask("确认") == ["现在没有需要您确认的事项。"]


async def test_shoppers_cannot_use_guide_commands(shop):
    texts = await shopper_says(shop, "wmShopper", "/发券 无门槛5元 10张 有效3天")
    assert len(texts) == 1 and "“发券”是门店员工使用的指令" in texts[0]
    assert await shop.store.coupons.store_campaigns("S01") == []
    assert await shopper_says(shop, "wmShopper", "确认") == ["其他功能的确认"]


async def test_shopper_claims_sees_rules_and_gets_the_same_code_again(shop):
    cid = await make_live(shop)
    [reply] = await shopper_says(shop, "wmAnn", "领券")
    assert reply.startswith("领到啦") and "「新人券」满50减10" in reply and "有效期至" in reply
    [code] = codes_in([reply])
    rec = await shop.store.coupons.code_record(code.replace("-", ""))
    assert rec["holder"] == "wmAnn" and rec["campaign"] == cid
    [again] = await shopper_says(shop, "wmAnn", "我要领券！")
    assert again.startswith("您已经领过了") and code in again
    [mine] = await shopper_says(shop, "wmAnn", "我的券")
    assert code in mine and "可用" in mine
    [other] = await shopper_says(shop, "wmBob", "有券吗")
    assert codes_in([other]) and codes_in([other]) != [code]


async def test_duplicated_and_redelivered_messages_give_the_same_code(shop):
    await make_live(shop)
    msg = kf_message("wmDup", "抢券", msg_id="kf:dup-1")
    shop.fake.kf_push("wkS01", "wmDup", "抢券")
    assert await shop.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    assert await shop.store.inbox.put(msg.conversation, msg.id, msg.to_json()) is None  # duplicate callback
    await shop.drain()
    sent = shop.sent_texts("wmDup", path="kf/send_msg")
    assert len(sent) == 1
    # a redelivery after a crash (handler runs again on the same message) answers with the same code
    deps = {**shop.deps, "role": "shopper", "now": msg.time}
    replies = [await shop.worker.dispatcher.dispatch(msg, deps) for _ in range(2)]
    ctx = [r[0].ctx["issued"][0]["code"] for r in replies]
    assert ctx[0] == ctx[1] == codes_in(sent)[0].replace("-", "")
    assert (await shop.store.coupons.ledger_counts("C1"))["issued"] == 1


async def test_staff_cannot_claim(shop):
    await make_live(shop)
    [reply] = await shop.ask("领券", user="xiaowang")
    assert "员工账号领不了" in reply
    [reply] = await shop.ask("领券", user="someclerk")
    assert "员工账号领不了" in reply


async def test_no_campaign_and_sold_out_answers(shop):
    [reply] = await shopper_says(shop, "wmA", "领券")
    assert "现在没有可领的券" in reply
    await make_live(shop, "限量券 无门槛5元 1张 有效3天")
    await shopper_says(shop, "wmA", "领券")
    [reply] = await shopper_says(shop, "wmB", "领券")
    assert "「限量券」已经被领完了" in reply


async def test_new_member_campaign_checks_group_join_time(shop):
    now = shop.fake.now()
    shop.fake.add_group("wrGroupA", "xiaowang", ["wmNew", "wmOld"])
    for m in shop.fake.groups["wrGroupA"]["member_list"]:
        if m["userid"] == "wmOld":
            m["join_time"] = int(now) - 30 * 86400
    await make_live(shop, "新人券 无门槛5元 10张 有效3天 新人3天")
    assert codes_in(await shopper_says(shop, "wmNew", "新人券"))
    [old] = await shopper_says(shop, "wmOld", "新人券")
    assert "入群3天内的新人专享券" in old and not codes_in([old])
    [stranger] = await shopper_says(shop, "wmStranger", "领券")
    assert "进群后再来领" in stranger


async def test_guide_redeems_idempotently_and_each_failure_is_distinct(shop):
    cid = await make_live(shop)
    code = codes_in(await shopper_says(shop, "wmAnn", "领券"))[0]
    [ok] = await shop.ask(f"/核销 {code}")
    assert ok.startswith(f"核销成功：{code}")
    [twice] = await shop.ask(f"/核销 {code.lower()}")
    assert "核销过" in twice and "不能再用" in twice
    # POS style with an order number: the same order again is the idempotent ok
    code2 = codes_in(await shopper_says(shop, "wmBob", "领券"))[0]
    assert (await shop.ask(f"/核销 {code2} POS-9"))[0].startswith("核销成功")
    assert "已在这笔订单（POS-9）核销过" in (await shop.ask(f"/核销 {code2} POS-9"))[0]
    assert "单号 POS-9" in (await shop.ask(f"/核销 {code2} POS-10"))[0]
    # mistyped: one symbol changed is caught by the check character
    raw = code.replace("-", "")
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    typo = raw[:5] + next(ch for ch in alphabet if ch != raw[5]) + raw[6:]
    assert "有一位输错了" in (await shop.ask(f"/核销 {typo}"))[0]
    assert "不会有“0”" in (await shop.ask(f"/核销 0{raw[1:]}"))[0]
    assert "位数不对" in (await shop.ask(f"/核销 {raw[:5]}"))[0]
    assert "请在 /核销 后面写券码" in (await shop.ask("/核销"))[0]
    # wrong store: a guide of S02
    code3 = codes_in(await shopper_says(shop, "wmCat", "领券"))[0]
    assert "不能在本店用" in (await shop.ask(f"/核销 {code3}", user="xiaoli"))[0]
    # expired: the code's expiry has passed
    rec = await shop.store.coupons.code_record(code3.replace("-", ""))
    await shop.redis.hset(shop.store.keys.coupon_code(cid, rec["code"]), "expires_at", int(shop.fake.now()) - 1)
    assert "过期" in (await shop.ask(f"/核销 {code3}"))[0]
    # stopped campaign voids its codes
    code4 = codes_in(await shopper_says(shop, "wmDan", "领券"))[0]
    [preview] = await shop.ask(f"/停券 {cid}")  # /停券 shows what it will do, 确认 does it
    assert "已领没核销的2张券作废" in preview and "回复“确认”" in preview
    [stopped] = await shop.ask("确认")
    assert stopped.startswith(f"{cid}「新人券」已停发") and "已领4 · 已核销2" in stopped
    assert "已停发，券已作废" in (await shop.ask(f"/核销 {code4}"))[0]
    events = await shop.store.coupons.events(cid)
    assert [e["ev"] for e in events].count("redeem") == 2
    assert {e["who"] for e in events if e["ev"] == "redeem"} == {"xiaowang"}


async def test_stop_rules(shop):
    cid = await make_live(shop)
    assert "只能由发券门店停发" in (await shop.ask(f"/停券 {cid}", user="xiaoli"))[0]
    assert "没有编号为“C99”的券" in (await shop.ask("/停券 C99"))[0]
    assert "用法" in (await shop.ask("/停券 新人券"))[0]
    assert "要停发" in (await shop.ask(f"/停券 {cid.lower()}", user="boss"))[0]
    assert "已停发" in (await shop.ask("确认", user="boss"))[0]
    assert "之前就停了" in (await shop.ask(f"/停券 {cid}"))[0]
    assert "现在没有可领的券" in (await shopper_says(shop, "wmA", "领券"))[0]


async def test_welcome_coupon_on_first_talk_for_new_group_members(shop):
    shop.fake.add_group("wrGroupA", "xiaowang", ["wmFresh", "wmVeteran"])
    for m in shop.fake.groups["wrGroupA"]["member_list"]:
        if m["userid"] == "wmVeteran":
            m["join_time"] = int(shop.fake.now()) - 60 * 86400
    [draft] = await shop.ask("/发券 见面礼 无门槛5元 50张 有效7天 设为欢迎券")
    assert "作为欢迎券" in draft
    await shop.ask("确认")
    texts = await shopper_says(shop, "wmFresh", "草莓多少钱")
    assert len(texts) == 2 and texts[0].startswith("欢迎新朋友") and codes_in(texts[:1])
    assert texts[1] == "问答:草莓多少钱"  # the question still reaches the next feature
    assert await shopper_says(shop, "wmFresh", "还有吗") == ["问答:还有吗"]  # only the first time
    assert await shopper_says(shop, "wmVeteran", "你好") == ["问答:你好"]
    assert await shopper_says(shop, "wmNotInGroup", "你好") == ["问答:你好"]
    # a fresh member whose first words are 领券 gets the welcome coupon once, from the claim itself
    shop.fake.groups["wrGroupA"]["member_list"].append(
        {"userid": "wmFresh2", "type": 2, "join_time": int(shop.fake.now()), "join_scene": 1})
    await shop.deps["shoppers"].groups.sync("wrGroupA")  # as the join event would
    [claimed] = await shopper_says(shop, "wmFresh2", "领券")
    assert claimed.startswith("领到啦")
    assert await shopper_says(shop, "wmFresh2", "在吗") == ["问答:在吗"]


async def test_welcome_line_for_new_contacts(shop):
    from handlers.coupons.chat import welcome_extra
    line = welcome_extra(shop.store, shop.config)
    assert await line("S01", "wmContact", "xiaowang") is None  # no welcome coupon yet
    cid = await make_live(shop, "见面礼 无门槛5元 50张 有效7天")
    await shop.ask(f"/欢迎券 {cid}")
    first = await line("S01", "wmContact", "xiaowang")
    assert first.startswith("送您一张见面礼「见面礼」：无门槛5元") and codes_in([first.replace("券码 ", "券码：")])
    again = await line("S01", "wmContact", "xiaowang")  # a re-sent welcome keeps the same code
    assert again == first
    assert (await shop.store.coupons.ledger_counts(cid))["issued"] == 1
    # the contact's first kf message does not bring a second welcome
    assert await shopper_says(shop, "wmContact", "你好") == ["问答:你好"]


async def test_welcome_command(shop):
    cid = await make_live(shop, "见面礼 无门槛5元 50张 有效7天")
    assert "本店还没有欢迎券" in (await shop.ask("/欢迎券"))[0]
    assert f"会收到 {cid}「见面礼」" in (await shop.ask(f"/欢迎券 {cid}"))[0]
    assert f"当前欢迎券：{cid}" in (await shop.ask("/欢迎券"))[0]
    assert "不能做本店的欢迎券" in (await shop.ask(f"/欢迎券 {cid}", user="xiaoli"))[0]
    assert "已取消" in (await shop.ask("/欢迎券 取消"))[0]
    assert await shop.store.coupons.welcome_of("S01") is None


async def test_reminder_the_day_before_expiry_once_and_only_within_the_kf_window(shop):
    from bot.scheduler import fire_message
    from datetime import datetime, timedelta
    from handlers.coupons.service import tz_of
    await make_live(shop, "无门槛5元 10张 有效2天")
    code = codes_in(await shopper_says(shop, "wmSoon", "领券"))[0]
    codes_in(await shopper_says(shop, "wmGone", "领券"))
    await shop.redis.delete(shop.store.keys.coupon_seen("wmGone"))  # last wrote more than 47 h ago
    shop.fake.kf_push("wkS01", "wmSoon", "hi")  # keep the fake's kf session open for the reminder
    tz = tz_of(shop.config)
    today_10 = datetime.now(tz).replace(hour=10, minute=0, second=0, microsecond=0)
    # codes claimed today with 2 days expire at the end of tomorrow: today's run reminds
    before = len(shop.sent_texts("wmSoon", path="kf/send_msg"))
    for day in (today_10 - timedelta(days=1), today_10, today_10):
        msg = fire_message("coupon_reminders", day)
        await shop.store.inbox.put(msg.conversation, f"{msg.id}:{random.random()}", msg.to_json())
        await shop.drain()
    reminders = shop.sent_texts("wmSoon", path="kf/send_msg")[before:]
    assert len(reminders) == 1 and reminders[0].startswith("提醒：您有1张券明天到期") and code in reminders[0]
    assert shop.sent_texts("wmGone", path="kf/send_msg")[1:] == []
    rec = await shop.store.coupons.code_record(code.replace("-", ""))
    assert rec["reminded"].startswith("sent:")
    gone = [r for r in await shop.store.coupons.wallet("wmGone")][0]
    assert gone["reminded"] == "unreachable"


def test_router_order_keeps_commands_ahead_of_the_catch_all():
    d = Dispatcher([confirm.router, coupons_router, tail])
    assert d.routes[-1].fn.__name__ == "catch_all"
