"""A feature is one package plus one line in the list: a toy feature written here (a router with a
command, a scheduled job, typed settings, an admin API route, a CLI command) works by being added to
the list given to the app factory and the CLI, with nothing else wired by hand."""
from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass

import pytest

from bot import cli
from bot.app import create_app
from bot.appkeys import DEPS
from bot.config import ConfigError, check_features
from bot.feature import ApiRequest, ApiResponse, ApiRoute, BadInput, CliCommand, Feature
from bot.message import Message, Reply
from bot.router import Router
from bot.scheduler import Job
from handlers import FEATURES
from tests import factories as f
from tests.conftest import make_config

AUTH = {"Authorization": "Bearer test-admin-token"}


@dataclass(frozen=True)
class ToySettings:
    greeting: str = "hi"
    repeat: int = 1


router = Router("toy", title="玩具")


@router.command("toy")
async def toy_command(args: str, toy_settings: ToySettings) -> Reply:
    """/toy 名字 — 打个招呼"""
    return Reply("_raw.txt.j2", text=f"{toy_settings.greeting * toy_settings.repeat} {args}")


@router.schedule("toy_tick")
async def toy_tick(msg: Message, toy_log: list) -> None:
    toy_log.append(msg.id)


async def setup(deps: dict) -> None:
    deps["toy_log"] = []


async def teardown(deps: dict) -> None:
    deps["toy_log"].append("teardown")


async def hello(req: ApiRequest) -> dict:
    n = req.query_int("n", 1, 1, 5)
    return {"name": req.path["name"], "greeting": req.deps["toy_settings"].greeting * n}


async def echo(req: ApiRequest) -> ApiResponse:
    data = await req.json()
    if "name" not in data:
        raise BadInput(400, "name_required")
    return ApiResponse({"echo": data["name"]}, status=201)


def cli_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--loud", action="store_true")


def cli_run(args: argparse.Namespace, config) -> int:
    greeting = config().section("toy").get("greeting", "hi")
    print(greeting.upper() if args.loud else greeting)
    return 0


toy = Feature("toy", routers=[router], jobs=[Job("toy_tick", "0 3 * * *")],
              settings=ToySettings, setup=setup, teardown=teardown,
              api=[ApiRoute("GET", "/api/toy/{name}", hello), ApiRoute("POST", "/api/toy", echo)],
              cli=[CliCommand("toy", "say the toy's greeting", cli_arguments, cli_run)])
WITH_TOY = [*FEATURES, toy]


def config(prefix: str = "t", base: str = "http://127.0.0.1:1", **sections):
    return make_config(prefix, base, **sections)


async def wait_for(predicate, seconds: float = 20.0):
    for _ in range(int(seconds / 0.05)):
        got = predicate()
        if got:
            return got
        await asyncio.sleep(0.05)
    return predicate()


async def test_a_toy_feature_works_by_being_listed(aiohttp_client, redis, prefix, fake):
    cfg = config(prefix, fake.base_url, toy={"greeting": "您好", "repeat": 2}, schedule={"toy_tick": "@every 1"})
    client = await aiohttp_client(create_app(cfg, role="all", redis=redis, features=WITH_TOY))
    deps = client.server.app[DEPS]
    assert deps["toy_settings"] == ToySettings(greeting="您好", repeat=2)  # typed, from [toy]

    # Its command, through a signed callback, the inbox, the real worker, the outbox and the sender.
    q, body = f.app_callback(f.text_xml("/toy 小王", user="xiaowang"))
    assert (await client.post(f"/wecom/app?{q}", data=body)).status == 200

    def answered():
        return [c.body["text"]["content"] for c in fake.sent("message/send", ok=True)
                if c.body.get("touser") == "xiaowang" and c.body.get("msgtype") == "text"]
    assert await wait_for(answered) == ["您好您好 小王"]

    # Its job, at the [schedule] override's timing, handled by its own schedule route.
    assert await wait_for(lambda: deps["toy_log"])
    assert deps["toy_log"][0].startswith("job:toy_tick:")

    # Its API routes, behind the admin token like every other.
    assert (await client.get("/api/toy/abc")).status == 401
    resp = await client.get("/api/toy/小王?n=2", headers=AUTH)
    assert resp.status == 200 and await resp.json() == {"name": "小王", "greeting": "您好您好"}
    assert "小王" in await resp.text()  # Chinese as written
    resp = await client.get("/api/toy/x?n=lots", headers=AUTH)
    assert resp.status == 400 and "n must be a whole number" in (await resp.json())["error"]
    resp = await client.post("/api/toy", headers=AUTH, json={"name": "甲"})
    assert resp.status == 201 and await resp.json() == {"echo": "甲"}
    resp = await client.post("/api/toy", headers=AUTH, json={})
    assert resp.status == 400 and (await resp.json())["error"] == "name_required"
    resp = await client.post("/api/toy", headers=AUTH, data=b"{" * 70_000)
    assert resp.status == 413 and (await resp.json())["limit_bytes"] == cfg.server.max_body_bytes
    resp = await client.post("/api/toy", headers=AUTH, data=b"[1]")
    assert resp.status == 400 and (await resp.json())["error"] == "body must be a JSON object"


async def test_the_toy_is_torn_down_with_the_app(aiohttp_client, redis, prefix, fake):
    client = await aiohttp_client(create_app(config(prefix, fake.base_url), role="web", redis=redis,
                                             features=WITH_TOY))
    deps = client.server.app[DEPS]
    await client.close()
    assert deps["toy_log"] == ["teardown"]


def test_the_default_list_knows_no_toy():
    with pytest.raises(ConfigError, match=r"unknown section \[toy\]"):
        create_app(config(toy={"greeting": "x"}))
    with pytest.raises(ConfigError, match=r"unknown job schedule\.toy_tick"):
        create_app(config(schedule={"toy_tick": "@every 1"}))


@pytest.mark.parametrize("sections, message", [
    ({"toy": {"colour": "red"}}, r"unknown key toy\.colour"),
    ({"toy": {"repeat": "many"}}, r"toy\.repeat must be int"),
    ({"gropbuy": {}}, r"unknown section \[gropbuy\] \(did you mean \[groupbuy\]\?\)"),
    ({"toys": {}}, r"unknown section \[toys\] \(did you mean \[toy\]\?\)"),
    ({"schedule": {"toy_tik": "@every 1"}}, r"unknown job schedule\.toy_tik \(did you mean schedule\.toy_tick\?\)"),
    ({"schedule": {"toy_tick": "every day"}}, r"schedule\.toy_tick: not a cron spec"),
    ({"schedule": {"digest_tick": 5}}, r"schedule\.digest_tick must be a cron spec string"),
    ({"qa": {"refresh_second": 1}}, r"unknown key qa\.refresh_second"),
    ({"digest": {"cutof": "21:00"}}, r"unknown key digest\.cutof"),
    ({"digest": {"recipients": [{"name": "x", "users": ["a"], "sotres": "all"}]}},
     r"unknown key digest\.recipients\[0\]\.sotres"),
    ({"coupons": {"anything": 1}}, r"unknown key coupons\.anything \(\[coupons\] has no settings\)"),
    ({"conversation": {"confirm_minute": 5}}, r"unknown key conversation\.confirm_minute"),
])
def test_a_wrong_section_key_or_job_stops_the_start_with_its_name(sections, message):
    with pytest.raises(ConfigError, match=message):
        create_app(config(**sections), features=WITH_TOY)


def test_every_shipped_config_loads_against_the_list():
    from pathlib import Path
    from bot.config import load
    root = Path(__file__).resolve().parent.parent
    for name in ("config.toml", "deploy/config.toml"):
        typed = check_features(load(root / name), FEATURES)
        assert {"qa", "shoppers", "smalltalk", "digest"} <= set(typed), name


def test_its_cli_command_is_listed_and_runs(tmp_path, capsys):
    path = tmp_path / "toy.toml"
    path.write_text('[toy]\ngreeting = "ni hao"\n', encoding="utf-8")
    assert cli.main(["-c", str(path), "toy", "--loud"], features=WITH_TOY) == 0
    assert capsys.readouterr().out == "NI HAO\n"
    with pytest.raises(SystemExit):  # the shipped list has no `toy` command
        cli.main(["-c", str(path), "toy"])
    assert "invalid choice: 'toy'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # and its config check refuses the section
        cli.main(["-c", str(path), "dead-letters", "list"])
    assert exc.value.code == 2 and "unknown section [toy]" in capsys.readouterr().err


def test_two_features_of_one_name_are_refused():
    with pytest.raises(ValueError, match="two features are named 'toy'"):
        create_app(config(), features=[*WITH_TOY, Feature("toy")])
