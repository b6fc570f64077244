"""Staff talking to the 智能机器人 in either mode, against the fake WeCom: the URL callback (signed
JSON POST, reply through response_url) or the long connection (callback frame in, respond frame out
on the socket). Tests written against AibotChat run unchanged in both modes."""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import secrets

import pytest

from tests import factories as f
from tests.conftest import make_config

BOT_ID, BOT_SECRET = "aibTestBot0001", "test-bot-secret"
MODES = ("callback", "websocket")
_seq = itertools.count(1)


def aibot_section(fake, mode: str, **over) -> dict:
    """The [wecom] table of a test config with [wecom.aibot] in `mode`, pointed at the fake."""
    aibot = {"token": f.BOT_TOKEN, "encoding_aes_key": f.BOT_KEY, "mode": mode}
    if mode == "websocket":
        aibot.update(bot_id=BOT_ID, secret=BOT_SECRET, ws_url=fake.base_url.replace("http", "ws", 1) + "/openws",
                     heartbeat_seconds=2.0, lease_ms=1500, reconnect_max_seconds=0.5, auth_retry_seconds=2.0,
                     kicked_pause_seconds=2.0)
    aibot.update(over)
    return {"corp_id": f.CORP_ID, "api_base": fake.base_url, "max_skew_seconds": 300,
            "app": {"agent_id": 1000002, "secret": "test-secret", "token": f.APP_TOKEN,
                    "encoding_aes_key": f.APP_KEY}, "aibot": aibot}


def aibot_config(prefix: str, fake, mode: str, base=None, **aibot_over):
    """`base` (a Config; make_config's by default) with [wecom.aibot] in `mode`."""
    cfg = base or make_config(prefix, fake.base_url)
    wecom = make_config(prefix, fake.base_url, wecom=aibot_section(fake, mode, **aibot_over)).wecom
    return dataclasses.replace(cfg, wecom=wecom)


@pytest.fixture(params=MODES)
async def aibot(request, aiohttp_client, redis, prefix, fake, service_config):
    """The service with [wecom.aibot] in each mode in turn (on top of the directory's own
    service_config), and an AibotChat to talk to it. Import it into a test module to use it."""
    from tests.harness import Harness
    config = aibot_config(prefix, fake, request.param, base=service_config)
    h = await Harness.start(aiohttp_client, redis, config, fake)
    return await AibotChat(h, request.param).connected()


async def wait_for(predicate, timeout: float = 10.0, every: float = 0.02) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


class AibotChat:
    def __init__(self, service, mode: str) -> None:
        self.h, self.mode, self.fake = service, mode, service.fake
        if mode == "websocket":
            self.fake.aibot.bot(BOT_ID, BOT_SECRET)

    async def connected(self) -> "AibotChat":
        if self.mode == "websocket":
            link = self.h.deps["aibot_link"]
            await asyncio.wait_for(link.subscribed.wait(), 10)
        return self

    def texts(self) -> list[str]:
        """Every reply staff saw so far, in order."""
        if self.mode == "websocket":
            return self.fake.aibot.texts(BOT_ID)
        return [c.body["markdown"]["content"] for c in self.fake.sent("aibot/response", ok=True)]

    def payload(self, text: str, user: str, chat: str | None, msgid: str | None) -> dict:
        body = {"msgid": msgid or f"MSG{next(_seq)}{secrets.token_hex(4)}", "aibotid": BOT_ID,
                "chattype": "group" if chat else "single", "from": {"userid": user},
                "msgtype": "text", "text": {"content": f"@小助手 {text}" if chat else text}}
        if chat:
            body["chatid"] = chat
        return body

    async def send(self, body: dict) -> None:
        if self.mode == "websocket":
            await self.fake.aibot.push(BOT_ID, body)
            return
        body = dict(body, response_url=f"{self.fake.base_url}/cgi-bin/aibot/response?response_code=RC{next(_seq)}")
        q, raw = f.aibot_callback(body)
        resp = await self.h.client.post(f"/wecom/aibot?{q}", data=raw)
        assert resp.status == 200, await resp.text()

    async def ask(self, text: str, user: str = "xiaowang", chat: str | None = None,
                  msgid: str | None = None, replies: int = 1) -> list[str]:
        """Say `text` (1:1, or @bot in `chat`) and return the replies it got (folded into one per message)."""
        before = len(self.texts())
        await self.send(self.payload(text, user, chat, msgid))
        deadline = asyncio.get_running_loop().time() + 10
        while len(self.texts()) < before + replies:
            await self.h.drain()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no reply to {text!r} within 10 s ({self.mode})")
            await asyncio.sleep(0.02)
        return self.texts()[before:]
