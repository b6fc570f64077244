"""`qunbot chat` end to end against the demo service (fake WeCom mounted at /fake): a shopper talks
through 微信客服, asks for a human, and a guide's group post shows up as awaiting confirmation."""
from __future__ import annotations

import io
import socket

import pytest

from bot.feature import Feature
import handlers.shoppers as shoppers_mod
from bot.app import create_app
from bot.appkeys import STORE
from bot.message import Reply
from bot.router import Router
from bot.sandbox import chat
from handlers import help
from tests.conftest import make_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _lines(*items: str):
    for item in items:
        yield item


@pytest.fixture
async def demo(aiohttp_server, redis, prefix):
    echo = Router("tests.sandbox.echo")

    @echo.any_text()
    async def answer(msg):
        return Reply("_raw.txt.j2", text=f"您说：{msg.text}") if msg.channel == "kf" else None

    features = [Feature("shoppers", routers=[shoppers_mod.router, help.router, echo], settings=shoppers_mod.Settings,
                        setup=shoppers_mod.setup)]
    port = _free_port()
    cfg = make_config(prefix, f"http://127.0.0.1:{port}/fake", demo=True, server={"host": "127.0.0.1", "port": port},
                      worker={"partitions": 2, "retry_after_ms": 500, "max_deliveries": 3, "lease_ms": 3000})
    server = await aiohttp_server(create_app(cfg, role="all", redis=redis, features=features), port=port)
    return cfg, server.app


async def test_shopper_and_guide_through_the_console(demo):
    demo, app = demo
    out = io.StringIO()
    await chat(demo, who="shopper", user="wmSandbox", url=None, store="S01",
               lines=_lines("你好", "转人工", ":加好友"), out=out)
    text = out.getvalue()
    assert "进入会话的欢迎语" in text and "梅溪湖店的在线小助手" in text  # entering through the store's link
    assert "kf/send_msg → wmSandbox" in text and "您说：你好" in text
    assert "顾客找人工" not in text  # the guide's notice is on the guide's phone, not the shopper's
    # The console put the shopper in the store's group and told the service with WeCom's events,
    # so the service knows the join (coupons' new-member rule reads it).
    assert "wrGroupA" in await app[STORE].groups.groups_of("wmSandbox")
    assert "── 欢迎语\n您好，我是梅溪湖店的" in text and "[链接] https://work.weixin.qq.com/kf/wkS01" in text

    out = io.StringIO()
    await chat(demo, who="guide", user="xiaowang", url=None, store=None,
               lines=_lines("/群发 今晚草莓特价", ":群发", "/结束"), out=out)
    text = out.getvalue()
    assert "群发待确认 (sender xiaowang, groups ['wrGroupA'])" in text
    assert "[链接] https://work.weixin.qq.com/kf/wkS01?enc_scene=ENCs_S01" in text
    assert text.count("群发待确认 (sender") == 2  # once as it happened, once listed by :群发
    assert "已结束 #" in text


async def test_console_shows_everyone_s_messages_only_when_asked(demo):
    demo, app = demo
    out = io.StringIO()
    await chat(demo, who="shopper", user="wmAll", url=None, store="S01", lines=_lines("转人工"), out=out,
               everything=True)
    assert "顾客找人工" in out.getvalue()  # the guide's notice, seen going out through message/send
