"""Fixtures for the chat-archive reader: a test RSA key, the fake WeCom with its fake archive on a
local port, a config whose store groups are wrGroupA / wrGroupB, and a reader holding its lease."""
from __future__ import annotations

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.archive import fake as fake_archive
from bot.archive.reader import ArchiveReader
from bot.fakewecom import FakeWeCom, create_fake_app
from bot.message import Message
from bot.wecom_api import WeComClient
from store import Store
from tests.conftest import make_config

GROUPS = ("wrGroupA", "wrGroupB")


@pytest.fixture(scope="session")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path, rsa_key):
    path = tmp_path / "archive-v1.pem"
    path.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


@pytest.fixture
async def wecom(aiohttp_server, rsa_key):
    """The fake WeCom with the fake archive mounted; `.archive` is the FakeArchive."""
    state = FakeWeCom()
    app = create_fake_app(state)
    archive = fake_archive.FakeArchive(secret="arch-secret")
    archive.set_key(1, rsa_key)
    fake_archive.install(app, archive)
    server = await aiohttp_server(app)
    state.base_url = str(server.make_url("")).rstrip("/")
    state.archive = archive
    for g in GROUPS:
        state.add_group(g, "xiaowang", ["wmShopper1", "wmShopper2", "woShopper3"])
    return state


def archive_config(prefix, wecom, key_file, **archive):
    return make_config(prefix, wecom.base_url, archive={
        "enabled": True, "sdk": "fake", "fake_url": wecom.base_url + "/sandbox/archive", "secret": "arch-secret",
        "keys": [{"version": 1, "file": str(key_file)}], "batch": 100, "sdk_timeout_seconds": 5, **archive},
        stores=[{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrGroupA"], "kf": "wkS01"},
                {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "groups": ["wrGroupB"], "kf": "wkS02"}])


@pytest.fixture
def cfg(prefix, wecom, key_file):
    return archive_config(prefix, wecom, key_file)


@pytest.fixture
async def store(redis, prefix):
    s = Store(redis, prefix=prefix, partitions=2)
    await s.inbox.ensure_groups()
    return s


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def reader(cfg, store, http):
    api = WeComClient(http, store.r, store.keys, corp_id=cfg.wecom.corp_id, api_base=cfg.wecom.api_base)
    r = ArchiveReader(cfg, store, api)
    assert await r.state.claim(r.owner, 60_000)
    yield r
    await r.sdk.stop()


async def inbox_messages(store: Store) -> list[Message]:
    out = []
    for part in range(store.inbox.n):
        for _, fields in await store.r.xrange(store.inbox.key(part)):
            out.append(Message.from_json(fields[b"d"]))
    return sorted(out, key=lambda m: m.raw.get("seq", 0))
