"""`qunbot check` against the fake WeCom: each setup mistake is named with its fix."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.check import run_check
from bot.fakewecom import FakeWeCom, create_fake_app
from tests.conftest import make_config


async def check(cfg) -> tuple[int, str]:
    lines: list[str] = []
    code = await run_check(cfg, out=lines.append)
    return code, "\n".join(lines)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


async def test_healthy_setup_passes_including_the_callback_url(service, prefix, fake):
    public = str(service.client.make_url("")).rstrip("/")
    code, text = await check(make_config(prefix, fake.base_url, server={"public_url": public}))
    assert code == 0, text
    assert "answers the verification" in text and text.endswith("all checks passed")


async def test_bad_secret_40001(aiohttp_server, prefix):
    server = await aiohttp_server(create_fake_app(FakeWeCom(valid_secrets={"the-real-one"})))
    code, text = await check(make_config(prefix, str(server.make_url("")).rstrip("/")))
    assert code == 1
    assert "errcode 40001" in text and "Secret" in text


async def test_untrusted_ip_60020(prefix, fake):
    fake.script("gettoken", 60020)
    code, text = await check(make_config(prefix, fake.base_url))
    assert code == 1 and "errcode 60020" in text and "企业可信IP" in text


async def test_missing_permission_48002(prefix, fake):
    fake.script("externalcontact/groupchat/list", 48002)
    code, text = await check(make_config(prefix, fake.base_url))
    assert code == 1
    line = next(l for l in text.splitlines() if "客户联系" in l)
    assert line.startswith("✘") and "48002" in line and "可调用接口的应用" in line


async def test_unreachable_callback_url(prefix, fake):
    cfg = make_config(prefix, fake.base_url, server={"public_url": f"http://127.0.0.1:{closed_port()}"})
    code, text = await check(cfg)
    assert code == 1 and "is not reachable" in text


async def test_callback_url_served_by_someone_else(service, prefix, fake):
    """The URL answers, but not with our Token/EncodingAESKey (another app, or a stale config)."""
    public = str(service.client.make_url("")).rstrip("/")
    cfg = make_config(prefix, fake.base_url, server={"public_url": public},
                      wecom={"app": {"agent_id": 1000002, "secret": "s", "token": "otherToken",
                                     "encoding_aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"}})
    code, text = await check(cfg)
    assert code == 1 and "HTTP 403" in text


async def test_unreachable_api_base(prefix):
    code, text = await check(make_config(prefix, f"http://127.0.0.1:{closed_port()}"))
    assert code == 1 and "cannot fetch an access token" in text and "api_base" in text


async def test_empty_settings_are_named(prefix, fake):
    cfg = make_config(prefix, fake.base_url, wecom={"corp_id": "", "app": {"secret": "x"}})
    code, text = await check(cfg)
    assert code == 1 and "wecom.corp_id is empty" in text and "wecom.app.token is empty" in text


@pytest.mark.parametrize("errcode, says", [(40001, "secret is wrong"), (60020, "trusted IP"),
                                           (48002, "可调用接口的应用")])
async def test_check_can_be_tried_on_the_demo_config_with_a_simulated_error(errcode, says):
    from bot.check import run_simulated
    from bot.config import load
    lines: list[str] = []
    code = await run_simulated(load(Path(__file__).resolve().parent.parent / "config.toml"), errcode, lines.append)
    assert code == 1
    assert any(line.startswith("✘") and says in line for line in lines), lines
