"""Async WeCom API client: one access token per secret shared through Redis, errcode reactions
(docs/wecom.md §4 and §9)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis
from yarl import URL

from bot.metrics import WECOM_CALLS
from store.keys import Keys
from store.tokens import Tokens

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40014, 41001, 42001}
REFUSED_SECRET = {40001, 40013, 60020}  # gettoken answers that only a config change can fix
REFUSED_PAUSE = 60  # seconds before anyone asks gettoken again after one of them
LOCAL_TOKEN_SECONDS = 60  # a process reuses the shared token this long before asking Redis again
RATE_ERRORS = {45009, 45033}
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
URL_CACHE = 256  # (path, query) -> URL kept per client; a token rotates every 2 h, so few ever pile up
# errcode -> what the deploying engineer must fix. These never heal by retrying.
CONFIG_ERRORS = {
    40001: "the app secret is wrong or was reset: copy it again from 应用管理 → 自建应用 → Secret",
    40013: "corp_id is wrong: use 我的企业 → 企业ID",
    40056: "agent_id is wrong: use the app's AgentId",
    48002: "this API is not permitted for the app: in 客户联系/微信客服 → API, add the app to 可调用接口的应用",
    48007: "the kf account is not authorised to this app: 微信客服 → 通过API管理微信客服账号",
    60011: "the app's visible range does not include this member or department",
    60020: "this server's IP is not a trusted IP of the app: add it under 应用管理 → 企业可信IP",
    93000: "the group-robot webhook key is invalid or the robot was removed from the group",
    93004: "the group robot is disabled",
    93008: "the group robot is not in the group",
}


class WeComError(Exception):
    def __init__(self, api: str, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"{api}: errcode {errcode} {errmsg}")
        self.api, self.errcode, self.errmsg = api, errcode, errmsg

    @property
    def fix(self) -> str | None:
        return CONFIG_ERRORS.get(self.errcode)


class Transient(WeComError):
    """-1, HTTP 5xx, timeouts: retry with backoff.

    maybe_sent: WeCom may have acted on the request (it was written, the answer was lost or bad);
    only a connection that never opened is known not to have reached it.
    timed_out: no answer within the client timeout; retrying at once would only wait again.
    """

    def __init__(self, api: str, errcode: int, errmsg: str = "", *, maybe_sent: bool = True,
                 timed_out: bool = False) -> None:
        super().__init__(api, errcode, errmsg)
        self.maybe_sent, self.timed_out = maybe_sent, timed_out


class RateLimited(WeComError):
    """45009/45033: wait for the window to pass, then retry."""


class WeComClient:
    def __init__(self, session: aiohttp.ClientSession, redis: Redis, keys: Keys, *, corp_id: str,
                 api_base: str, timeout: float = 10.0) -> None:
        self.http, self.tokens = session, Tokens(redis, keys, corp_id)
        self.corp_id, self.base = corp_id, api_base.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._local: dict[str, tuple[str, float]] = {}  # secret -> (token, monotonic deadline)
        self._urls: dict[tuple, URL] = {}  # (path, query items) -> the request URL, built once

    def _request_url(self, path: str, params: dict | None) -> tuple[URL | str, dict | None]:
        """The URL and params to hand to aiohttp: for a /cgi-bin/ path, one yarl URL with the query
        built once per (path, query) instead of parsing and extending it on every call (the same
        URL aiohttp builds from the string and `params`)."""
        if path.startswith("http"):
            return path, params
        try:
            key = (path, tuple(params.items()) if params else ())
            url = self._urls.get(key)
        except TypeError:  # an unhashable query value: built per call as before
            return self.url(path), params
        if url is None:
            if len(self._urls) >= URL_CACHE:
                self._urls.clear()
            url = URL(self.url(path))
            if params:
                url = url.extend_query(params)
            self._urls[key] = url
        return url, None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}/cgi-bin/{path.lstrip('/')}"

    # -- access token --------------------------------------------------------------------------
    async def token(self, secret: str, *, refresh_ahead: int = 600) -> str:
        local = self._local.get(secret)
        if local is not None and time.monotonic() < local[1]:
            return local[0]
        token = await self._shared_token(secret, refresh_ahead)
        # Every API call needs the token; remembering the shared one for a minute saves two Redis
        # round trips per call. Another process refreshing it leaves this one valid meanwhile.
        self._local[secret] = (token, time.monotonic() + LOCAL_TOKEN_SECONDS)
        return token

    async def _shared_token(self, secret: str, refresh_ahead: int) -> str:
        refused = await self.tokens.refused(secret)
        if refused is not None:
            raise WeComError("gettoken", refused, "refused recently; not asking again yet")
        for _ in range(100):
            cached, ttl = await self.tokens.cached(secret)
            if cached and ttl > refresh_ahead:
                return cached
            # One process refreshes (ahead of expiry or when missing); the others use the old
            # token meanwhile, or wait briefly for the new one.
            owner = await self.tokens.lock(secret)
            if owner is not None:
                try:
                    return await self._fetch_token(secret)
                finally:
                    await self.tokens.unlock(secret, owner)
            if cached:
                return cached
            await asyncio.sleep(0.05)
        raise Transient("gettoken", -1, "timed out waiting for another process to fetch the token")

    async def _fetch_token(self, secret: str) -> str:
        try:
            data = await self._request("GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": secret})
        except WeComError as exc:
            if exc.errcode in REFUSED_SECRET:
                # Repeated wrong secrets get the server's IP banned for a while (docs/wecom.md): pause all callers.
                await self.tokens.refuse(secret, exc.errcode, REFUSED_PAUSE)
            raise
        token, expires = data["access_token"], int(data.get("expires_in", 7200))
        await self.tokens.put(secret, token, max(60, expires - 60))
        return token

    async def invalidate(self, secret: str, token: str) -> None:
        self._local.pop(secret, None)
        await self.tokens.drop(secret, token)

    # -- calls ---------------------------------------------------------------------------------
    async def call(self, path: str, *, secret: str | None = None, method: str = "POST",
                   params: dict | None = None, json_body: Any = None, upload: tuple[str, bytes] | None = None) -> dict:
        """Call an API; with `secret`, the shared access token is added and refreshed once if stale."""
        for attempt in (1, 2):
            q = dict(params or {})
            tok = None
            if secret is not None:
                tok = await self.token(secret)
                q["access_token"] = tok
            try:
                return await self._request(method, path, params=q, json_body=json_body, upload=upload)
            except WeComError as exc:
                if exc.errcode in TOKEN_ERRORS and secret is not None and attempt == 1:
                    log.info("%s: token rejected (%s), refreshing once", path, exc.errcode)
                    await self.invalidate(secret, tok or "")
                    continue
                raise
        raise AssertionError("unreachable")

    async def _request(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
                       upload: tuple[str, bytes] | None = None) -> dict:
        api = path.split("?")[0].rsplit("/cgi-bin/", 1)[-1]
        body: Any = None
        headers = None
        if upload is not None:  # multipart field "media"; the filename is what the recipient sees
            body = aiohttp.FormData(quote_fields=False)  # keep Chinese file names readable
            body.add_field("media", upload[1], filename=upload[0], content_type="application/octet-stream")
        elif json_body is not None:
            body = _dumps(json_body)
            headers = JSON_HEADERS
        url, params = self._request_url(path, params)
        try:
            async with self.http.request(method, url, params=params, data=body,
                                         headers=headers, timeout=self.timeout) as resp:
                if resp.status >= 500:
                    _count(api, -1)
                    raise Transient(api, -1, f"HTTP {resp.status}")
                raw = await resp.read()
        except asyncio.TimeoutError:
            _count(api, -1)
            raise Transient(api, -1, "transport: no answer within the timeout", timed_out=True) from None
        except aiohttp.ClientConnectorError as exc:  # never connected: the request cannot have arrived
            _count(api, -1)
            raise Transient(api, -1, f"transport: {type(exc).__name__}", maybe_sent=False) from None
        except aiohttp.ClientError as exc:
            _count(api, -1)
            raise Transient(api, -1, f"transport: {type(exc).__name__}") from None
        try:
            data = _loads(raw)
        except ValueError:
            _count(api, -1)
            raise Transient(api, -1, "non-JSON answer") from None
        code = int(data.get("errcode", 0) or 0)
        _count(api, code)
        if code == 0:
            return data
        msg = str(data.get("errmsg", ""))
        if code == -1:
            raise Transient(api, code, msg)
        if code in RATE_ERRORS:
            raise RateLimited(api, code, msg)
        raise WeComError(api, code, msg)


# -- per-call helpers (every WeCom call passes here: kept cheap) -----------------------------------
_counters: dict[tuple[str, int], Any] = {}  # (api, errcode) -> its WECOM_CALLS child


def _count(api: str, code: int) -> None:
    """WECOM_CALLS.labels(api, str(code)).inc(), without resolving the labels on every call."""
    child = _counters.get((api, code))
    if child is None:
        if len(_counters) >= 1000:  # aibot response_urls are labels too: keep it bounded
            _counters.clear()
        child = _counters[(api, code)] = WECOM_CALLS.labels(api, str(code))
    child.inc()


def _dumps(body: Any) -> bytes:
    """A request body as UTF-8 JSON; orjson, with the stdlib for what it refuses (ints beyond
    64 bits, keys that are not strings)."""
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(body, ensure_ascii=False).encode()


def _loads(raw: bytes) -> Any:
    """An answer's JSON; orjson, with the stdlib for what it refuses (NaN, lone surrogates)."""
    try:
        return orjson.loads(raw)
    except ValueError:
        return json.loads(raw)
