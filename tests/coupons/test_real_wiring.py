"""Coupons through the real wiring: handlers.ROUTERS and handlers.setup, never a swapped dispatcher.

The shopper channel's gate and context come first, 接龙 and the rest sit behind coupons, and the
new-contact welcome carries the welcome coupon because handlers/coupons/__init__.py hooks it in.
"""
from __future__ import annotations

import asyncio
import random
import re

import handlers
from bot.router import Dispatcher
from tests.coupons.helpers import kf_message, shopper_says
from tests.coupons.helpers import codes_in
from tests.shoppers.helpers import contact_event_xml

OPEN_TUAN = "/开团 丹东99草莓 36.9元/盒 限200盒 每人限4盒 满20盒成团 截止明天20:00 自提周六10-12点服务台"


async def live(service, text: str, user: str = "xiaowang") -> str:
    [draft] = await service.ask(f"/发券 {text}", user=user)
    cid = re.match(r"(C\d+)「", draft).group(1)
    [ok] = await service.ask(f"确认 {cid}", user=user)
    assert "上线了" in ok, ok
    return cid


def test_the_service_fixture_routes_every_feature(service):
    assert isinstance(service.worker.dispatcher, Dispatcher)
    assert service.worker.dispatcher.routers == handlers.ROUTERS
    assert "shoppers" in service.deps  # handlers.setup ran: the coupon welcome hook has its host


async def test_shopper_phrases_reach_coupons_not_qa_or_jielong(service):
    service.fake.add_group("wrGroupA", "xiaowang", ["wmAnn"])
    await service.ask(OPEN_TUAN)
    await service.ask("确认")  # a 团 is open, so 接龙 would take any line that looks like an order
    cid = await live(service, "新人券 满50减10 100张 每人1张 有效3天")
    [got] = await shopper_says(service, "wmAnn", "领券")
    assert got.startswith("领到啦") and "「新人券」满50减10" in got
    [code] = codes_in([got])
    for phrase in ("抢券", "有券吗", "新人券"):
        [again] = await shopper_says(service, "wmAnn", phrase)
        assert again.startswith("您已经领过了") and code in again, (phrase, again)
    [mine] = await shopper_says(service, "wmAnn", "我的券")
    assert mine.startswith("您的券") and code.replace("-", "") in mine.replace("-", "")
    assert (await service.store.coupons.ledger_counts(cid))["issued"] == 1
    # and an order line still reaches 接龙
    [joined] = await shopper_says(service, "wmAnn", "+1")
    assert "草莓" in joined and "券" not in joined


async def test_domain_lines_29_to_34(service):
    """How shoppers ask: 领券 / 还有满50减10的券吗 / 新人券在哪领 / 怎么用 / 过期补发 / 帮我老公也领一张."""
    service.fake.add_group("wrGroupA", "xiaowang", ["wmNew"])
    await live(service, "见面礼 无门槛5元 100张 有效3天 新人3天")
    # 30, before there is a 满50减10 campaign: say so and show what there is, issue nothing
    [none] = await shopper_says(service, "wmNew", "还有满50减10的券吗？")
    assert none.startswith("现在没有满50减10的券") and "「见面礼」无门槛5元" in none and not codes_in([none])
    thr = await live(service, "满减券 满50减10 100张 有效3天")
    [got] = await shopper_says(service, "wmNew", "还有满50减10的券吗？")
    assert got.startswith("领到啦") and "「满减券」" in got and "见面礼" not in got  # only the one asked for
    # 31: a new member asking for 新人券 gets the new-member campaign
    [fresh] = await shopper_says(service, "wmNew", "新人券在哪领，我刚进群")
    assert fresh.startswith("领到啦") and "「见面礼」" in fresh
    # 32: how to use it, with the codes they can use
    [usage] = await shopper_says(service, "wmNew", "券领了怎么用，收银台出示哪个码")
    assert "收银员" in usage and len(codes_in([usage])) == 2
    # 33: an expired code cannot be reissued; point to a human
    wallet = await service.store.coupons.wallet("wmNew")
    rec = next(r for r in wallet if r["campaign"] == thr)
    await service.redis.hset(service.store.keys.coupon_code(thr, rec["code"]), "expires_at", 1)
    [support] = await shopper_says(service, "wmNew", "我的券过期了能补发吗")
    assert "没法补发" in support and "人工" in support and "已过期" in support
    # 34: one per person, politely; nothing is issued for the husband
    before = (await service.store.coupons.ledger_counts(thr))["issued"]
    for line in ("帮我老公也领一张券", "帮我老公也领一张"):
        [no] = await shopper_says(service, "wmNew", line)
        assert no.startswith("不好意思，券是每人限领的") and not codes_in([no])
    assert (await service.store.coupons.ledger_counts(thr))["issued"] == before
    # "人工" itself reaches the shopper channel's handoff
    [human] = await shopper_says(service, "wmNew", "人工")
    assert "券" not in human


async def test_staff_lines_about_coupons_get_the_staff_answer(service):
    [reply] = await service.ask("领券")
    assert "员工账号领不了" in reply
    [reply] = await service.ask("券")  # without a prefix, still the guide's listing command
    assert "还没有券" in reply


async def test_guide_flow_named_confirm_list_stop_redeem(service):
    [d1] = await service.ask("/发券 满50减10 100张 每人1张 有效3天")
    [d2] = await service.ask("/发券 无门槛5元 10张 有效3天")
    c1, c2 = (re.match(r"(C\d+)", d).group(1) for d in (d1, d2))
    assert f"之后发“确认 {c2}”" in d2
    # the older draft by name, while the bare 确认 still belongs to the newest
    [ok1] = await service.ask(f"确认 {c1.lower()}")
    assert ok1.startswith(f"{c1}「满50减10」上线了")
    [ok2] = await service.ask("确认")
    assert ok2.startswith(f"{c2}「无门槛5元」上线了")
    assert "没有编号为“C999”的券" in (await service.ask("确认 C999"))[0]
    assert "不能替别的门店确认" in (await service.ask(f"确认 {c1}", user="xiaoli"))[0]
    code = codes_in(await shopper_says(service, "wmRay", "领券"))
    assert len(code) == 2
    [listing] = await service.ask("/券")
    assert f"{c1}「满50减10」满50减10｜进行中" in listing and "已领1 · 已核销0 · 剩99" in listing
    [ok] = await service.ask(f"/核销 {code[0]} T1-001")
    assert ok.startswith("核销成功")
    assert "已在这笔订单（T1-001）核销过" in (await service.ask(f"/核销 {code[0]} T1-001"))[0]
    assert "不能再用" in (await service.ask(f"/核销 {code[0]} T1-002"))[0]
    assert "不能在本店用" in (await service.ask(f"/核销 {code[1]}", user="xiaoli"))[0]
    assert "要停发" in (await service.ask(f"/停券 {c2}"))[0]  # shown first, then 确认
    [stopped] = await service.ask(f"确认 {c2}")
    assert "已停发" in stopped
    assert "已停发，券已作废" in (await service.ask(f"/核销 {code[1]}"))[0]


async def test_new_contact_welcome_carries_the_welcome_coupon(service):
    cid = await live(service, "见面礼 无门槛5元 50张 有效7天")
    await service.ask(f"/欢迎券 {cid}")
    await service.post_app(contact_event_xml("xiaowang", "wmContact", service.fake.welcome_code()))
    await service.drain()
    [call] = service.fake.sent("externalcontact/send_welcome_msg")
    text = call.body["text"]["content"]
    assert "送您一张见面礼「见面礼」" in text
    code = re.search(r"券码 (\S{4}-\S{4}-\S)", text).group(1)
    rec = await service.store.coupons.code_record(code.replace("-", ""))
    assert (rec["holder"], rec["campaign"]) == ("wmContact", cid)
    # the contact's first kf words bring no second code
    assert codes_in(await shopper_says(service, "wmContact", "你好")) == []
    assert (await service.store.coupons.ledger_counts(cid))["issued"] == 1


async def test_new_group_member_gets_the_welcome_coupon_when_first_talking(service):
    service.fake.add_group("wrGroupA", "xiaowang", ["wmFresh", "wmOld"])
    for m in service.fake.groups["wrGroupA"]["member_list"]:
        if m["userid"] == "wmOld":
            m["join_time"] = int(service.fake.now()) - 60 * 86400
    [draft] = await service.ask("/发券 见面礼 无门槛5元 50张 有效7天 设为欢迎券")
    await service.ask("确认")
    texts = await shopper_says(service, "wmFresh", "你们几点关门")
    assert len(texts) == 1 and texts[0].startswith("欢迎新朋友") and codes_in(texts)
    assert codes_in(await shopper_says(service, "wmFresh", "谢谢")) == []  # once
    assert await shopper_says(service, "wmOld", "你们几点关门") == []
    # a new member whose first words are about coupons gets the welcome coupon and the answer
    service.fake.groups["wrGroupA"]["member_list"].append(
        {"userid": "wmFresh2", "type": 2, "join_time": int(service.fake.now()), "join_scene": 1})
    await service.deps["shoppers"].groups.sync("wrGroupA")
    texts = await shopper_says(service, "wmFresh2", "券怎么用")
    assert texts[0].startswith("欢迎新朋友") and "收银员" in texts[1]
    assert codes_in(texts[:1])


async def test_thousand_claims_from_400_shoppers_at_100_through_the_real_wiring(service):
    cid = await live(service, "抢购券 满50减10 100张 每人1张 有效3天")
    service.fake.KF_REPLIES = 1000  # all pushes land before any reply here; kf's 5-reply cap is not under test
    rng = random.Random(11)
    crowd = [f"wm{i:03d}" for i in range(400)]
    ids = []
    for i in range(1000):
        who = rng.choice(crowd)
        service.fake.kf_push("wkS01", who, "抢券")
        msg = kf_message(who, "抢券", msg_id=f"kf:crowd{i}")
        ids.append(msg)
        await service.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    # WeCom retries a tenth of the callbacks: the inbox drops them before any handler runs
    for msg in ids[::10]:
        assert await service.store.inbox.put(msg.conversation, msg.id, msg.to_json()) is None

    async def part_loop(part: int) -> None:
        await service.store.inbox.acquire(part, service.inbox.name, 60_000)
        while await service.inbox.poll(part):
            pass

    await asyncio.gather(*(part_loop(p) for p in range(service.store.inbox.n)))
    await service.drain()
    sent = [c.body for c in service.fake.sent("kf/send_msg", ok=True)]
    assert len(sent) == 1000  # every message answered once
    issued = [b for b in sent if b["text"]["content"].startswith("领到啦")]
    codes = codes_in([b["text"]["content"] for b in issued])
    assert len(issued) == 100 and len(set(codes)) == 100
    assert len({b["touser"] for b in issued}) == 100  # nobody got two
    counts = await service.store.coupons.ledger_counts(cid)
    assert counts["issued"] == counts["holders"] == counts["expiry_entries"] == 100
    holders = await service.redis.hgetall(service.store.keys.coupon_holders(cid))
    assert all(b"," not in v for v in holders.values())  # nobody above the limit of 1
    [listing] = await service.ask("/券")
    m = re.search(rf"{cid}「抢购券」.*\n\s*已领(\d+) · 已核销(\d+) · 剩(\d+)", listing)
    assert m and (int(m[1]), int(m[2]), int(m[3])) == (100, counts["redeemed"], 0)
    assert "已领完" in listing


async def test_expiry_reminder_through_the_scheduled_job(service):
    from datetime import datetime, timedelta

    from bot.scheduler import fire_message
    from handlers.coupons.service import tz_of
    await live(service, "无门槛5元 10张 有效2天")
    [got] = await shopper_says(service, "wmSoon", "领券")
    code = codes_in([got])[0]
    service.fake.kf_push("wkS01", "wmSoon", "hi")
    today_10 = datetime.now(tz_of(service.config)).replace(hour=10, minute=0, second=0, microsecond=0)
    before = len(service.sent_texts("wmSoon", path="kf/send_msg"))
    for day in (today_10, today_10, today_10 + timedelta(days=1)):
        msg = fire_message("coupon_reminders", day)
        await service.store.inbox.put(msg.conversation, f"{msg.id}:{random.random()}", msg.to_json())
        await service.drain()
    reminders = service.sent_texts("wmSoon", path="kf/send_msg")[before:]
    assert len(reminders) == 1 and reminders[0].startswith("提醒：您有1张券明天到期") and code in reminders[0]
