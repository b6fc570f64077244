"""接龙 end to end: guide commands on the app channel, shoppers on kf, the real worker and sender."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from bot.message import Message
from tests.groupbuy.helpers import OPEN, kf_sent, load_catalog, open_group, shop, use_groupbuy


@pytest.fixture
async def gb(service):
    use_groupbuy(service)
    service.fake.add_group("wrGroupA", "xiaowang", [])  # the store's customer group, owned by its guide
    await load_catalog(service)
    return service


async def test_open_confirm_announces_with_kf_link(gb):
    draft = await gb.ask(OPEN)
    assert "丹东99草莓（商品库 F001）" in draft[0] and "36.9元/盒" in draft[0] and "原价39.9元" in draft[0]
    assert "限200盒｜每人限4盒｜满20盒成团" in draft[0]
    opened = await gb.ask("确认")
    assert opened[0].startswith("✅ 已开团：团号 1｜丹东99草莓")
    assert "https://work.weixin.qq.com/kf/wkS01?enc_scene=ENCgb1" in opened[1]
    g = await gb.store.groupbuys.get(1)
    assert (g.status, g.sku, g.unit, g.cap, g.per_person, g.min_to_form) == ("open", "F001", "盒", 200, 4, 20)
    assert "草莓" in g.aliases and g.guide == "xiaowang" and g.store_id == "S01"
    # 确认 again: no draft any more, so it is not ours (nothing from this feature answers)
    assert not [t for t in await gb.ask("确认") if "团" in t]


async def test_open_errors_name_each_problem(gb):
    out = await gb.ask("/开团 草莓 截止昨天20:00")
    assert "没看到价格" in out[0] and "没看到自提信息" in out[0] and "完整示例" in out[0]
    assert await gb.store.groupbuys.draft("xiaowang") is None


async def test_redelivered_confirm_opens_one_group(gb):
    await gb.ask(OPEN)
    msg = Message(id="confirm-1", channel="app", conversation="xiaowang", sender="xiaowang", text="确认")
    for dedupe in ("a", "b", "c"):  # the same message handled three times (inbox dedupe bypassed)
        await gb.store.inbox.put("xiaowang", dedupe, msg.to_json())
    await gb.drain()
    assert await gb.store.groupbuys.all_ids() == [1]
    assert sum("已开团" in t for t in gb.sent_texts("xiaowang")) == 1


async def test_shopper_join_change_query_cancel(gb):
    gb.fake.kf_customers["wmA"] = {"external_userid": "wmA", "nickname": "李阿姨", "avatar": "", "gender": 0,
                                   "unionid": ""}
    gid = await open_group(gb)
    assert await shop(gb, "wmA", "+2 3栋502") == ["✅ 已记录：丹东99草莓 2盒（第1号）｜当前共2/200盒"]
    assert await shop(gb, "wmB", "我要两盒") == ["✅ 已记录：丹东99草莓 2盒（第2号）｜当前共4/200盒"]
    assert await shop(gb, "wmA", "改成3盒") == ["✅ 已改好：丹东99草莓 3盒（第1号）｜当前共5/200盒"]
    assert (await shop(gb, "wmA", "再加两盒"))[0].startswith("⚠️ 丹东99草莓每人限4盒，您最多还能加1盒")
    assert "3盒（第1号）" in (await shop(gb, "wmA", "我报了几盒来着"))[0]
    assert "截单，现在还能接" in (await shop(gb, "wmB", "截单了吗"))[0]
    assert "周六 10-12点服务台" in (await shop(gb, "wmA", "几点能提货，在哪拿"))[0]
    assert "不是您报的" in (await shop(gb, "wmB", "第1个删掉"))[0]
    assert (await shop(gb, "wmB", "取消"))[0] == "✅ 已取消 丹东99草莓 第2号｜当前共3/200盒"
    roster = await gb.ask(f"/团 {gid}")
    # The list shows the shopper's WeChat nickname (kf/customer/batchget), never a name someone else typed.
    assert "1. 王姐" not in roster[0] and "1. 李阿姨 3栋502 3盒" in roster[0]
    assert "合计：1人 共3/200盒，110.7元" in roster[0]


async def test_chatter_is_left_for_other_features(gb):
    await open_group(gb)
    assert await shop(gb, "wmA", "好的谢谢老板👍") == []
    assert await shop(gb, "wmA", "五花肉多少钱一斤") == []


async def test_no_open_group_answers_only_join_words(gb):
    assert "没有正在接龙的团" in (await shop(gb, "wmA", "+1"))[0]
    assert await shop(gb, "wmA", "草莓多少钱") == []


async def test_two_groups_ask_which_then_answer(gb):
    await open_group(gb)
    await open_group(gb, "/开团 赣南脐橙 59元/箱 截止明天20:00 自提周六服务台")
    ask = await shop(gb, "wmA", "+1")
    assert "您要报哪个" in ask[0] and "赣南脐橙" in ask[0]
    assert (await shop(gb, "wmA", "脐橙"))[0].startswith("✅ 已记录：赣南脐橙 1箱")
    out = await shop(gb, "wmA", "草莓2 脐橙1")
    assert out[0].splitlines()[0].startswith("✅ 已记录：丹东99草莓 2盒") and "您已报名：赣南脐橙" in out[0]


async def test_waiting_list_promotion_notifies_the_promoted_shopper(gb):
    gid = await open_group(gb, "/开团 手工水饺 30元/份 限3份 截止明天20:00 自提周六服务台")
    await shop(gb, "wmA", "+3")
    assert (await shop(gb, "wmB", "+2"))[0].startswith("⏳ 已满额，已排候补：手工水饺 2份（第2号·候补第1位）")
    assert (await shop(gb, "wmA", "改成1份"))[0] == "✅ 已改好：手工水饺 1份（第1号）｜当前共3/3份"
    assert "候补补上了" in kf_sent(gb, "wmB")[-1]
    assert [x.status for x in await gb.store.groupbuys.lines(gid)] == ["active", "active"]


async def test_guide_proxy_close_result_pickup_sheet_and_collect(gb):
    gid = await open_group(gb)
    await shop(gb, "wmA", "+2 3栋502")
    assert await shop(gb, "wmA", "帮我妈也报一份") == [
        "✅ 已记录：丹东99草莓 我妈 1盒（第2号）｜您共：2盒（第1号）、我妈 1盒（第2号）｜当前共3/200盒"]
    assert (await gb.ask(f"/代报 {gid} 李阿姨 17"))[0].startswith("⚠️ 每人限4盒")
    assert (await gb.ask(f"/代报 {gid} 李阿姨 4"))[0] == "✅ 已代报：李阿姨 4盒（第3号）｜当前共7/200盒"
    await shop(gb, "wmC", "+20")  # over the limit: nothing recorded
    for u in "DEFGHIJKLMN":
        await shop(gb, f"wm{u}", "+1")  # 7 + 11 = 18 < 20: not formed yet
    await shop(gb, "wmO", "+2")  # 20: formed
    [preview] = await gb.ask(f"/结团 {gid}")  # what will happen first, then 确认
    assert "按成团处理：13位顾客收到成团和提货通知" in preview and "1位电话代报" in preview
    done = await gb.ask("确认")
    assert len(done) == 1 and "已截单，成团！" in done[0]  # one result, with the 提货单
    result = [t for t in gb.sent_texts("xiaowang") if "成团！" in t]
    assert len(result) == 1 and "共15人 20盒，738元" in result[0]
    files = [c for c in gb.fake.sent("message/send", ok=True) if (c.body or {}).get("msgtype") == "file"]
    assert len(files) == 1 and files[0].body["touser"] == "xiaowang"
    assert any(m["filename"].endswith("提货单.xlsx") for m in gb.fake.media.values())
    mine = kf_sent(gb, "wmA")[-1]
    assert "已成团" in mine and "2盒（第1号）、我妈 1盒（第2号）" in mine
    assert "不会扣款" not in mine
    # after the cutoff a join is refused and queries still work
    assert "已于" in (await shop(gb, "wmA", "+1"))[0]
    assert "周六 10-12点服务台" in (await shop(gb, "wmA", "在哪提货"))[0]
    assert "已核销" in (await gb.ask(f"/提货 {gid}-3"))[0]
    assert "已核销" in (await gb.ask("/提货 3栋502"))[0]
    assert "已经提过货" in (await gb.ask(f"/提货 {gid} 3栋502"))[0]
    statuses = {x.no: x.status for x in await gb.store.groupbuys.lines(gid)}
    assert statuses[1] == statuses[2] == statuses[3] == "collected" and statuses[4] == "active"
    assert (await gb.ask(f"/结团 {gid}"))[0].startswith("ℹ️ 团1已经截单了")


async def test_cancel_group_tells_participants_once(gb):
    gid = await open_group(gb)
    await shop(gb, "wmA", "+1")
    await shop(gb, "wmB", "+1")
    [preview] = await gb.ask(f"/撤团 {gid}")  # nothing happens before 确认
    assert "2位顾客会收到" in preview and await gb.store.groupbuys.open_ids() == [gid]
    out = await gb.ask(f"确认 团{gid}")
    assert out == ["✅ 团1 丹东99草莓已撤销，已通知2位顾客"]
    assert (await gb.ask(f"/撤团 {gid}")) == ["ℹ️ 团1已经撤销了"]
    assert sum("已取消" in t for t in kf_sent(gb, "wmA")) == 1
    assert await gb.store.groupbuys.open_ids() == []


async def test_guide_commands_are_for_guides(gb):
    gid = await open_group(gb)
    assert "门店员工使用的指令" in (await gb.ask(f"/结团 {gid}", user="stranger"))[0]
    assert (await gb.store.groupbuys.get(gid)).status == "open"
    assert (await gb.ask("/团 99"))[0].startswith("⚠️ 没有找到团号 99")
    overview = await gb.ask("/团")
    assert f"{gid}. 丹东99草莓｜当前共0/200盒" in overview[0]


def test_pickup_sheet_rows_and_amounts():
    from handlers.groupbuy import pickup_sheet
    from store.groupbuy import GroupBuy, Line
    g = GroupBuy(id=5, status="closed", product="丹东99草莓", unit="盒", price_fen=3690, cutoff=1_763_900_000,
                 pickup="服务台", store_id="S01", guide="xiaowang", bundle_qty=2, bundle_price_fen=6900,
                 result="formed")
    lines = [Line(1, "wmA", "", "王姐", 3, "3栋502", "active"), Line(2, "wmB", "", "", 1, "", "cancelled"),
             Line(3, "tel:李阿姨", "", "李阿姨", 2, "", "collected"), Line(4, "wmC", "", "", 1, "", "waiting", pos=1)]
    ws = load_workbook(io.BytesIO(pickup_sheet.build(g, lines))).active
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert rows[0] == ["接龙号", "姓名", "提货标记", "数量", "金额(元)", "状态"]
    assert rows[1] == [1, "王姐", "3栋502", 3, 105.9, "待提货"]  # 2盒69 + 1盒36.9
    assert rows[2] == [3, "李阿姨", None, 2, 69, "已提货"]
    assert rows[3] == ["合计", "2人", None, 5, 174.9, None]
    assert rows[-1][:4] == [4, "顾客wmC", None, 1]


async def test_pasted_list_changes_only_the_senders_own_line(gb):
    gid = await open_group(gb)
    await shop(gb, "wmA", "接龙 草莓 两盒 王姐")
    await shop(gb, "wmB", "小李 +1")
    paste = "#接龙 丹东99草莓\n1. 王姐 2盒\n2. 小李 1盒\n3. 陈 3-502 2盒"
    assert (await shop(gb, "wmC", paste)) == ["✅ 已记录：丹东99草莓 2盒（第3号）｜当前共5/200盒"]
    # 小李 reposts the list with 王姐's line edited: not hers, nothing changes
    assert "没找到您的新内容" in (await shop(gb, "wmB", "#接龙\n1. 王姐 4盒\n2. 小李 1盒\n3. 陈 3-502 2盒"))[0]
    # 王姐 reposts with her own line changed
    assert (await shop(gb, "wmA", "#接龙\n1. 王姐 3盒\n2. 小李 1盒\n3. 陈 3-502 2盒"))[0].startswith(
        "✅ 已改好：丹东99草莓 3盒（第1号）")
    lines = await gb.store.groupbuys.lines(gid)
    assert [(x.owner, x.name, x.tag, x.qty) for x in lines] == [
        ("wmA", "王姐", "", 3), ("wmB", "小李", "", 1), ("wmC", "陈", "3-502", 2)]
