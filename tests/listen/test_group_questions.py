"""Questions heard in customer groups: batched to the guide per group with a ready answer, quiet
hours, on/off per store, 1:1 where a kf session is open; chatter goes nowhere; asks for what is out
of stock or not carried become demand with the source shown."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.message import Message
from handlers.digest import demand_day
from handlers.groupbuy.listen_settings import Settings
from store.listen import ListenState
from tests.conftest import make_config
from tests.groupbuy.helpers import load_catalog
from tests.harness import Harness
from tests.listen.conftest import NAMES
from tests.listen.helpers import group_line, hear, kf_texts, redeliver


async def make(aiohttp_client, redis, prefix, fake, **listen):
    cfg = make_config(prefix, fake.base_url, listen={"quiet_hours": "", "batch_seconds": 1, **listen})
    h = await Harness.start(aiohttp_client, redis, cfg, fake)
    fake.add_group("wrGroupA", "xiaowang", list(NAMES), name="梅溪湖1群")
    await h.store.kf.remember_names(NAMES, 86400)
    await load_catalog(h)
    h.deps["qa"].invalidate()
    return h


async def flush(h, at: float | None = None) -> None:
    ts = int(at or time.time())
    msg = Message(id=f"job:listen_questions:{ts}", channel="schedule", conversation="job:listen_questions",
                  kind="schedule", event="listen_questions", sender="scheduler", sender_kind="system", time=ts)
    await h.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    await h.drain()


async def test_questions_of_a_minute_reach_the_guide_together_with_answers(aiohttp_client, redis, prefix, fake):
    h = await make(aiohttp_client, redis, prefix, fake)
    first = group_line("wmA", "草莓多少钱一盒")
    await hear(h, first)
    await hear(h, group_line("wmB", "好的谢谢老板👍"))  # chatter
    await hear(h, group_line("wmC", "车厘子还有吗"))
    await redeliver(h, first)  # queued once
    before = len(h.sent_texts("xiaowang"))
    await flush(h)
    assert h.sent_texts("xiaowang")[before:] == []  # the minute is not up yet
    await asyncio.sleep(1.1)
    await flush(h)
    [notice] = h.sent_texts("xiaowang")[before:]
    assert "梅溪湖1群有2条顾客提问" in notice
    assert "王姐" in notice and "草莓多少钱一盒" in notice and "39.9" in notice
    assert "小美" in notice and "车厘子还有吗" in notice
    assert "谢谢老板" not in notice
    await asyncio.sleep(1.1)
    await flush(h)
    assert len(h.sent_texts("xiaowang")[before:]) == 1  # sent once; the batch is gone
    assert await redis.keys(f"{prefix}:{{lsq:*}}:q") == []  # no group text left behind


async def test_quiet_hours_hold_the_batch_until_they_end(aiohttp_client, redis, prefix, fake):
    h = await make(aiohttp_client, redis, prefix, fake, quiet_hours="00:00-23:59")
    await hear(h, group_line("wmA", "草莓多少钱一盒"))
    await asyncio.sleep(1.1)
    before = len(h.sent_texts("xiaowang"))
    await flush(h)
    assert h.sent_texts("xiaowang")[before:] == []
    state = ListenState(h.store.r, h.store.keys)
    assert await state.due(time.time()) == []  # postponed to the end of the quiet hours
    assert len(await state.batch("wrGroupA")) == 1


def test_quiet_hours_across_midnight():
    st = Settings(quiet_hours="22:00-08:00")
    tz = ZoneInfo("Asia/Shanghai")
    late = datetime(2026, 12, 5, 23, 30, tzinfo=tz).timestamp()
    early = datetime(2026, 12, 6, 7, 0, tzinfo=tz).timestamp()
    day = datetime(2026, 12, 6, 12, 0, tzinfo=tz).timestamp()
    end = datetime(2026, 12, 6, 8, 0, tzinfo=tz).timestamp()
    assert st.quiet_until(late, "Asia/Shanghai") == end
    assert st.quiet_until(early, "Asia/Shanghai") == end
    assert st.quiet_until(day, "Asia/Shanghai") is None
    assert Settings(quiet_hours="").quiet_until(late, "Asia/Shanghai") is None


async def test_a_store_that_switched_it_off_gets_no_notices_but_demand_counts(aiohttp_client, redis, prefix, fake):
    h = await make(aiohttp_client, redis, prefix, fake, questions_off=["S01"])
    await hear(h, group_line("wmA", "榴莲有货吗"))
    await hear(h, group_line("wmB", "能不能进点山竹啊"))
    await asyncio.sleep(1.1)
    before = len(h.sent_texts("xiaowang"))
    await flush(h)
    assert h.sent_texts("xiaowang")[before:] == []
    signals = await h.store.demand.day(demand_day(h.config, time.time()))
    got = {(s["kind"], s["item"]): s for s in signals}
    unmet = got[("unmet", "F008")]
    assert unmet["sources"] == {"group": 1} and unmet["askers"] == 1
    assert all(len(e) <= 20 for s in signals for e in s["examples"])  # a short excerpt only
    assert any(k == "wish" for k, _ in got)


async def test_kf_answers_go_1to1_only_when_configured_and_a_session_is_open(aiohttp_client, redis, prefix, fake):
    h = await make(aiohttp_client, redis, prefix, fake, kf_answers=True)
    h.fake.kf_push("wkS01", "wmA", "你好")  # the shopper wrote to the kf lately
    await h.store.kf.customer_wrote("kf:wkS01:wmA", int(time.time()), "m1")
    await hear(h, group_line("wmA", "草莓多少钱一盒"))
    await hear(h, group_line("wmB", "草莓多少钱一盒"))  # no kf session: nothing 1:1
    [answer] = kf_texts(h, "wmA")
    assert "39.9" in answer
    assert kf_texts(h, "wmB") == []


@pytest.mark.parametrize("text", ["哈哈哈", "好的", "今天天气真好", "👍👍"])
async def test_chatter_is_no_question(aiohttp_client, redis, prefix, fake, text):
    h = await make(aiohttp_client, redis, prefix, fake)
    await hear(h, group_line("wmA", text))
    assert await ListenState(h.store.r, h.store.keys).batch("wrGroupA") == []


def test_listen_settings_are_checked_at_start():
    from bot.config import ConfigError, check_features
    import handlers
    with pytest.raises(ConfigError, match="quiet_hours"):
        check_features(make_config("x", "http://x", listen={"quiet_hours": "late"}), handlers.FEATURES)
    with pytest.raises(ConfigError, match="listen"):
        check_features(make_config("x", "http://x", listen={"quiet": "22:00-08:00"}), handlers.FEATURES)
    assert check_features(make_config("x", "http://x"), handlers.FEATURES)["listen"].batch_seconds == 60
