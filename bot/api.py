"""Admin HTTP API under /api/, guarded by `Authorization: Bearer <[admin] token>`.

Feature endpoints register here through `ROUTES` (method, path, handler) from their own modules.
"""
from __future__ import annotations

import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.appkeys import CONFIG

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTES: list[tuple[str, str, Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        ROUTES.append((method, path, fn))
        return fn
    return deco


def guarded(handler: Handler) -> Handler:
    """The bearer-token check, on each /api/ route rather than as a middleware every callback pays."""
    @functools.wraps(handler)
    async def check(request: web.Request) -> web.StreamResponse:
        token = request.app[CONFIG].admin.token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            log.warning("admin API %s %s refused: bad or missing token (from %s)", request.method, request.path,
                        request.remote)
            return web.json_response({"error": "unauthorized"}, status=401)
        return await handler(request)
    return check


async def _unknown(request: web.Request) -> web.Response:
    return web.json_response({"error": "no such endpoint"}, status=404)


async def read_json(request: web.Request) -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body is not valid JSON"}),
                                 content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be a JSON object"}),
                                 content_type="application/json")
    return data


def error(status: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def setup(app: web.Application) -> None:
    import bot.api_routes  # noqa: F401  (feature endpoints register on import)
    for method, path, fn in ROUTES:
        app.router.add_route(method, path, guarded(fn))
    # Unknown /api/ paths also need the token first, so they do not reveal which ones exist.
    app.router.add_route("*", "/api/{tail:.*}", guarded(_unknown))
