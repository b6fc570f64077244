"""`qunbot chat --as shopper --group` end to end on the demo service: the line goes into the fake
archive, which sends msgaudit_notify to the app callback; the reader pulls, decrypts and puts it in
the inbox; a router sees it as a group message and tells the guide."""
from __future__ import annotations

import io
import socket

import pytest

from bot.app import create_app
from bot.feature import Feature
from bot.message import Reply, Target
from bot.router import Router
from bot.sandbox import ServiceDown, chat
from tests.conftest import make_config


async def _lines(*items: str):
    for item in items:
        yield item


@pytest.fixture
async def demo(aiohttp_server, redis, prefix, tmp_path):
    heard = Router("tests.archive.heard")

    @heard.any_text()
    async def tell_guide(msg):
        if msg.channel != "archive":
            return None
        return Reply("_raw.txt.j2", to=Target("app", "xiaowang"),
                     text=f"群{msg.chat_id}（{msg.raw['store']}）{msg.sender}：{msg.text}")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    cfg = make_config(prefix, f"{base}/fake", demo=True, server={"host": "127.0.0.1", "port": port},
                      archive={"enabled": True, "sdk": "fake", "fake_url": f"{base}/fake/sandbox/archive",
                               "secret": "demo", "keys": [{"version": 1, "file": str(tmp_path / "k.pem")}]})
    await aiohttp_server(create_app(cfg, role="all", redis=redis, features=[Feature("heard", routers=[heard])]),
                         port=port)
    return cfg


async def test_a_shopper_line_in_the_group_reaches_the_guide_through_the_archive(demo):
    out = io.StringIO()
    await chat(demo, who="shopper", user="wmGroupie", url=None, store="S01", group=True,
               lines=_lines("草莓还有吗"), out=out)
    text = out.getvalue()
    assert "客户群 wrGroupA" in text
    assert "message/send → xiaowang" in text and "群wrGroupA（S01）wmGroupie：草莓还有吗" in text


async def test_group_needs_a_shopper(demo):
    with pytest.raises(ServiceDown):
        await chat(demo, who="guide", user=None, url=None, store="S01", group=True, lines=_lines("x"),
                   out=io.StringIO())
