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
from bot.server import BodyError, read_body

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
        # Header bytes that are not UTF-8 arrive as lone surrogates; surrogateescape turns them back
        # into the bytes sent, which then simply do not match.
        if not token or not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
            log.warning("admin API %s %s refused: bad or missing token (from %s)", request.method, request.path,
                        request.remote)
            return error(401, "unauthorized")
        return await handler(request)
    return check


async def _unknown(request: web.Request) -> web.Response:
    return error(404, "no such endpoint")


def _dumps(obj) -> str:
    """JSON with Chinese as written (store names, 团 products). A query value that was not UTF-8
    arrives with lone surrogates, which cannot be sent as UTF-8; such an answer escapes them."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(obj)
    return text


def reply(data, status: int = 200) -> web.Response:
    """A JSON answer; every /api/ response goes through here or `error`."""
    return web.json_response(data, status=status, dumps=_dumps)


def error(status: int, message: str, /, **extra) -> web.Response:
    return reply({"error": message, **extra}, status=status)


class BadInput(web.HTTPException):
    """Raised by the readers below: the JSON error answer, already built."""

    def __init__(self, status: int, message: str, /, **extra) -> None:
        self.status_code = status
        super().__init__(text=_dumps({"error": message, **extra}), content_type="application/json")


async def read_json(request: web.Request) -> dict:
    """The request body as a JSON object, or a 4xx that says what is wrong (413, 408, 400)."""
    limit = request.app[CONFIG].server.max_body_bytes
    try:
        raw = await read_body(request, limit)
    except BodyError as exc:
        raise BadInput(exc.status, exc.reason.replace(" ", "_"), limit_bytes=limit) from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise BadInput(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadInput(400, "body must be a JSON object")
    return data


def path_id(request: web.Request, name: str = "id", max_digits: int = 12) -> int:
    """A numeric path segment ({id}), or a 400: only ASCII digits, and few enough to be an id."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= max_digits):
        raise BadInput(400, f"{name} must be a number of at most {max_digits} digits", got=raw[:40])
    return int(raw)


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A numeric query parameter clamped to [low, high], or a 400 when it is not a plain number."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise BadInput(400, f"{name} must be a whole number from {low} to {high}", got=raw[:40])
    return max(low, min(high, int(raw)))


def setup(app: web.Application) -> None:
    import bot.api_routes  # noqa: F401  (feature endpoints register on import)
    for method, path, fn in ROUTES:
        app.router.add_route(method, path, guarded(fn))
    # Unknown /api/ paths also need the token first, so they do not reveal which ones exist.
    app.router.add_route("*", "/api/{tail:.*}", guarded(_unknown))
