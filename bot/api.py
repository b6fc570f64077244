"""Admin HTTP API under /api/, guarded by `Authorization: Bearer <[admin] token>`.

The endpoints come from the features (`Feature.api`: bot/feature.py `ApiRoute`), written without
the web framework; this module adapts each to aiohttp: the token check, the body reader with its
size limit and deadline, `BadInput` as a JSON error, JSON with Chinese as written, files.
`GET /api/stats` is the transport's own.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from bot.appkeys import CONFIG, DEPS, STORE
from bot.feature import ApiRequest, ApiResponse, ApiRoute, BadInput
from bot.server import BodyError, read_body, same_secret

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def guarded(handler: Handler) -> Handler:
    """The bearer-token check, on each /api/ route rather than as a middleware every callback pays."""
    @functools.wraps(handler)
    async def check(request: web.Request) -> web.StreamResponse:
        token = request.app[CONFIG].admin.token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not same_secret(given, token):
            log.warning("admin API %s %s refused: bad or missing token (from %s)", request.method, request.path,
                        request.remote)
            return error(401, "unauthorized")
        return await handler(request)
    return check


async def _unknown(request: web.Request) -> web.Response:
    return error(404, "no such endpoint")


def _dumps(obj: Any) -> str:
    """JSON with Chinese as written (store names, 团 products). A query value that was not UTF-8
    arrives with lone surrogates, which cannot be sent as UTF-8; such an answer escapes them."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(obj)
    return text


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON answer; every /api/ response but a file goes through here or `error`."""
    return web.json_response(data, status=status, dumps=_dumps)


def error(status: int, message: str, /, **extra: Any) -> web.Response:
    return reply({"error": message, **extra}, status=status)


def _reader(request: web.Request) -> Callable[[int | None], Awaitable[bytes]]:
    """The body on demand, at most `limit` bytes ([server] max_body_bytes unless the endpoint says)."""
    async def read(limit: int | None = None) -> bytes:
        limit = request.app[CONFIG].server.max_body_bytes if limit is None else limit
        try:
            return await read_body(request, limit)
        except BodyError as exc:
            raise BadInput(exc.status, exc.reason.replace(" ", "_"), limit_bytes=limit) from None
    return read


def _response(result: Any) -> web.Response:
    if not isinstance(result, ApiResponse):
        return reply(result)
    if result.body is not None:
        headers = {"Content-Type": result.content_type}
        if result.filename:
            headers["Content-Disposition"] = f"attachment; filename={result.filename}"
        return web.Response(body=result.body, status=result.status, headers=headers)
    return reply(result.data, status=result.status)


def adapt(route: ApiRoute) -> Handler:
    """One feature endpoint as an aiohttp handler (the token check is added by `setup`)."""
    async def handle(request: web.Request) -> web.Response:
        req = ApiRequest(method=request.method, path=dict(request.match_info), query=request.query,
                         deps=request.app[DEPS], content_type=request.content_type, reader=_reader(request))
        try:
            return _response(await route.handler(req))
        except BadInput as exc:
            return error(exc.status, exc.message, **exc.extra)
    handle.__name__ = handle.__qualname__ = getattr(route.handler, "__name__", "endpoint")
    return handle


async def stats(request: web.Request) -> web.Response:
    store = request.app[STORE]
    return reply({"inbox_pending": await store.inbox.pending_count(),
                  "outbox_pending": await store.outbox.pending_count()})


def setup(app: web.Application, routes: Iterable[ApiRoute]) -> None:
    app.router.add_route("GET", "/api/stats", guarded(stats))
    for route in routes:
        app.router.add_route(route.method, route.path, guarded(adapt(route)))
    # Unknown /api/ paths also need the token first, so they do not reveal which ones exist.
    app.router.add_route("*", "/api/{tail:.*}", guarded(_unknown))
