"""The web console under /console/: sign-in, sessions, CSRF, roles and store scope, and the pages.

Features contribute `Page`s (bot/feature.py): plain async functions over a `PageRequest` returning
a `PageResult`. This module is the transport: it signs users in (WeCom OAuth2 for staff, the admin
token for the engineer), keeps who they are in a signed cookie, checks each page's roles and every
form's CSRF token, reads bodies with limits, and turns results into HTML, redirects or files.
Roles and stores come from the config on every request (`Config.role_of`, `bot.staff.stores_of`),
as for chat commands, so a config change applies without signing out.

A page's `PageRequest.deps` is the app's deps plus `now`, `files` (a multipart form's uploads:
field -> (filename, bytes)), `sign` (HMAC of bytes with the session key, for data a page puts in
its own form) and `app` (the engineer's health page reads the consumers from it).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl, quote, urlencode

from aiohttp import web

from bot import staff
from bot.appkeys import CONFIG, DEPS
from bot.config import ConfigError, feature_settings
from bot.console import session as sess
from bot.console.views import render_page
from bot.feature import BadInput, Page, PageRequest, PageResult
from bot.server import BodyError, read_body, same_secret

log = logging.getLogger(__name__)

SESSION_HOURS = 12
MAX_UPLOAD = 12 << 20  # a catalog file (8 MiB by default) sent again as base64 by its preview's form
PAGES = web.AppKey("console_pages", list)
ROLES = ("guide", "buyer", "admin")


@dataclass(frozen=True)
class Settings:
    """`[console]`: every key optional."""

    public_url: str = ""  # how browsers reach the service (WeCom's redirect_uri); default [server] public_url
    authorize_url: str = ""  # WeCom's OAuth2 page; default open.weixin.qq.com's (the demo: the fake's)
    secret: str = ""  # signs session cookies; default derived from [admin] token and the app secret
    session_hours: float = SESSION_HOURS


def settings(config) -> Settings:
    """The `[console]` section; an unknown key or a wrong type stops the start (checked in setup)."""
    got = feature_settings(config, "console", Settings)
    if got.session_hours <= 0:
        raise ConfigError("console.session_hours must be positive")
    return got


def authorize_base(config) -> str:
    """WeCom's OAuth2 page; the demo's fake WeCom serves one (a user picker) next to its API."""
    given = settings(config).authorize_url
    if given:
        return given
    if config.demo:
        return config.wecom.api_base.rstrip("/") + "/connect/oauth2/authorize"
    return "https://open.weixin.qq.com/connect/oauth2/authorize"


def public_base(request: web.Request) -> str:
    config = request.app[CONFIG]
    given = settings(config).public_url or config.server.public_url
    if given:
        return given.rstrip("/")
    return f"{request.scheme}://{request.host}"


def _safe_next(value: str | None) -> str:
    """Only a console path: never an absolute URL or //host (no open redirect)."""
    if not value or not value.startswith("/console/") or value.startswith("//") or "\\" in value \
            or any(ord(c) < 0x20 for c in value) or len(value) > 512:
        return "/console/"
    return value


# -- responses -----------------------------------------------------------------------------------
def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


def error_page(request: web.Request, status: int, what: str, detail: str = "", s: sess.Session | None = None
               ) -> web.Response:
    config = request.app[CONFIG]
    role = _role(config, s) if s and s.signed_in else None
    ctx = _base_context(request, s, role if role in ROLES else None, s.user if role else "", ())
    ctx.update(status=status, what=what, detail=detail[:200])
    return _html(render_page("error.html", ctx, config.bot.timezone), status)


def _set_cookie(request: web.Request, resp: web.StreamResponse, s: sess.Session) -> None:
    key = sess.secret_of(request.app[CONFIG])
    secure = request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"
    resp.set_cookie(sess.COOKIE, sess.dump(key, s), path="/console", httponly=True, samesite="Lax", secure=secure,
                    max_age=int(settings(request.app[CONFIG]).session_hours * 3600) + 3600)


def _session(request: web.Request) -> sess.Session | None:
    return sess.load(sess.secret_of(request.app[CONFIG]), request.cookies.get(sess.COOKIE))


def _role(config, s: sess.Session) -> str:
    if s.via == "token":
        return "admin"
    return config.role_of(s.user)


def _stores(config, s: sess.Session, role: str) -> tuple[str, ...]:
    if s.via == "token":
        return tuple(x.id for x in config.stores)
    return staff.stores_of(config, s.user)


MENU_ORDER = ("demand", "tuans", "coupons", "catalog", "health", "dead", "stores")  # others after these


def _menu(request: web.Request, role: str) -> list[dict]:
    """A role's menu; its first entry is where /console/ leads."""
    items = [{"key": p.menu, "href": "/console" + p.path} for p in request.app[PAGES]
             if p.menu and role in p.roles and "{" not in p.path]
    rank = {k: i for i, k in enumerate(MENU_ORDER)}
    return sorted(items, key=lambda m: rank.get(m["key"], len(rank)))


def _base_context(request: web.Request, s: sess.Session | None, role: str | None, user: str,
                  stores: tuple[str, ...]) -> dict:
    config = request.app[CONFIG]
    key = sess.secret_of(config)
    return {"me": {"user": user, "role": role or "", "stores": list(stores)},
            "menu": _menu(request, role) if role else [], "path": request.path,
            "csrf": sess.csrf_token(key, s) if s else "", "store_names": {x.id: x.name or x.id for x in config.stores},
            "bot_name": config.bot.name}


# -- sign-in ---------------------------------------------------------------------------------------
async def login(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    s = _session(request)
    nxt = _safe_next(request.query.get("next"))
    if s and s.signed_in:
        raise web.HTTPSeeOther(nxt)
    s = s or sess.fresh()
    key = sess.secret_of(config)
    redirect = f"{public_base(request)}/console/oauth?" + urlencode({"next": nxt})
    oauth = (f"{authorize_base(config)}?" + urlencode({
        "appid": config.wecom.corp_id, "redirect_uri": redirect, "response_type": "code", "scope": "snsapi_base",
        "state": sess.state_token(key, s), "agentid": str(config.wecom.app.agent_id)}) + "#wechat_redirect")
    # Inside WeCom's own browser sign-in is silent: go straight to the authorize page.
    if "wxwork" in request.headers.get("User-Agent", "").lower() and not request.query.get("manual"):
        resp: web.StreamResponse = web.HTTPFound(oauth)
    else:
        ctx = _base_context(request, s, None, "", ())
        ctx.update(oauth_url=oauth, next=nxt, failed=request.query.get("failed", "")[:20])
        resp = _html(render_page("login.html", ctx, config.bot.timezone))
    _set_cookie(request, resp, s)
    if isinstance(resp, web.HTTPException):
        raise resp
    return resp


async def oauth_return(request: web.Request) -> web.StreamResponse:
    """WeCom sends the browser back with ?code&state: code -> auth/getuserinfo -> userid."""
    config = request.app[CONFIG]
    s = _session(request)
    key = sess.secret_of(config)
    q = request.query
    code, state = q.get("code", ""), q.get("state", "")
    if s is None or not same_secret(state, sess.state_token(key, s)):
        return error_page(request, 400, "login_state", "state does not match this browser's sign-in", s)
    if not code or len(code) > 512 or not code.isascii() or not code.isprintable():
        return error_page(request, 400, "login_code", "code missing or malformed", s)
    api = request.app[DEPS]["api"]
    try:
        info = await api.call("auth/getuserinfo", secret=config.wecom.app.secret, method="GET", params={"code": code})
    except Exception as exc:  # WeComError (40029 a used or expired code) or the network
        errcode = getattr(exc, "errcode", None)
        log.warning("console sign-in: auth/getuserinfo failed (%s)", errcode or type(exc).__name__)
        status = 401 if errcode == 40029 else 502
        return error_page(request, status, "login_code" if errcode == 40029 else "login_upstream", str(errcode or ""), s)
    userid = str(info.get("userid") or info.get("UserId") or "")
    if not userid or config.role_of(userid) not in ROLES:
        log.warning("console sign-in refused for %r: not staff in the config", userid[:64] or "(no userid)")
        return error_page(request, 403, "not_staff", userid[:64], s)
    fresh = sess.Session(sess.fresh().sid, userid, int(time.time() + settings(config).session_hours * 3600),
                         "oauth")  # a new id at sign-in: a planted cookie cannot ride into the session
    resp = web.HTTPSeeOther(_safe_next(q.get("next")))
    _set_cookie(request, resp, fresh)
    log.info("console sign-in: %s (%s)", userid, config.role_of(userid))
    raise resp


async def token_login(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    s = _session(request)
    form = await _read_form(request, config.server.max_body_bytes)
    if isinstance(form, web.Response):
        return form
    fields, _ = form
    if not sess.csrf_ok(sess.secret_of(config), s, fields.get("csrf")):
        return error_page(request, 403, "csrf", "", s)
    token = config.admin.token
    given = fields.get("token", "")
    if not same_secret(given, token):
        log.warning("console token sign-in refused (from %s)", request.remote)
        raise web.HTTPSeeOther("/console/login?" + urlencode({"failed": "token", "manual": "1",
                                                              "next": _safe_next(fields.get("next"))}))
    fresh = sess.Session(sess.fresh().sid, "admin", int(time.time() + settings(config).session_hours * 3600),
                         "token")
    resp = web.HTTPSeeOther(_safe_next(fields.get("next")))
    _set_cookie(request, resp, fresh)
    raise resp


async def logout(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    s = _session(request)
    form = await _read_form(request, config.server.max_body_bytes)
    if isinstance(form, web.Response):
        return form
    if not sess.csrf_ok(sess.secret_of(config), s, form[0].get("csrf")):
        return error_page(request, 403, "csrf", "", s)
    resp = web.HTTPSeeOther("/console/login?manual=1")
    resp.del_cookie(sess.COOKIE, path="/console")
    raise resp


# -- bodies ----------------------------------------------------------------------------------------
async def _read_form(request: web.Request, limit: int
                     ) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]] | web.Response:
    """Fields and files of a POST (urlencoded or multipart), or the error page for a body that is
    too large, late, cut off or not a form."""
    try:
        raw = await read_body(request, limit)
    except BodyError as exc:
        return error_page(request, exc.status, "body", exc.reason)
    ctype = request.content_type
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if ctype == "multipart/form-data":
        head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode("utf-8", "surrogateescape")
        msg = BytesParser(policy=HTTP).parsebytes(head + raw)
        if not msg.is_multipart():
            return error_page(request, 400, "body", "malformed multipart body")
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[str(name)] = (str(filename)[:200], payload)
            else:
                fields[str(name)] = payload.decode("utf-8", "replace")
    elif ctype in ("application/x-www-form-urlencoded", ""):
        try:
            fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
        except (UnicodeDecodeError, ValueError):
            return error_page(request, 400, "body", "form is not UTF-8 url-encoded")
    else:
        return error_page(request, 415, "body", "send a form")
    return fields, files


# -- pages -----------------------------------------------------------------------------------------
def _serve(page: Page):
    async def handle(request: web.Request) -> web.StreamResponse:
        config = request.app[CONFIG]
        s = _session(request)
        if s is None or not s.signed_in:
            target = "/console/login?" + urlencode({"next": request.path_qs if request.method == "GET" else "/console/"})
            if request.headers.get("HX-Request"):
                return web.Response(status=401, headers={"HX-Redirect": target})
            raise web.HTTPSeeOther(target)
        role = _role(config, s)
        if role not in page.roles:
            return error_page(request, 403, "forbidden", "", s)
        stores = _stores(config, s, role)
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.method == "POST":
            form = await _read_form(request, MAX_UPLOAD)
            if isinstance(form, web.Response):
                return form
            fields, files = form
            given = fields.get("csrf") or request.headers.get("X-CSRF-Token")
            if not sess.csrf_ok(sess.secret_of(config), s, given):
                log.warning("console %s %s refused: bad CSRF token (%s)", request.method, request.path, s.user)
                return error_page(request, 403, "csrf", "", s)
        now = time.time()
        key = sess.secret_of(config)
        deps = {**request.app[DEPS], "now": now, "files": files, "app": request.app,
                "sign": lambda data: hmac.new(key, b"page\0" + data, hashlib.sha256).hexdigest()}
        preq = PageRequest(path=dict(request.match_info), query=dict(request.query), form=fields, user=s.user,
                           role=role, stores=stores, deps=deps)
        try:
            result = await page.handler(preq)
        except BadInput as exc:
            return error_page(request, exc.status, "bad_input", exc.message, s)
        return _respond(request, result, s, role, stores)
    return handle


def _respond(request: web.Request, result: PageResult, s: sess.Session, role: str, stores: tuple[str, ...]
             ) -> web.StreamResponse:
    if result.redirect:
        raise web.HTTPSeeOther(_safe_next(result.redirect))
    if result.body is not None:
        name = quote(result.filename or "export")
        return web.Response(body=result.body, headers={
                                "Content-Type": result.content_type or "application/octet-stream",
                                "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
                                     "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    ctx = _base_context(request, s, role, s.user, stores)
    ctx.update(result.context)
    return _html(render_page(result.template, ctx, request.app[CONFIG].bot.timezone))


async def home(request: web.Request) -> web.StreamResponse:
    s = _session(request)
    if s is None or not s.signed_in:
        raise web.HTTPSeeOther("/console/login")
    menu = _menu(request, _role(request.app[CONFIG], s))
    if not menu:
        return error_page(request, 403, "forbidden", "", s)
    raise web.HTTPSeeOther(menu[0]["href"])


async def _slash(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console/")


async def unknown(request: web.Request) -> web.Response:
    return error_page(request, 404, "not_found", "", _session(request))


def setup(app: web.Application, pages: Sequence[Page]) -> None:
    """Mount the console: the core pages (bot/console/engineer.py) and `pages` from the features."""
    from bot.console import demo, engineer, static
    settings(app[CONFIG])  # a wrong [console] key stops the start, not a sign-in
    everything = [*pages, *engineer.PAGES]
    app[PAGES] = everything
    app.router.add_get("/console", _slash)
    app.router.add_get("/console/", home)
    app.router.add_get("/console/login", login)
    app.router.add_get("/console/oauth", oauth_return)
    app.router.add_post("/console/login/token", token_login)
    app.router.add_post("/console/logout", logout)
    static.setup(app)
    for page in everything:
        for method in page.methods:
            app.router.add_route(method, "/console" + page.path, _serve(page))
    app.router.add_route("*", "/console/{tail:.*}", unknown)
    demo.setup(app)
