"""Async WeCom API client: one access token per secret shared through Redis, errcode reactions
(docs/wecom.md §4 and §9)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bot.metrics import WECOM_CALLS
from store.keys import Keys
from store.tokens import Tokens

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40014, 41001, 42001}
REFUSED_SECRET = {40001, 40013, 60020}  # gettoken answers that only a config change can fix
REFUSED_PAUSE = 60  # seconds before anyone asks gettoken again after one of them
LOCAL_TOKEN_SECONDS = 60  # a process reuses the shared token this long before asking Redis again
RATE_ERRORS = {45009, 45033}
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
            body = json.dumps(json_body, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            async with self.http.request(method, self.url(path), params=params, data=body,
                                         headers=headers, timeout=self.timeout) as resp:
                if resp.status >= 500:
                    WECOM_CALLS.labels(api, "-1").inc()
                    raise Transient(api, -1, f"HTTP {resp.status}")
                raw = await resp.read()
        except asyncio.TimeoutError:
            WECOM_CALLS.labels(api, "-1").inc()
            raise Transient(api, -1, "transport: no answer within the timeout", timed_out=True) from None
        except aiohttp.ClientConnectorError as exc:  # never connected: the request cannot have arrived
            WECOM_CALLS.labels(api, "-1").inc()
            raise Transient(api, -1, f"transport: {type(exc).__name__}", maybe_sent=False) from None
        except aiohttp.ClientError as exc:
            WECOM_CALLS.labels(api, "-1").inc()
            raise Transient(api, -1, f"transport: {type(exc).__name__}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            WECOM_CALLS.labels(api, "-1").inc()
            raise Transient(api, -1, "non-JSON answer") from None
        code = int(data.get("errcode", 0) or 0)
        WECOM_CALLS.labels(api, str(code)).inc()
        if code == 0:
            return data
        msg = str(data.get("errmsg", ""))
        if code == -1:
            raise Transient(api, code, msg)
        if code in RATE_ERRORS:
            raise RateLimited(api, code, msg)
        raise WeComError(api, code, msg)
