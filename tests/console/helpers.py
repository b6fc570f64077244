"""A three-store chain with demo activity, the service on a real port, and sign-in helpers."""
from __future__ import annotations

import re
import time
from pathlib import Path

from bot.app import create_app
from bot.appkeys import DEPS, STORE
from bot.fakewecom import oauth_code, oauth_of
from handlers.qa.catalog import parse_catalog
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer test-admin-token"}
STORES = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrS01a"], "kf": "wkS01"},
          {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "groups": ["wrS02a"], "kf": "wkS02"},
          {"id": "S03", "name": "河西店", "guides": ["xiaozhao"], "groups": [], "kf": ""}]


def console_config(prefix: str, api_base: str, console: dict | None = None, **extra):
    return make_config(prefix, api_base, stores=STORES,
                       roles={"guides": [], "buyers": ["buyer1"], "admins": ["boss"]},
                       console={"authorize_url": f"{api_base}/connect/oauth2/authorize", **(console or {})}, **extra)


async def seeded(store, config) -> dict:
    from handlers.demo_data import seed
    rows, errors = parse_catalog((ROOT / "data" / "catalog.csv").read_bytes(), "catalog.csv")
    assert not errors
    await store.catalog.replace(rows)
    return await seed(store, config, time.time(), days=10)


async def start(aiohttp_client, redis, fake, config):
    client = await aiohttp_client(create_app(config, role="web", redis=redis))
    app = client.server.app
    oauth_of(fake).directory.update({"buyer1": "buyer", "xiaowang": "guide 梅溪湖店", "boss": "admin"})
    return client, app[STORE], app[DEPS]


STATE = re.compile(r"state=([A-Za-z0-9]+)")


async def sign_in(client, fake, userid: str, next_path: str = "/console/") -> object:
    """The OAuth round trip a browser makes (the picker's choice taken as given)."""
    client.session.cookie_jar.clear()
    page = await client.get("/console/login?manual=1")
    state = STATE.search(await page.text()).group(1)
    return await client.get("/console/oauth", params={"code": oauth_code(fake, userid), "state": state,
                                                      "next": next_path}, allow_redirects=False)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf_of(client, path: str) -> str:
    return CSRF.search(await (await client.get(path)).text()).group(1)
