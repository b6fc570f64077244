"""`qunbot check`: fetch a token and probe each permission, then say in plain words what to fix."""
from __future__ import annotations

import secrets
from dataclasses import replace
import time
from urllib.parse import urlencode

import aiohttp

from bot.config import Config
from bot.crypto import Crypto
from bot.wecom_api import CONFIG_ERRORS, Transient, WeComClient, WeComError
from store.keys import Keys

OK, BAD, WARN = "✔", "✘", "!"


def _explain(exc: WeComError) -> str:
    if isinstance(exc, Transient):
        return f"{exc.errmsg}: check that this server can reach [wecom] api_base (DNS, proxy, firewall)"
    if exc.fix:
        return f"errcode {exc.errcode}: {exc.fix}"
    return f"errcode {exc.errcode} {exc.errmsg}"


async def run_check(cfg: Config, out=print) -> int:
    problems = 0

    def report(mark: str, text: str) -> None:
        nonlocal problems
        problems += mark == BAD
        out(f"{mark} {text}")

    w = cfg.wecom
    for name, value in (("wecom.corp_id", w.corp_id), ("wecom.app.secret", w.app.secret),
                        ("wecom.app.token", w.app.token), ("wecom.app.encoding_aes_key", w.app.encoding_aes_key)):
        if not value:
            report(BAD, f"{name} is empty: copy it from the WeCom admin console (应用管理 → your app)")
    crypto_ok = False
    try:
        if w.app.token and w.app.encoding_aes_key:
            Crypto(w.app.token, w.app.encoding_aes_key, w.corp_id)
            report(OK, "callback Token and EncodingAESKey are well-formed")
            crypto_ok = True
    except ValueError as exc:
        report(BAD, f"wecom.app.encoding_aes_key: {exc}")
    async with aiohttp.ClientSession() as http:
        api = WeComClient(http, None, Keys(), corp_id=w.corp_id, api_base=w.api_base)  # type: ignore[arg-type]
        try:
            data = await api._request("GET", "gettoken", params={"corpid": w.corp_id, "corpsecret": w.app.secret})
            token = data["access_token"]
            report(OK, f"access token fetched from {w.api_base}")
        except WeComError as exc:
            report(BAD, f"cannot fetch an access token: {_explain(exc)}")
            return _summary(problems, out)
        probes = [
            ("GET", "agent/get", {"agentid": str(w.app.agent_id)}, None, "app message sending (message/send)"),
            ("GET", "getcallbackip", {}, None, "callback source IPs (trusted IP check)"),
            ("POST", "externalcontact/groupchat/list", {}, {"status_filter": 0, "limit": 1},
             "customer groups (客户联系 API)"),
            ("POST", "kf/account/list", {}, {"offset": 0, "limit": 1}, "微信客服 accounts"),
        ]
        for method, path, params, body, what in probes:
            try:
                await api._request(method, path, params={**params, "access_token": token}, json_body=body)
                report(OK, f"{what}: allowed")
            except WeComError as exc:
                mark = BAD if exc.errcode in CONFIG_ERRORS else WARN
                report(mark, f"{what}: {_explain(exc)}")
        if cfg.archive.enabled:
            from bot.archive.check import check_archive
            await check_archive(cfg, api, report)
        if cfg.server.public_url and crypto_ok:
            await _check_callback(http, cfg, report)
        else:
            report(WARN, "server.public_url is not set: cannot test that WeCom reaches the callback URL")
    return _summary(problems, out)


async def _check_callback(http: aiohttp.ClientSession, cfg: Config, report) -> None:
    """Do what WeCom does when you save the callback URL: a signed GET with an encrypted echostr."""
    w = cfg.wecom
    crypto = Crypto(w.app.token, w.app.encoding_aes_key, w.corp_id)
    plain = str(secrets.randbits(60))
    ts, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    echostr = crypto.encrypt(plain.encode())
    url = f"{cfg.server.public_url.rstrip('/')}/wecom/app?" + urlencode(
        {"msg_signature": crypto.sign(ts, nonce, echostr), "timestamp": ts, "nonce": nonce, "echostr": echostr})
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            body = await resp.text()
            if resp.status == 200 and body == plain:
                report(OK, f"callback URL {cfg.server.public_url}/wecom/app answers the verification")
            else:
                report(BAD, f"callback URL answered HTTP {resp.status} {body[:60]!r}: check Token/EncodingAESKey "
                            "and that this service is the one behind the URL")
    except (aiohttp.ClientError, TimeoutError) as exc:
        report(BAD, f"callback URL {cfg.server.public_url} is not reachable ({type(exc).__name__}): "
                    "check DNS, the reverse proxy and the firewall")


SIMULATED = {  # errcode -> where WeCom answers it: a refused secret at gettoken, the rest on the probes
    40001: ("gettoken",), 40013: ("gettoken",), 60020: ("gettoken",),
    48002: ("externalcontact/groupchat/list", "kf/account/list"),
    60011: ("agent/get",),
}


async def run_simulated(cfg: Config, errcode: int, out=print) -> int:
    """Run the check against a private fake WeCom that answers `errcode` where WeCom would, so an
    engineer on the demo config can see what the check says for a wrong secret, an untrusted IP or
    a missing API permission before trying it on the real thing."""
    from aiohttp import web

    from bot.fakewecom import FakeWeCom, create_fake_app
    fake = FakeWeCom()
    for path in SIMULATED[errcode]:
        fake.script(path, errcode)
    app = create_fake_app(fake)
    if cfg.archive.enabled and cfg.archive.sdk == "fake":
        from bot.archive import fake as fake_archive
        fake_archive.install(app, fake_archive.for_config(cfg))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    out(f"(simulating errcode {errcode} from a private fake WeCom)")
    try:
        wecom = replace(cfg.wecom, api_base=f"http://127.0.0.1:{port}")
        if cfg.archive.sdk == "fake":  # its fake archive too, not the demo's
            cfg = replace(cfg, archive=replace(cfg.archive, fake_url=f"http://127.0.0.1:{port}/sandbox/archive"))
        return await run_check(replace(cfg, wecom=wecom), out)
    finally:
        await runner.cleanup()


def _summary(problems: int, out) -> int:
    out("all checks passed" if not problems else f"{problems} problem(s) to fix")
    return 1 if problems else 0
