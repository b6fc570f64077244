"""接龙 heard in a customer group: one ledger with kf and /代报 lines, results to the guide and to
the shopper's open kf session."""
from __future__ import annotations

import time

from tests.groupbuy.helpers import kf_message, kf_put, open_group
from tests.listen.helpers import group_line, hear, kf_texts, redeliver


async def ledger(h, gid):
    return [(x.owner, x.name, x.qty, x.status) for x in await h.store.groupbuys.lines(gid) if x.live]


async def test_plus_one_from_the_group_joins_and_tells_the_guide(listening):
    gid = await open_group(listening)
    before = len(listening.sent_texts("xiaowang"))
    await hear(listening, group_line("wmA", "+2 3栋502"))
    assert await ledger(listening, gid) == [("wmA", "王姐", 2, "active")]
    told = listening.sent_texts("xiaowang")[before:]
    assert len(told) == 1 and "王姐：+2 3栋502" in told[0] and "2盒（第1号）" in told[0]
    assert kf_texts(listening, "wmA") == []  # no kf session: nothing 1:1


async def test_receipt_goes_1to1_when_a_kf_session_is_open(listening):
    gid = await open_group(listening)
    await kf_put(listening, kf_message("wmB", "你好"))
    await listening.store.kf.customer_wrote("kf:wkS01:wmB", int(time.time()), "m1")  # as the kf puller does
    await listening.drain()
    before = len(kf_texts(listening, "wmB"))
    await hear(listening, group_line("wmB", "接龙 2份"))
    assert await ledger(listening, gid) == [("wmB", "小李", 2, "active")]
    out = kf_texts(listening, "wmB")[before:]
    assert len(out) == 1 and out[0].startswith("✅ 已记录：丹东99草莓 2盒（第1号）")


async def test_paste_adds_only_the_senders_line_and_ignores_edits_to_others(listening):
    gid = await open_group(listening)
    await hear(listening, group_line("wmA", "+1"))
    await listening.ask(f"/代报 {gid} 李阿姨 2", user="xiaowang")
    pasted = (f"#接龙【丹东99草莓团】团号{gid}\n1. 王姐 3盒\n2. 李阿姨 1盒\n3. 🍓小美 ２盒 5栋101")
    await hear(listening, group_line("wmC", pasted))
    assert await ledger(listening, gid) == [("wmA", "王姐", 1, "active"), ("tel:李阿姨", "李阿姨", 2, "active"),
                                         ("wmC", "小美", 2, "active")]
    lines = await listening.store.groupbuys.lines(gid)
    assert lines[-1].tag == "5栋101"
    told = listening.sent_texts("xiaowang")[-1]
    assert "小美：贴了接龙名单（3行）" in told and "已忽略" in told and "李阿姨" not in told


async def test_paste_edit_and_removal_of_own_line(listening):
    gid = await open_group(listening)
    await hear(listening, group_line("wmA", "+1"))
    await hear(listening, group_line("wmB", "+1"))
    await hear(listening, group_line("wmA", f"#接龙 丹东99草莓\n1. 王姐 3盒\n2. 小李 1盒"))
    assert await ledger(listening, gid) == [("wmA", "王姐", 3, "active"), ("wmB", "小李", 1, "active")]
    await hear(listening, group_line("wmA", f"#接龙 丹东99草莓\n1. 小李 1盒"))  # took their own line out
    assert await ledger(listening, gid) == [("wmB", "小李", 1, "active")]


async def test_redelivered_paste_changes_nothing(listening):
    gid = await open_group(listening)
    await hear(listening, group_line("wmA", "+1"))
    msg = group_line("wmB", f"#接龙 丹东99草莓\n1. 王姐 1盒\n2. 小李 2盒")
    await hear(listening, msg)
    first = await ledger(listening, gid)
    sent = len(listening.fake.sent("message/send"))
    await redeliver(listening, msg)
    assert await ledger(listening, gid) == first == [("wmA", "王姐", 1, "active"), ("wmB", "小李", 2, "active")]
    assert len(listening.fake.sent("message/send")) == sent


async def test_staff_lines_and_chatter_change_nothing(listening):
    gid = await open_group(listening)
    await hear(listening, group_line("xiaowang", f"#接龙 丹东99草莓\n1. 王姐 2盒", staff=True))
    await hear(listening, group_line("wmA", "好的谢谢老板👍"))
    assert await ledger(listening, gid) == []


async def test_two_open_groups_and_a_bare_plus_one_goes_to_the_guide_unplaced(listening):
    first = await open_group(listening)
    second = await open_group(listening, "/开团 手工水饺 30元/份 截止明天20:00 自提周六服务台")
    before = len(listening.sent_texts("xiaowang"))
    await hear(listening, group_line("wmA", "+1"))
    assert await ledger(listening, first) == [] and await ledger(listening, second) == []
    told = listening.sent_texts("xiaowang")[before:]
    assert len(told) == 1 and "看不出是哪个团" in told[0]
    await hear(listening, group_line("wmA", "水饺+2"))
    assert await ledger(listening, second) == [("wmA", "王姐", 2, "active")]


async def test_limit_and_waiting_list_apply_to_group_lines(listening):
    gid = await open_group(listening, "/开团 丹东99草莓 36.9元/盒 限3盒 每人限2盒 截止明天20:00 自提周六服务台")
    await hear(listening, group_line("wmA", "+3"))  # over the per-person limit: nothing
    await hear(listening, group_line("wmB", "+2"))
    await hear(listening, group_line("wmC", "+2"))  # does not fit the cap: waits
    assert await ledger(listening, gid) == [("wmB", "小李", 2, "active"), ("wmC", "小美", 2, "waiting")]
    await hear(listening, group_line("wmB", "取消"))  # frees the cap: 小美 moves up
    assert await ledger(listening, gid) == [("wmC", "小美", 2, "active")]


async def test_hostile_group_lines_change_nothing_and_break_nothing(listening):
    gid = await open_group(listening)
    junk = ["\x00\x01", "1." * 5000, "+" * 3000, "#接龙\n" + "\n".join(f"{i}. " for i in range(1, 400)),
            "#接龙\n1. 王姐 99999999盒", "１．＋１", "-1", "<script>alert(1)</script>", "🍓" * 1000]
    for text in junk:
        await hear(listening, group_line("wmD", text))
    assert all(x.owner == "wmD" for x in await listening.store.groupbuys.lines(gid))
    assert sum(x.qty for x in await listening.store.groupbuys.lines(gid) if x.live) <= 4
    assert await listening.store.inbox.dead_count() == 0  # no handler failed on any of them
