"""The 智能机器人 long connection against the fake WeCom: reconnect after a drop, a dead socket
found by heartbeats, a bad secret (one clear log, backoff, no crash loop), replies that survive a
drop, the req_id fallback, and the lease: one connection per bot, failover to another holder."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from bot import aibot_ws
from bot.config import ConfigError, from_dict
from bot.message import Message
from tests.aibot_chat import BOT_ID, BOT_SECRET, AibotChat, aibot_config, wait_for


@pytest.fixture
def service_config(prefix, fake):
    return aibot_config(prefix, fake, "websocket")


@pytest.fixture
async def chat(service):
    return await AibotChat(service, "websocket").connected()


def link_of(chat) -> aibot_ws.Link:
    return chat.h.deps["aibot_link"]


async def test_reconnects_after_the_socket_drops_and_keeps_answering(chat):
    assert "身份是【导购】" in (await chat.ask("帮助"))[0]
    await chat.fake.aibot.drop(BOT_ID)
    await wait_for(lambda: link_of(chat).connects >= 2)
    assert "身份是【导购】" in (await chat.ask("帮助"))[0]
    assert chat.fake.aibot.kicks == 0 and len(chat.fake.aibot.live) == 1


async def test_a_silent_connection_is_noticed_by_heartbeats_and_redialled(chat):
    chat.fake.aibot.ignore_pings = True  # the socket stays open but WeCom no longer answers
    await wait_for(lambda: link_of(chat).connects >= 2, timeout=15)
    chat.fake.aibot.ignore_pings = False
    assert "身份是【导购】" in (await chat.ask("帮助"))[0]


async def test_a_reply_made_while_the_socket_is_down_goes_out_after_the_reconnect(chat):
    await chat.send(chat.payload("帮助", "xiaowang", None, "LATE1"))
    await wait_for(lambda: link_of(chat).received == 1)
    await chat.fake.aibot.drop(BOT_ID)
    link_of(chat).subscribed.clear()
    await chat.h.drain()  # the worker answers while no socket is up: the frame waits in Redis
    await wait_for(lambda: link_of(chat).connects >= 2)
    await wait_for(lambda: len(chat.texts()) == 1)
    assert "身份是【导购】" in chat.texts()[0]


async def test_the_same_callback_on_two_connections_is_handled_once(chat):
    body = chat.payload("帮助", "xiaowang", None, "TWICE")
    await chat.fake.aibot.push(BOT_ID, body)
    await wait_for(lambda: link_of(chat).received == 1)
    await chat.fake.aibot.drop(BOT_ID)
    await wait_for(lambda: link_of(chat).connects >= 2)
    await chat.fake.aibot.push(BOT_ID, body)  # WeCom redelivers it, with a new req_id
    await wait_for(lambda: link_of(chat).received == 2)
    for _ in range(5):
        await chat.h.drain()
        await asyncio.sleep(0.1)
    assert len(chat.texts()) == 1


async def test_a_refused_req_id_falls_back_to_a_push(chat):
    chat.fake.script("aibot_respond_msg", 40058)
    [out] = await chat.ask("帮助")
    assert "身份是【导购】" in out
    [push] = chat.fake.aibot.replies(BOT_ID)
    assert push.path == "aibot_ws/aibot_send_msg" and push.body["chatid"] == "xiaowang" and push.body["chat_type"] == 1


async def test_a_reply_nobody_accepts_is_dead_lettered(chat):
    chat.fake.script("aibot_respond_msg", 40058)
    chat.fake.script("aibot_send_msg", 40058)
    await chat.send(chat.payload("帮助", "xiaowang", None, None))
    dead = chat.h.store.keys.dead("outbox")
    for _ in range(100):
        await chat.h.drain()
        if await chat.h.redis.xlen(dead):
            break
        await asyncio.sleep(0.05)
    [(_, fields)] = await chat.h.redis.xrange(dead)
    assert fields[b"k"].startswith(b"aibot_ws:r|single|xiaowang|") and b"push errcode 40058" in fields[b"reason"]


async def test_a_conflict_answer_is_retried_on_the_same_frame(chat):
    chat.fake.script("aibot_respond_msg", 6000)
    [out] = await chat.ask("帮助")
    calls = [c.errcode for c in chat.fake.sent("aibot_ws/aibot_respond_msg")]
    assert calls == [6000, 0] and "身份是【导购】" in out


async def test_a_bad_secret_is_logged_clearly_and_retried_slowly(aiohttp_client, redis, prefix, fake, caplog):
    from tests.harness import Harness
    fake.aibot.bot(BOT_ID, "the-real-secret")  # the config's secret is wrong
    caplog.set_level(logging.ERROR, logger="bot.aibot_ws")
    h = await Harness.start(aiohttp_client, redis, aibot_config(prefix, fake, "websocket"), fake)
    link = h.deps["aibot_link"]
    await wait_for(lambda: fake.aibot.subscribes)
    await asyncio.sleep(2.5)  # auth_retry_seconds = 2: a couple of tries at most, never a tight loop
    tries = len(fake.aibot.subscribes)
    assert 1 <= tries <= 3 and all(s["errcode"] == 853000 for s in fake.aibot.subscribes)
    assert link.state == "auth_failed" and not link.subscribed.is_set()
    errors = [r.getMessage() for r in caplog.records if "refused aibot_subscribe" in r.getMessage()]
    assert errors and "853000" in errors[0] and "bot_id and secret" in errors[0] and BOT_SECRET not in errors[0]
    fake.aibot.bot(BOT_ID, BOT_SECRET)  # the admin fixes it: the next try succeeds, nobody restarts
    await asyncio.wait_for(link.subscribed.wait(), 5)


async def test_another_client_taking_the_bot_pauses_us_instead_of_fighting(chat):
    link = link_of(chat)
    link.a = dataclasses.replace(link.a, kicked_pause_seconds=4.0)  # room for a loaded machine
    async with aiohttp.ClientSession() as session:
        other = await session.ws_connect(link_of(chat).a.ws_url)
        await other.send_json({"cmd": "aibot_subscribe", "headers": {"req_id": "x1"},
                               "body": {"bot_id": BOT_ID, "secret": BOT_SECRET}})
        assert (await other.receive_json())["errcode"] == 0
        await wait_for(lambda: link_of(chat).state == "kicked")
        await asyncio.sleep(1.0)  # within kicked_pause_seconds: no redial yet, so no kick back
        assert chat.fake.aibot.kicks == 1 and len(chat.fake.aibot.subscribes) == 2
        await wait_for(lambda: link_of(chat).connects >= 2, timeout=10)  # after the pause it takes the bot back
        await other.close()


async def test_one_connection_across_holders_and_failover(chat):
    first = link_of(chat)
    second = aibot_ws.Link(chat.h.config, chat.h.store, owner="second-process")
    task = asyncio.create_task(second.run())
    try:
        await asyncio.sleep(1.0)  # more than one lease poll: the second only waits
        assert second.state == "standby" and chat.fake.aibot.kicks == 0
        first.stop()  # clean shutdown releases the lease at once
        await asyncio.wait_for(second.subscribed.wait(), 3)
        assert chat.fake.aibot.kicks == 0 and len(chat.fake.aibot.live) == 1
        assert "身份是【导购】" in (await chat.ask("帮助"))[0]  # replies now leave through the second
        assert await second.lease.holder() == "second-process"
    finally:
        second.stop()
        await asyncio.wait_for(task, 5)


async def test_a_killed_holder_process_is_replaced_after_its_lease_expires(chat, redis_url, prefix):
    link_of(chat).stop()  # the service's link steps aside, so the other process holds the bot first
    await wait_for(lambda: link_of(chat).state == "stopped")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.aibot_holder", redis_url, prefix, link_of(chat).a.ws_url, BOT_ID, BOT_SECRET,
        stdout=asyncio.subprocess.PIPE, env=env)
    second = aibot_ws.Link(chat.h.config, chat.h.store, owner="second-process")
    task = None
    try:
        assert (await asyncio.wait_for(child.stdout.readline(), 20)).strip() == b"subscribed"
        task = asyncio.create_task(second.run())
        await asyncio.sleep(1.0)
        assert second.state == "standby" and chat.fake.aibot.kicks == 0  # the child holds it alone
        child.kill()  # SIGKILL: no release, the lease only stops being renewed
        await child.wait()
        await asyncio.wait_for(second.subscribed.wait(), 1.5 + 3)  # lease_ms = 1.5 s, then a poll
        assert chat.fake.aibot.kicks == 0 and chat.fake.aibot.live.keys() == {BOT_ID}
        assert "身份是【导购】" in (await chat.ask("帮助"))[0]  # replies now leave through the new holder
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        second.stop()
        if task is not None:
            await asyncio.wait_for(task, 5)


def test_target_of_names_the_frame_kind_chat_and_req_id():
    msg = Message(id="aibot:M", channel="aibot", conversation="wrX", sender="u1", chat_id="wrX", chat_type="group",
                  raw={"req_id": "r|1"})
    assert aibot_ws.target_of(msg) == "r|group|wrX|r|1"
    enter = Message(id="aibot:E", channel="aibot", conversation="u1", sender="u1", kind="event",
                    event="enter_chat", raw={"req_id": "r2"})
    assert aibot_ws.target_of(enter) == "w|single|u1|r2"
    assert aibot_ws.target_of(Message(id="aibot:C", channel="aibot", conversation="u1", raw={})) is None


@pytest.mark.parametrize("aibot, problem", [
    ({"mode": "ws"}, "must be one of callback, websocket"),
    ({"mode": "websocket", "bot_id": "b"}, "needs bot_id and secret"),
])
def test_config_refuses_an_unknown_mode_or_missing_credentials(aibot, problem):
    with pytest.raises(ConfigError, match=problem):
        from_dict({"wecom": {"aibot": aibot}})


def test_secret_can_come_from_the_environment():
    cfg = from_dict({"wecom": {"aibot": {"mode": "websocket", "bot_id": "b"}}},
                    environ={"QUNBOT_WECOM_AIBOT_SECRET": "s3"})
    assert cfg.wecom.aibot.secret == "s3" and cfg.wecom.aibot.mode == "websocket"


async def test_the_fake_refuses_what_wecom_would(fake):
    fake.aibot.bot(BOT_ID, BOT_SECRET)
    url = fake.base_url.replace("http", "ws", 1) + "/openws"
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url)
        await ws.send_json({"cmd": "ping", "headers": {"req_id": "p0"}})
        assert (await ws.receive_json())["errcode"] == 40058  # nothing before the subscription
        await ws.send_json({"cmd": "aibot_subscribe", "headers": {"req_id": "s1"},
                            "body": {"bot_id": "nobody", "secret": BOT_SECRET}})
        assert (await ws.receive_json())["errcode"] == 93019
        assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        ws = await session.ws_connect(url)
        await ws.send_json({"cmd": "aibot_subscribe", "headers": {"req_id": "s2"},
                            "body": {"bot_id": BOT_ID, "secret": BOT_SECRET}})
        assert (await ws.receive_json())["errcode"] == 0
        await ws.send_json({"cmd": "aibot_respond_msg", "headers": {"req_id": "never-issued"},
                            "body": {"msgtype": "stream", "stream": {"id": "s", "finish": True, "content": "x"}}})
        assert (await ws.receive_json())["errcode"] == 40058  # a req_id WeCom never sent
        rid = await fake.aibot.push(BOT_ID, {"msgid": "m", "chattype": "single", "from": {"userid": "u"},
                                             "msgtype": "text", "text": {"content": "hi"}})
        assert (await ws.receive_json())["headers"]["req_id"] == rid
        frame = {"cmd": "aibot_respond_msg", "headers": {"req_id": rid},
                 "body": {"msgtype": "stream", "stream": {"id": "s", "finish": True, "content": "好"}}}
        await ws.send_json(frame)
        assert (await ws.receive_json())["errcode"] == 0
        await ws.send_json(frame)  # a finished stream cannot be refreshed
        assert (await ws.receive_json())["errcode"] == 40058
        assert fake.aibot.texts(BOT_ID) == ["好"]
        await ws.close()
