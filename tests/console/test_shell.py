"""The console's transport: sign-in both ways, sessions, CSRF, roles and store scope, hostile input."""
from __future__ import annotations

import pytest

from bot.console import session as sess
from bot.fakewecom import oauth_code
from tests.console.helpers import console_config, csrf_of, sign_in, start, STATE


@pytest.fixture
async def console(aiohttp_client, redis, prefix, fake):
    client, store, deps = await start(aiohttp_client, redis, fake, console_config(prefix, fake.base_url))
    return client, store, deps


async def test_pages_need_a_session(console):
    client, *_ = console
    r = await client.get("/console/demand", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/console/login?next=") and "demand" in r.headers["Location"]


async def test_oauth_sign_in_as_buyer_then_pages_by_role(console, fake):
    client, *_ = console
    r = await sign_in(client, fake, "buyer1", "/console/demand")
    assert r.status == 303 and r.headers["Location"] == "/console/demand"
    assert (await client.get("/console/demand")).status == 200
    assert any(c.path == "auth/getuserinfo" and c.errcode == 0 for c in fake.calls)
    assert (await client.get("/console/tuans")).status == 403  # a guide's page
    assert (await client.get("/console/engineer/health")).status == 403


async def test_login_page_points_at_wecom_authorize(console, fake):
    client, *_ = console
    text = await (await client.get("/console/login?manual=1")).text()
    assert f"{fake.base_url}/connect/oauth2/authorize?appid=" in text
    assert "scope=snsapi_base" in text and "agentid=1000002" in text and "#wechat_redirect" in text
    # inside WeCom's browser the sign-in is silent
    r = await client.get("/console/login", headers={"User-Agent": "Mozilla/5.0 wxwork/4.1"}, allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith(f"{fake.base_url}/connect/oauth2/authorize")


async def test_code_is_single_use_and_state_must_match(console, fake):
    client, *_ = console
    text = await (await client.get("/console/login?manual=1")).text()
    state = STATE.search(text).group(1)
    code = oauth_code(fake, "xiaowang")
    r = await client.get("/console/oauth", params={"code": code, "state": "x" + state}, allow_redirects=False)
    assert r.status == 400
    r = await client.get("/console/oauth", params={"code": code, "state": state}, allow_redirects=False)
    assert r.status == 303
    client.session.cookie_jar.clear()
    text = await (await client.get("/console/login?manual=1")).text()
    state = STATE.search(text).group(1)
    r = await client.get("/console/oauth", params={"code": code, "state": state}, allow_redirects=False)
    assert r.status == 401  # 40029 from WeCom: used already


async def test_shoppers_and_strangers_are_refused(console, fake):
    client, *_ = console
    assert (await sign_in(client, fake, "stranger")).status == 403
    assert (await sign_in(client, fake, "wmShopper1")).status == 403  # an external contact: openid only


async def test_open_redirect_refused(console, fake):
    client, *_ = console
    r = await sign_in(client, fake, "buyer1", "//evil.example/x")
    assert r.headers["Location"] == "/console/"


async def test_admin_token_sign_in_and_csrf(console):
    client, *_ = console
    csrf = await csrf_of(client, "/console/login?manual=1")
    r = await client.post("/console/login/token", data={"token": "wrong", "csrf": csrf}, allow_redirects=False)
    assert r.status == 303 and "failed=token" in r.headers["Location"]
    r = await client.post("/console/login/token", data={"token": "test-admin-token"}, allow_redirects=False)
    assert r.status == 403  # no CSRF token
    r = await client.post("/console/login/token", data={"token": "test-admin-token", "csrf": csrf,
                                                         "next": "/console/engineer/health"}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/console/engineer/health"
    assert (await client.get("/console/engineer/health")).status == 200
    # a form without the session's token is refused
    r = await client.post("/console/engineer/dead/replay", data={"stream": "outbox", "id": "1-1"})
    assert r.status == 403
    csrf2 = await csrf_of(client, "/console/engineer/dead")
    r = await client.post("/console/engineer/dead/replay", data={"stream": "outbox", "id": "1-1", "csrf": csrf2},
                          allow_redirects=False)
    assert r.status == 303 and "done=missing" in r.headers["Location"]
    r = await client.post("/console/engineer/dead/replay", data={"stream": "nope", "id": "1-1", "csrf": csrf2})
    assert r.status == 400


async def test_forged_or_tampered_cookie_is_no_session(console, fake):
    client, *_ = console
    await sign_in(client, fake, "buyer1")
    cookie = next(c for c in client.session.cookie_jar if c.key == sess.COOKIE).value
    body, _, mac = cookie.rpartition(".")
    forged = sess.dump(b"another key", sess.Session("x", "boss", 2**31, "token"))
    for bad in (forged, body + "." + mac[::-1], "garbage", "a" * 5000):
        client.session.cookie_jar.clear()
        r = await client.get("/console/demand", cookies={sess.COOKIE: bad}, allow_redirects=False)
        assert r.status == 303


async def test_hostile_input_gets_clear_statuses(console, fake):
    client, *_ = console
    await sign_in(client, fake, "buyer1")
    assert (await client.get("/console/demand?date=2026-13-45")).status == 400
    assert (await client.get("/console/demand?date=1999-01-01")).status == 400
    assert (await client.get("/console/demand?store=S99")).status == 404
    assert (await client.get("/console/demand?format=pdf")).status == 400
    assert (await client.get("/console/demand?days=9999")).status == 400
    assert (await client.get("/console/nowhere")).status == 404
    await sign_in(client, fake, "xiaowang")
    assert (await client.get("/console/tuans/abc")).status == 400
    assert (await client.get("/console/tuans/99999999999999")).status == 400
    assert (await client.get("/console/tuans/424242")).status == 404
    assert (await client.get("/console/coupons/C1x")).status == 400
    assert (await client.get("/console/tuans?store=S02")).status == 404  # another guide's store
    csrf = await csrf_of(client, "/console/catalog")
    r = await client.post("/console/catalog/preview", data=b"x" * (13 << 20),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 413


def test_a_wrong_console_key_stops_the_start(prefix):
    from bot.app import create_app
    from bot.config import ConfigError
    with pytest.raises(ConfigError, match="console.sesion_hours"):
        create_app(console_config(prefix, "http://127.0.0.1:9", console={"sesion_hours": 3}), role="web")
    with pytest.raises(ConfigError, match="session_hours"):
        create_app(console_config(prefix, "http://127.0.0.1:9", console={"session_hours": -1}), role="web")


async def test_fake_authorize_checks_what_wecom_checks(aiohttp_client, fake):
    from yarl import URL

    from bot.fakewecom import create_fake_app
    fake.corpid = "wwcorp"
    client = await aiohttp_client(create_fake_app(fake))
    ok = {"appid": "wwcorp", "redirect_uri": "http://127.0.0.1:1/console/oauth?next=%2Fconsole%2F",
          "response_type": "code", "scope": "snsapi_base", "state": "abc123", "agentid": "1"}
    assert (await client.get("/connect/oauth2/authorize", params={**ok, "appid": "wwother"})).status == 400
    assert (await client.get("/connect/oauth2/authorize", params={**ok, "state": "a-b"})).status == 400
    assert (await client.get("/connect/oauth2/authorize", params={**ok, "redirect_uri": ""})).status == 400
    assert (await client.get("/connect/oauth2/authorize", params=ok)).status == 200
    r = await client.post("/connect/oauth2/authorize", data={**ok, "typed": "xiaowang"}, allow_redirects=False)
    assert r.status == 302
    loc = URL(r.headers["Location"])
    assert loc.query["state"] == "abc123" and loc.query["next"] == "/console/" and loc.query["code"]
