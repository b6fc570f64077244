"""The ack path: verify -> decrypt -> parse -> inbox.put (dedupe + XADD, one round trip) -> 200 "".

Nothing here waits on WeCom or runs a handler; WeCom retries after 5 s, we answer in milliseconds.
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot import wecom
from bot.crypto import BadSignature, Crypto, CryptoError
from bot.message import message_json
from bot.appkeys import CONFIG, CRYPTO_AIBOT, CRYPTO_APP, STORE
from bot.server import BodyError, read_body
from store.archive import wake

log = logging.getLogger(__name__)


def _reject(status: int, reason: str, request: web.Request) -> web.Response:
    log.warning("%s %s rejected %d: %s (from %s)", request.method, request.path, status, reason, request.remote)
    return web.Response(status=status, text=reason)


def _query(request: web.Request, *names: str) -> list[str] | None:
    values = [request.query.get(n, "") for n in names]
    return values if all(values) else None


def _stale(request: web.Request, timestamp: str) -> bool:
    skew = request.app[CONFIG].wecom.max_skew_seconds
    try:
        ts = int(timestamp)
    except ValueError:
        return True
    return bool(skew) and abs(time.time() - ts) > skew


async def _verify_get(request: web.Request, crypto: Crypto | None) -> web.Response:
    if crypto is None:
        return _reject(404, "callback not configured", request)
    q = _query(request, "msg_signature", "timestamp", "nonce", "echostr")
    if q is None:
        return _reject(400, "missing query parameters", request)
    sig, ts, nonce, echostr = q
    if _stale(request, ts):  # checked before the signature too: a replayed day-old URL is refused
        return _reject(403, "stale timestamp", request)
    # A raw '+' in the URL arrives as a space after form decoding; base64 never has spaces.
    for candidate in dict.fromkeys((echostr, echostr.replace(" ", "+"))):
        try:
            crypto.verify(sig, ts, nonce, candidate)
            return web.Response(body=crypto.decrypt(candidate), content_type="text/plain")
        except BadSignature:
            continue
        except CryptoError as exc:
            return _reject(400, f"bad echostr: {exc}", request)
    return _reject(403, "bad signature", request)


async def _receive(request: web.Request, *, crypto_key: web.AppKey[Crypto | None],
                   extract: Callable[[bytes], str], parse: Callable[[bytes], dict[str, Any] | None]) -> web.Response:
    crypto = request.app[crypto_key]
    if crypto is None:
        return _reject(404, "callback not configured", request)
    app = request.app
    limit = app[CONFIG].server.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        return _reject(413, "body too large", request)
    q = request.query
    sig, ts, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
    if not (sig and ts and nonce):
        return _reject(400, "missing query parameters", request)
    try:
        body = await read_body(request, limit)
    except BodyError as exc:
        return _reject(exc.status, exc.reason, request)
    try:
        encrypt = extract(body)
    except wecom.BadPayload as exc:
        return _reject(400, str(exc), request)
    try:
        crypto.verify(sig, ts, nonce, encrypt)
    except BadSignature:
        return _reject(403, "bad signature", request)
    if _stale(request, ts):
        return _reject(403, "stale timestamp", request)
    try:
        msg = parse(crypto.decrypt(encrypt))  # the Message's fields: it is stored, never built here
    except (CryptoError, wecom.BadPayload) as exc:
        return _reject(400, f"undecryptable payload: {exc}", request)
    except Exception:  # a payload shape the parser did not foresee is still the sender's fault
        log.exception("%s: payload could not be parsed", request.path)
        return _reject(400, "unparseable payload", request)
    if msg is None:
        log.info("%s: ignoring a message/event type we do not handle", request.path)
        return web.Response(text="")
    if msg.get("event") == "msgaudit_notify":  # new chat-archive messages: wake the reader, nothing to store
        return await _wake_archive(request)
    try:
        added = await app[STORE].inbox.put_batched(msg["conversation"], msg["id"], message_json(msg))
    except Exception:
        # Not stored, so not acked: WeCom will retry.
        log.exception("inbox unavailable; asking WeCom to retry %s", msg["id"])
        return web.Response(status=503, text="busy")
    if added is None:
        log.info("duplicate callback %s ignored", msg["id"])
    return web.Response(text="")


async def _wake_archive(request: web.Request) -> web.Response:
    store = request.app[STORE]
    try:
        await wake(store.r, store.keys, request.app[CONFIG].wecom.corp_id)
    except Exception:
        log.exception("Redis unavailable; asking WeCom to retry msgaudit_notify")
        return web.Response(status=503, text="busy")
    return web.Response(text="")


async def app_get(request: web.Request) -> web.Response:
    return await _verify_get(request, request.app[CRYPTO_APP])


# The POST handlers are _receive itself (a partial): one coroutine less to pass through per callback.
app_post = functools.partial(_receive, crypto_key=CRYPTO_APP, extract=wecom.outer_encrypt, parse=wecom.app_fields)


async def aibot_get(request: web.Request) -> web.Response:
    return await _verify_get(request, request.app[CRYPTO_AIBOT])


aibot_post = functools.partial(_receive, crypto_key=CRYPTO_AIBOT, extract=wecom.outer_encrypt_json,
                               parse=wecom.aibot_fields)


def setup(app: web.Application) -> None:
    app.router.add_get("/wecom/app", app_get)
    app.router.add_post("/wecom/app", app_post)
    app.router.add_get("/wecom/aibot", aibot_get)
    app.router.add_post("/wecom/aibot", aibot_post)
