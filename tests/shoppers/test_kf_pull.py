"""kf pull: each customer message reaches the inbox once, in order per customer, the cursor moves
and survives restarts, and missed callbacks are caught by the safety pull."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from tests.shoppers.helpers import kf_callback, kf_callback_xml, start
from bot.scheduler import fire_message
from bot.wecom_api import Transient
from tests.conftest import make_config


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    return await start(aiohttp_client, redis, service_config, fake)


def _push_burst(fake, customers: int, each: int) -> dict[str, list[str]]:
    sent: dict[str, list[str]] = {}
    for i in range(each):
        for c in range(customers):
            user = f"wmCust{c:02d}"
            text = f"{user} 第{i}句"
            fake.kf_push("wkS01", user, text)
            sent.setdefault(user, []).append(text)
    return sent


def _synced(fake) -> int:
    return sum(len(c.response["msg_list"]) for c in fake.sent("kf/sync_msg", ok=True))


async def test_burst_of_callbacks_yields_each_message_once_in_order(shop, fake):
    h, rec = shop
    sent = _push_burst(fake, customers=10, each=20)
    # 30 callbacks land at once, as WeCom sends one per message or so.
    resps = await asyncio.gather(*(kf_callback(h) for _ in range(30)))
    assert all(r.status == 200 for r in resps)
    await h.drain()

    assert len(rec.seen) == 200
    assert len({m.id for m in rec.seen}) == 200
    for user, texts in sent.items():
        assert rec.texts(user) == texts  # in order per customer
    assert all(m.conversation == f"kf:wkS01:{m.sender}" and m.sender_kind == "customer" for m in rec.seen)
    # WeCom handed out every message exactly once: no window was pulled twice.
    assert _synced(fake) == 200
    cursor = await h.store.kf.cursor("wkS01")
    assert cursor.cursor == fake.sent("kf/sync_msg", ok=True)[-1].response["next_cursor"]
    assert cursor.cursor  # persisted


async def test_concurrent_pullers_never_pull_the_same_window(shop, fake):
    h, _ = shop
    _push_burst(fake, customers=5, each=10)
    puller = h.shoppers.puller
    results = await asyncio.gather(*(puller.pull("wkS01", fake.kf_token()) for _ in range(12)))
    assert sum(r.pulled for r in results) == 50
    assert sum(r.queued for r in results) == 50
    assert sum(not r.busy for r in results) >= 1
    assert _synced(fake) == 50
    # Pulls that found the lock taken asked the holder to go again instead of pulling themselves.
    cursors = [c.body["cursor"] for c in fake.sent("kf/sync_msg")]
    moving = [c for c, call in zip(cursors, fake.sent("kf/sync_msg")) if call.response["msg_list"]]
    assert len(moving) == len(set(moving))


async def test_a_callback_during_a_pull_is_not_lost(shop, fake):
    h, rec = shop
    puller = h.shoppers.puller
    fake.kf_push("wkS01", "wmLate", "第一句")
    real_queue, late = puller._queue, []

    async def queue_then_new_message(*args, **kw):
        await real_queue(*args, **kw)
        if not late:
            # A new message and its callback arrive while the first puller still holds the lock.
            fake.kf_push("wkS01", "wmLate", "第二句")
            late.append(await puller.pull("wkS01", fake.kf_token()))

    puller._queue = queue_then_new_message
    await puller.pull("wkS01", fake.kf_token())
    await h.drain()
    assert late[0].busy
    assert rec.texts("wmLate") == ["第一句", "第二句"]


async def test_restart_resumes_from_the_saved_cursor(aiohttp_client, redis, service_config, fake):
    h, rec = await start(aiohttp_client, redis, service_config, fake)
    for i in range(5):
        fake.kf_push("wkS01", "wmA", f"旧{i}")
    await kf_callback(h)
    await h.drain()
    saved = (await h.store.kf.cursor("wkS01")).cursor
    assert rec.texts("wmA") == [f"旧{i}" for i in range(5)]

    # A new process: fresh objects, same Redis.
    h2, rec2 = await start(aiohttp_client, redis, service_config, fake)
    calls_before = len(fake.sent("kf/sync_msg"))
    fake.kf_push("wkS01", "wmA", "新的一句")
    await kf_callback(h2)
    await h2.drain()
    first = fake.sent("kf/sync_msg")[calls_before]
    assert first.body["cursor"] == saved
    assert [m["text"]["content"] for m in first.response["msg_list"]] == ["新的一句"]
    assert rec2.texts("wmA") == ["新的一句"]


async def test_first_start_skips_history(aiohttp_client, redis, prefix, fake):
    fake.advance(-3600)
    for i in range(3):
        fake.kf_push("wkS01", "wmOld", f"一小时前{i}")
    fake.advance(3600)
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url), fake)
    fake.kf_push("wkS01", "wmOld", "现在")
    await kf_callback(h)
    await h.drain()
    assert rec.texts("wmOld") == ["现在"]


async def test_lost_callback_is_caught_by_the_safety_pull(shop, fake):
    h, rec = shop
    for i in range(3):
        fake.kf_push("wkS01", "wmQuiet", f"没有回调{i}")
    job = fire_message("kf_safety_pull", datetime.now())
    await h.store.inbox.put(job.conversation, job.id, job.to_json())
    await h.drain()
    assert rec.texts("wmQuiet") == [f"没有回调{i}" for i in range(3)]
    safety = fake.sent("kf/sync_msg")[-1]
    assert safety.body["token"] == ""


async def test_crash_mid_pull_resumes_after_the_last_saved_page(shop, fake):
    h, rec = shop
    puller = h.shoppers.puller
    puller.page = 4
    for i in range(10):
        fake.kf_push("wkS01", "wmPages", f"第{i}句")
    real_queue = puller._queue

    async def queue_then_fail(*args, **kw):
        await real_queue(*args, **kw)
        fake.script("kf/sync_msg", "http500")  # the next page's call fails: the process "dies"

    puller._queue = queue_then_fail
    with pytest.raises(Transient):
        await puller.pull("wkS01", fake.kf_token())
    await h.drain()
    assert rec.texts("wmPages") == [f"第{i}句" for i in range(4)]
    puller._queue = real_queue
    await puller.pull("wkS01", fake.kf_token())
    await h.drain()
    assert rec.texts("wmPages") == [f"第{i}句" for i in range(10)]
    assert _synced(fake) == 10


async def test_expired_token_falls_back_to_a_tokenless_pull(shop, fake):
    h, rec = shop
    fake.kf_push("wkS01", "wmTok", "你好")
    fake.kf_tokens["ENCstale"] = time.time() - 3600
    await h.post_app(kf_callback_xml("wkS01", "ENCstale"))
    await h.drain()
    assert rec.texts("wmTok") == ["你好"]
    assert [c.errcode for c in fake.sent("kf/sync_msg")] == [95007, 0]


async def test_nickname_from_batchget_is_cached(shop, fake):
    h, rec = shop
    fake.kf_push("wkS01", "wmNamed", "在吗")
    fake.kf_customers["wmNamed"]["nickname"] = "王阿姨"
    await kf_callback(h)
    await h.drain()
    fake.kf_push("wkS01", "wmNamed", "草莓还有吗")
    await kf_callback(h)
    await h.drain()
    assert [m.raw["nickname"] for m in rec.seen] == ["王阿姨", "王阿姨"]
    assert rec.contexts[-1].name == "王阿姨"
    assert len(fake.sent("kf/customer/batchget")) == 1


async def test_enter_session_scene_names_the_store(aiohttp_client, redis, prefix, fake):
    stores = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "kf": "wkHQ"},
              {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "kf": "wkHQ"}]
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=stores), fake)
    fake.kf_push("wkHQ", "wmScan", msgtype="event", event={"scene": "s_S02", "scene_param": "poster"})
    fake.kf_push("wkHQ", "wmScan", "你好")
    await kf_callback(h, "wkHQ")
    await h.drain()
    ctx = rec.contexts[-1]
    assert (ctx.store_id, ctx.store_source, ctx.scene, ctx.scene_param) == ("S02", "scene", "s_S02", "poster")
    # The enter_session event itself is in the inbox for features that react to it.
    events = [e for e in await h.store.r.xrange(h.store.inbox.key(h.store.inbox.part_of("kf:wkHQ:wmScan")))
              if b"kf_enter_session" in e[1][b"d"]]
    assert len(events) == 1


async def test_a_scene_resolver_from_another_feature(aiohttp_client, redis, prefix, fake):
    stores = [{"id": "S01", "name": "梅溪湖店", "kf": "wkHQ"}, {"id": "S02", "name": "五一广场店", "kf": "wkHQ"}]
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=stores), fake)

    async def groupbuy_scenes(scene: str, param: str):
        return "S01" if scene == "gb12" else None

    h.shoppers.add_scene_resolver(groupbuy_scenes)
    fake.kf_push("wkHQ", "wmGb", msgtype="event", event={"scene": "gb12"})
    fake.kf_push("wkHQ", "wmGb", "接龙")
    await kf_callback(h, "wkHQ")
    await h.drain()
    assert (rec.contexts[-1].store_id, rec.contexts[-1].scene) == ("S01", "gb12")


async def test_a_page_pulled_twice_after_a_crash_reaches_the_inbox_once(shop, fake):
    h, rec = shop
    for i in range(6):
        fake.kf_push("wkS01", "wmTwice", f"第{i}句")
    kf_state, real_save = h.store.kf, h.store.kf.save

    async def die_before_saving(*args, **kw):
        raise RuntimeError("process killed after queueing, before the cursor was saved")

    kf_state.save = die_before_saving
    with pytest.raises(RuntimeError):
        await h.shoppers.puller.pull("wkS01", fake.kf_token())
    assert (await h.store.kf.cursor("wkS01")).cursor == ""  # nothing saved: the next pull repeats the page
    kf_state.save = real_save
    again = await h.shoppers.puller.pull("wkS01", fake.kf_token())
    assert (again.pulled, again.queued) == (6, 0)  # WeCom handed them out again; the msgid dedupe dropped them
    await h.drain()
    assert rec.texts("wmTwice") == [f"第{i}句" for i in range(6)]
    assert (await h.store.kf.cursor("wkS01")).cursor


async def test_an_id_without_a_nickname_is_not_asked_about_on_every_message(shop, fake):
    h, rec = shop
    for text in ("在吗", "草莓", "鸡蛋"):
        fake.kf_push("wkS01", "wmNameless", text)
        fake.kf_customers.pop("wmNameless", None)  # WeCom knows no such customer profile
        await kf_callback(h)
        await h.drain()
    assert len(fake.sent("kf/customer/batchget")) == 1
    assert rec.contexts[-1].name == "" and rec.seen[-1].raw["nickname"] == ""


async def test_a_restarted_demo_fake_does_not_swallow_the_first_messages(shop, fake):
    h, rec = shop
    for i in range(3):
        fake.kf_push("wkS01", "wmDemo", f"重启前{i}")
    await kf_callback(h)
    await h.drain()
    # `make run` again: Redis (and the saved cursor) survive, the fake's kf log starts empty.
    fake.kf_messages.clear()
    fake._kf_cursor_kind = "kfnewrun"
    fake.kf_push("wkS01", "wmDemo", "重启后")
    await kf_callback(h)
    await h.drain()
    assert rec.texts("wmDemo") == ["重启前0", "重启前1", "重启前2", "重启后"]
