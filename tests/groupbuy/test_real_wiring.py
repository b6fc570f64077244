"""接龙 through the real router list (handlers.ROUTERS, no dispatcher override): the shopper gate,
help and coupons come first and Q&A after, so these tests prove that 接龙 words still reach the
团, that other features' words do not, and that a product question passes on to Q&A."""
from __future__ import annotations

import dataclasses
import io

import pytest
from openpyxl import load_workbook

import handlers
from bot.message import Reply
from bot.router import SKIP, Dispatcher, Router
from handlers import groupbuy
from tests.conftest import make_config
from tests.groupbuy.helpers import OPEN, kf_sent, load_catalog, open_group, shop
from tests.harness import Harness

ORANGES = "/开团 赣南脐橙 59元/箱 截止明天20:00 自提周六服务台"


@pytest.fixture
async def real(service):
    service.fake.add_group("wrGroupA", "xiaowang", ["wmA", "wmB"], name="梅溪湖1群")
    await load_catalog(service)
    return service


def group_posts(svc) -> list[dict]:
    return [c.body for c in svc.fake.sent("externalcontact/add_msg_template", ok=True)]


async def test_router_list_is_the_real_one(real):
    assert real.worker.dispatcher.routers == handlers.ROUTERS


async def test_confirm_creates_the_group_post_with_the_groups_kf_card(real):
    assert "请核对" in (await real.ask(OPEN))[0]
    out = await real.ask("确认")
    assert out[0].startswith("✅ 已开团：团号 1｜丹东99草莓") and "群发任务已创建" in out[0]
    posts = group_posts(real)
    assert len(posts) == 1 and posts[0]["chat_id_list"] == ["wrGroupA"] and posts[0]["sender"] == "xiaowang"
    assert "【接龙团购】丹东99草莓团·梅溪湖店" in posts[0]["text"]["content"]
    assert posts[0]["attachments"][0]["link"]["url"].endswith("enc_scene=ENCgb1")
    # The guide's task notice carries the text and, for pasting, the link the card would carry.
    notice = out[1]
    assert "群发待确认" in notice and "团号 1" in notice and notice.rstrip().endswith("enc_scene=ENCgb1")


async def test_refused_post_gives_the_guide_one_explanation_and_the_text_to_paste(real):
    shoppers = real.deps["shoppers"]  # a tenant whose admin set 群发 to one per group per day
    shoppers.settings = dataclasses.replace(shoppers.settings, group_post_quota="day")
    await open_group(real)  # uses today's 群发 of wrGroupA
    await real.ask(ORANGES)
    out = await real.ask("确认")
    assert len(out) == 2, out
    assert out[0].startswith("✅ 已开团：团号 2") and "今天没法再群发" in out[0] and "下一条是接龙公告" in out[0]
    assert "「【接龙团购】丹东99草莓团" in out[0]  # which post used the day
    paste = out[1]
    assert paste.startswith("【接龙团购】赣南脐橙团") and "enc_scene=ENCgb2" in paste
    assert "卡片" not in paste  # a pasted text has no card to tap
    assert len(group_posts(real)) == 1


async def test_store_without_groups_gets_the_paste_and_why(aiohttp_client, redis, prefix, fake):
    cfg = make_config(prefix, fake.base_url, stores=[{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"],
                                                      "kf": "wkS01"}])
    svc = await Harness.start(aiohttp_client, redis, cfg, fake)
    await svc.ask(OPEN)
    out = await svc.ask("确认")
    assert "本店还没有登记客户群" in out[0] and len(out) == 2
    assert "enc_scene=ENCgb1" in out[1] and "卡片" not in out[1]
    assert group_posts(svc) == []


async def test_every_shopper_phrase_reaches_the_group(real):
    gid = await open_group(real)
    steps = [
        ("wmA", "+1", "✅ 已记录：丹东99草莓 1盒（第1号）｜当前共1/200盒"),
        ("wmB", "+2 3栋502", "✅ 已记录：丹东99草莓 2盒（第2号）｜当前共3/200盒"),
        ("wmC", "接龙", "✅ 已记录：丹东99草莓 1盒（第3号）｜当前共4/200盒"),
        ("wmD", "我要两份", "✅ 已记录：丹东99草莓 2盒（第4号）｜当前共6/200盒"),
        ("wmE", "来俩", "✅ 已记录：丹东99草莓 2盒（第5号）｜当前共8/200盒"),
        ("wmF", "给我留3盒", "✅ 已记录：丹东99草莓 3盒（第6号）｜当前共11/200盒"),
        ("wmA", "改成3份", "✅ 已改好：丹东99草莓 3盒（第1号）｜当前共13/200盒"),
        ("wmA", "再加一份", "✅ 已改好：丹东99草莓 4盒（第1号）｜当前共14/200盒"),
        ("wmA", "-1", "✅ 已改好：丹东99草莓 3盒（第1号）｜当前共13/200盒"),
        ("wmC", "取消", "✅ 已取消 丹东99草莓 第3号｜当前共12/200盒"),
        ("wmD", "不要了", "✅ 已取消 丹东99草莓 第4号｜当前共10/200盒"),
        ("wmB", "帮我妈也报一份",
         "✅ 已记录：丹东99草莓 我妈 1盒（第7号）｜您共：2盒（第2号）、我妈 1盒（第7号）｜当前共11/200盒"),
        ("wmG", "＋２", "✅ 已记录：丹东99草莓 2盒（第8号）｜当前共13/200盒"),
        ("wmH", "@小王\u2005🍓+1", "✅ 已记录：丹东99草莓 1盒（第9号）｜当前共14/200盒"),
    ]
    for user, text, expected in steps:
        assert await shop(real, user, text) == [expected], text
    assert "2盒（第2号）、我妈 1盒（第7号）" in (await shop(real, "wmB", "我报了几份"))[0]
    assert "现在还能接" in (await shop(real, "wmB", "截单了吗"))[0]
    assert "周六 10-12点服务台" in (await shop(real, "wmB", "在哪提货"))[0]
    lines = await real.store.groupbuys.lines(gid)
    assert [(x.no, x.owner, x.who, x.qty, x.tag, x.status) for x in lines] == [
        (1, "wmA", "", 3, "", "active"), (2, "wmB", "", 2, "3栋502", "active"), (3, "wmC", "", 1, "", "cancelled"),
        (4, "wmD", "", 2, "", "cancelled"), (5, "wmE", "", 2, "", "active"), (6, "wmF", "", 3, "", "active"),
        (7, "wmB", "我妈", 1, "3栋502", "active"), (8, "wmG", "", 2, "", "active"),
        (9, "wmH", "", 1, "", "active")]
    # Nothing of this reached the coupon feature.
    assert not [t for u in "ABCDEFGH" for t in kf_sent(real, f"wm{u}") if "券" in t]


async def test_other_features_keep_their_words_while_a_group_is_open(real):
    gid = await open_group(real)
    assert "券" in (await shop(real, "wmA", "领券"))[0]
    assert await real.store.groupbuys.lines(gid) == []


async def test_no_open_group_plus_one_gets_a_helpful_answer(real):
    assert (await shop(real, "wmA", "+1")) == ["ℹ️ 现在没有正在接龙的团，新团开团后会在群里通知，到时发“+1”就能报名"]
    assert (await shop(real, "wmA", "接龙")) == ["ℹ️ 现在没有正在接龙的团，新团开团后会在群里通知，到时发“+1”就能报名"]


async def test_product_questions_pass_on_towards_qa(real):
    """A probe right behind the 接龙 router records what it passes on (Q&A comes later)."""
    reached: list[str] = []
    probe = Router("probe.qa")

    @probe.any_text()
    async def qa_position(msg, role):
        if role != "shopper":
            return SKIP
        reached.append(msg.text)
        return Reply("_raw.txt.j2", text="(Q&A)")

    behind = handlers.ROUTERS.index(groupbuy.router) + 1
    real.worker.dispatcher = Dispatcher([*handlers.ROUTERS[:behind], probe, *handlers.ROUTERS[behind:]])
    gid = await open_group(real)
    for text in ("草莓多少钱", "草莓甜吗", "五花肉多少钱一斤", "我要两斤五花肉", "三只松鼠有吗", "几点关门"):
        assert await shop(real, "wmA", text) == ["(Q&A)"], text
    assert await shop(real, "wmA", "+1") == ["✅ 已记录：丹东99草莓 1盒（第1号）｜当前共1/200盒"]
    assert reached == ["草莓多少钱", "草莓甜吗", "五花肉多少钱一斤", "我要两斤五花肉", "三只松鼠有吗", "几点关门"]
    assert [x.qty for x in await real.store.groupbuys.lines(gid)] == [1]


async def test_two_open_groups_and_a_bare_plus_one_ask_once(real):
    await open_group(real)
    await open_group(real, ORANGES)
    ask = await shop(real, "wmA", "+1")
    assert len(ask) == 1 and "您要报哪个" in ask[0] and "1. 丹东99草莓" in ask[0] and "2. 赣南脐橙" in ask[0]
    assert (await shop(real, "wmA", "2")) == ["✅ 已记录：赣南脐橙 1箱（第1号）｜当前共1箱"]
    # An answer that is an order of its own counts as written.
    await shop(real, "wmB", "来俩")
    assert (await shop(real, "wmB", "草莓2"))[0].startswith("✅ 已记录：丹东99草莓 2盒（第1号）")
    # A change without a product goes to the one 团 where the sender has a line.
    assert (await shop(real, "wmA", "改成3箱"))[0] == "✅ 已改好：赣南脐橙 3箱（第1号）｜当前共3箱"
    out = await shop(real, "wmC", "草莓2 脐橙1")
    assert out[0].splitlines() == ["✅ 已记录：丹东99草莓 2盒（第2号）｜当前共4/200盒",
                                   "✅ 已记录：赣南脐橙 1箱（第2号）｜当前共4箱"]


async def test_pasted_list_counts_only_the_senders_line(real):
    gid = await open_group(real)
    await shop(real, "wmA", "接龙 王姐 2盒")
    await shop(real, "wmB", "+1 小李")
    paste = "#接龙 丹东99草莓\n1. 王姐 5盒\n2. 小李 1盒\n3. 陈阿姨 3-502 2盒"
    assert await shop(real, "wmC", paste) == ["✅ 已记录：丹东99草莓 2盒（第3号）｜当前共5/200盒"]
    assert [(x.owner, x.qty) for x in await real.store.groupbuys.lines(gid)] == [("wmA", 2), ("wmB", 1), ("wmC", 2)]


async def test_proxy_close_result_and_pickup_sheet(real):
    gid = await open_group(real, "/开团 丹东99草莓 36.9元/盒 满3盒成团 截止明天20:00 自提周六10-12点服务台")
    await shop(real, "wmA", "+2 3栋502")
    assert (await real.ask(f"/代报 {gid} 李阿姨两盒 5-302"))[0] == "✅ 已代报：李阿姨 2盒（第2号）｜当前共4盒"
    assert (await real.ask(f"/代报 {gid} 李阿姨 1"))[0] == "✅ 已代报：李阿姨 1盒（第2号）｜当前共3盒"
    assert "代报格式" in (await real.ask(f"/代报 {gid} 李阿姨 2斤"))[0]
    await real.ask(f"/结团 {gid}")
    done = await real.ask("确认")  # /结团 asks first
    assert len(done) == 1 and "已截单，成团！" in done[0]
    assert sum("成团！共2人 3盒" in t for t in real.sent_texts("xiaowang")) == 1
    assert sum("已成团" in t for t in kf_sent(real, "wmA")) == 1
    files = [c.body for c in real.fake.sent("message/send", ok=True) if (c.body or {}).get("msgtype") == "file"]
    assert len(files) == 1 and files[0]["touser"] == "xiaowang"
    media = real.fake.media[files[0]["file"]["media_id"]]
    assert media["filename"] == f"团{gid}_丹东99草莓_提货单.xlsx"
    assert "已核销" in (await real.ask(f"/提货 {gid}-2"))[0]
    assert "已核销" in (await real.ask("/提货 3栋502"))[0]
    assert {x.no: x.status for x in await real.store.groupbuys.lines(gid)} == {1: "collected", 2: "collected"}


async def test_confirm_naming_the_group_beats_a_newer_coupon_draft(real):
    await real.ask(OPEN)
    coupon = await real.ask("/发券 满50减10 100张 每人1张 有效3天")
    cid = coupon[0].split("「")[0]
    assert "已开团" in (await real.ask("确认 开团"))[0]
    assert (await real.store.coupons.campaign(cid))["state"] == "draft"
    await real.ask(OPEN)  # a new 团 draft, but the guide names the coupon
    assert "上线" in (await real.ask(f"确认 {cid}"))[0]
    assert await real.store.groupbuys.all_ids() == [1]


def test_pickup_sheet_of_the_real_flow_is_readable():
    """The XLSX columns the issue asks for: 接龙号, name, pickup tag, qty, amount."""
    from handlers.groupbuy import pickup_sheet
    from store.groupbuy import GroupBuy, Line
    g = GroupBuy(id=3, status="closed", product="草莓", unit="盒", price_fen=3690, cutoff=1_763_900_000,
                 pickup="服务台", store_id="S01", guide="xiaowang", result="formed")
    ws = load_workbook(io.BytesIO(pickup_sheet.build(g, [Line(1, "wmA", "", "王姐", 2, "3栋502", "active")]))).active
    assert [c.value for c in ws[2]][:5] == ["接龙号", "姓名", "提货标记", "数量", "金额(元)"]
    assert [c.value for c in ws[3]][:5] == [1, "王姐", "3栋502", 2, 73.8]


async def test_pasted_list_with_a_household_tag_changes_nothing_it_cannot_attribute(real):
    gid = await open_group(real)
    await shop(real, "wmA", "+2 3栋502")  # the ledger knows wmA by WeChat nickname and tag only
    two = "#接龙\n1. 王姐 3栋502 3盒\n2. 王姐老公 3栋502 1盒"
    assert "没找到您的新内容" in (await shop(real, "wmA", two))[0]
    assert [x.qty for x in await real.store.groupbuys.lines(gid)] == [2]
    one = "#接龙\n1. 王姐 3栋502 3盒\n2. 小李 1盒"
    assert (await shop(real, "wmA", one)) == ["✅ 已改好：丹东99草莓 3盒（第1号）｜当前共3/200盒"]


async def test_collect_by_room_number_tag(real):
    gid = await open_group(real, "/开团 丹东99草莓 36.9元/盒 截止明天20:00 自提周六10-12点服务台")
    await shop(real, "wmA", "+2 502")  # a bare room number becomes the pickup tag
    await shop(real, "wmB", "+1")
    await real.ask(f"/结团 {gid}")
    await real.ask("确认")
    assert "第1号" in (await real.ask(f"/提货 {gid} 502"))[0]  # no line 502: the tag
    assert "没找到“502号”" in (await real.ask(f"/提货 {gid}-502"))[0]  # a dash means the 接龙号
    assert "第2号" in (await real.ask(f"/提货 {gid} 2"))[0]
    assert [x.status for x in await real.store.groupbuys.lines(gid)] == ["collected", "collected"]


async def test_qa_answers_a_price_question_while_a_group_is_open(real):
    gid = await open_group(real)
    out = await shop(real, "wmA", "草莓多少钱")
    assert len(out) == 1 and "39.9元" in out[0] and "已记录" not in out[0]
    assert await real.store.groupbuys.lines(gid) == []
