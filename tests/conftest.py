"""Test fixtures: a real Redis (REDIS_URL, else 127.0.0.1:6379, else a private embedded server),
a key prefix per test, the fake WeCom API on a local port, and a harness that drives the service."""
from __future__ import annotations

import os
import socket
import uuid

import pytest
from redis.asyncio import Redis

from bot.redis_server import EmbeddedRedis
from store import connect


def _answers(url: str) -> bool:
    import redis
    if "+" in url.split("://", 1)[0]:
        return True  # a cluster or Sentinel (make test-cluster starts them): store.connect finds out
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_USED: list[str] = []  # which Redis this run talked to, for the closing summary

# Redis Cluster runs a script or a MULTI only when all its keys are in one hash slot. The suite
# runs on one Redis, which does not care, so it checks it: a script call (store/lua.py) or a
# transaction whose keys span slots fails the test that ran it.
_MULTI_KEYS = {"DEL", "UNLINK", "EXISTS", "MGET", "TOUCH"}


def _keys_of(args: tuple) -> list:
    name = str(args[0]).upper()
    if name in ("EVAL", "EVALSHA"):
        return list(args[3:3 + int(args[2])])
    if name in _MULTI_KEYS:
        return list(args[1:])
    return [args[1]] if len(args) > 1 else []


def _guard_slots() -> None:
    from redis.asyncio.client import Pipeline

    from store import lua

    lua.check_slots(True)
    run = Pipeline._execute_transaction

    async def checked(self, connection, commands, raise_on_error):
        keys = [k for args, _ in commands for k in _keys_of(args)]
        lua.same_slot(keys, "MULTI of " + " ".join(str(args[0]) for args, _ in commands))
        return await run(self, connection, commands, raise_on_error)

    Pipeline._execute_transaction = checked


_guard_slots()


def pytest_terminal_summary(terminalreporter) -> None:
    if _USED:
        terminalreporter.write_line(f"redis: {_USED[0]}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if _answers(url):
        _USED.append(url)
        yield url
        return
    # No Redis answers: start a private one for this run (no persistence needed for tests).
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=_free_port(), appendonly=False)
    private = server.start()
    _USED.append(f"private {server.binary} at {private} ({url} did not answer)")
    yield private
    server.stop()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis(redis_url, prefix):
    client = connect(redis_url)  # the service's own connect: one node, Sentinel or Cluster alike
    yield client
    # Every test doubles as a retention check (store/keys.py): what it left without a TTL must belong
    # to a family whose declared rule bounds it.
    from tests.retention import unbounded_keys
    unbounded = await unbounded_keys(client, prefix)
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for i in range(0, len(keys), 500):
        await client.delete(*keys[i:i + 500])
    await client.aclose()
    if unbounded:
        pytest.fail(f"keys without a TTL that no retention rule in store/keys.py explains: {unbounded[:10]}")


# -- the service under test --------------------------------------------------------------------
from bot import config as config_mod  # noqa: E402
from bot.fakewecom import FakeWeCom, create_fake_app  # noqa: E402
from tests import factories as f  # noqa: E402


def make_config(prefix: str, api_base: str, **sections) -> config_mod.Config:
    data = {
        "server": {"port": 0},
        "redis": {"url": "", "prefix": prefix},
        "wecom": {"corp_id": f.CORP_ID, "api_base": api_base, "max_skew_seconds": 300,
                  "app": {"agent_id": 1000002, "secret": "test-secret", "token": f.APP_TOKEN,
                          "encoding_aes_key": f.APP_KEY},
                  "aibot": {"token": f.BOT_TOKEN, "encoding_aes_key": f.BOT_KEY}},
        "roles": {"guides": ["xiaowang"], "buyers": ["buyer1"], "admins": ["boss"]},
        "admin": {"token": "test-admin-token"},
        "worker": {"partitions": 2, "retry_after_ms": 50, "max_deliveries": 3, "lease_ms": 5000},
        "sender": {"backoff_seconds": 0.05, "retry_base_seconds": 0.01, "max_attempts": 4},
        "stores": [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrGroupA"],
                    "kf": "wkS01"}],
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return config_mod.from_dict(data)


@pytest.fixture
async def fake(aiohttp_server):
    state = FakeWeCom()
    server = await aiohttp_server(create_fake_app(state))
    state.base_url = str(server.make_url("")).rstrip("/")
    return state


@pytest.fixture
def service_config(prefix, fake):
    return make_config(prefix, fake.base_url)


@pytest.fixture
async def service(aiohttp_client, redis, service_config, fake):
    from tests.harness import Harness
    h = await Harness.start(aiohttp_client, redis, service_config, fake)
    yield h
