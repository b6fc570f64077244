"""`serve --role archive` runs the reader (and no callback, no workers); `all` runs it only when
[archive] is enabled."""
from __future__ import annotations

import asyncio
import dataclasses

from bot.app import create_app
from bot.appkeys import CONSUMERS, DEPS
from bot.cli import main
from tests.archive.conftest import inbox_messages


async def test_role_archive_runs_the_reader_alone(aiohttp_client, redis, cfg, wecom, store):
    wecom.archive.say("wrGroupA", "wmShopper1", "接龙 2份")
    client = await aiohttp_client(create_app(cfg, role="archive", redis=redis))
    app = client.server.app
    assert "archive" in app[DEPS] and CONSUMERS not in app
    assert (await client.post("/wecom/app")).status in (404, 405)  # the web role answers WeCom
    for _ in range(500):
        if await inbox_messages(store):
            break
        await asyncio.sleep(0.01)
    assert [m.text for m in await inbox_messages(store)] == ["接龙 2份"]


async def test_role_all_runs_the_reader_only_when_enabled(aiohttp_client, redis, cfg):
    off = dataclasses.replace(cfg, archive=dataclasses.replace(cfg.archive, enabled=False))
    client = await aiohttp_client(create_app(off, role="all", redis=redis))
    assert "archive" not in client.server.app[DEPS]


def test_role_archive_refuses_a_config_without_archive(tmp_path, capsys):
    conf = tmp_path / "c.toml"
    conf.write_text('[wecom]\ncorp_id = "ww1"\n')
    assert main(["-c", str(conf), "serve", "--role", "archive"]) == 2
    assert "[archive] enabled" in capsys.readouterr().err
