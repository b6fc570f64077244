"""/接龙单: the live roster and a paste-ready list for the guide; a pasted copy of it with one line
added counts that line only; posts of it to the groups at chosen times, within the 群发 quota."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.message import Message
from tests.groupbuy.helpers import open_group
from tests.listen.helpers import group_line, hear


async def fire(h, name: str, at: float) -> None:
    ts = int(at)
    msg = Message(id=f"job:{name}:{ts}", channel="schedule", conversation=f"job:{name}", kind="schedule",
                  event=name, sender="scheduler", sender_kind="system", time=ts)
    await h.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    await h.drain()


async def test_roster_and_paste_ready_text(listening):
    h = listening
    gid = await open_group(h)
    await hear(h, group_line("wmA", "+2 3栋502"))
    await h.ask(f"/代报 {gid} 李阿姨 1", user="xiaowang")
    roster, text = await h.ask(f"/接龙单 团{gid}", user="xiaowang")
    assert "1. 王姐 3栋502 2盒" in roster and "2. 李阿姨 1盒" in roster
    assert text.startswith(f"#接龙【丹东99草莓团】团号{gid}") and "格式：" in text
    # A shopper copies it and adds a line: that line, and nothing else, counts.
    await hear(h, group_line("wmC", text + "\n3. 小美 5栋101 1盒"))
    lines = [(x.owner, x.name, x.qty, x.tag) for x in await h.store.groupbuys.lines(gid) if x.live]
    assert lines == [("wmA", "王姐", 2, "3栋502"), ("tel:李阿姨", "李阿姨", 1, ""), ("wmC", "小美", 1, "5栋101")]


async def test_posts_at_the_chosen_times_once_each(listening):
    h = listening
    gid = await open_group(h)
    await hear(h, group_line("wmA", "+1"))
    out = await h.ask(f"/接龙单 {gid} 定时 12:00 18点", user="xiaowang")
    assert "12:00、18:00" in out[0]
    tz = ZoneInfo(h.config.bot.timezone)
    noon = datetime.now(tz).replace(hour=12, minute=0, second=0, microsecond=0).timestamp()
    await fire(h, "listen_roster", noon + 30)
    await fire(h, "listen_roster", noon + 60)  # 12:01: not a chosen time
    await fire(h, "listen_roster", noon + 30.5)  # the same minute again (another replica)
    posts = [c.body for c in h.fake.sent("externalcontact/add_msg_template", ok=True)]
    rosters = [p for p in posts if "#接龙【丹东99草莓团】" in p["text"]["content"]]
    assert len(rosters) == 1 and "1. 王姐 1盒" in rosters[0]["text"]["content"]
    off = await h.ask(f"/接龙单 {gid} 定时 关", user="xiaowang")
    assert "不再定时" in off[0]


async def test_post_now_and_the_usage_line(listening):
    h = listening
    gid = await open_group(h)
    before = len(h.fake.sent("externalcontact/add_msg_template", ok=True))
    out = await h.ask(f"/接龙单 {gid} 群发", user="xiaowang")
    assert any("群发" in t for t in out)
    assert len(h.fake.sent("externalcontact/add_msg_template", ok=True)) == before + 1
    assert "用法" in (await h.ask("/接龙单", user="xiaowang"))[0]
