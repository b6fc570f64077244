"""The feature contract: everything a package in handlers/ gives the app.

A feature is one package exposing `feature = Feature(...)`; handlers/__init__.py lists the features
once, in priority order, and the app, the admin API, the console, the CLI, the scheduler and the
config loader read everything from that list. bot/ imports no feature module itself.

Feature code stays free of the web framework and of Redis clients: an admin endpoint or a console
page is a plain async function over an `ApiRequest` / `PageRequest` that returns data, and the
transport (bot/api.py, bot/console/) turns it into HTTP. The same function then serves a test, the
API and the console, so a page and the API's JSON cannot disagree.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Deps = dict[str, Any]  # store, config, api, sender, emit, … (see bot/app.py services)


class BadInput(Exception):
    """A request that cannot be served as sent: becomes `{"error": message, **extra}` with `status`."""

    def __init__(self, status: int, message: str, /, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


BodyReader = Callable[[int | None], Awaitable[bytes]]  # limit in bytes (None: [server] max_body_bytes)


@dataclass(frozen=True)
class ApiRequest:
    """One admin API call, already authenticated by the transport.

    The body is read on demand (`await req.read()`, `await req.json()`), so an endpoint checks its
    query first and a large upload is refused before it is read; the transport's reader enforces
    the byte limit and the body deadline and raises BadInput (413, 408, 400) itself.
    """

    method: str
    path: Mapping[str, str]  # the {name} segments of the route's path
    query: Mapping[str, str]
    deps: Deps
    content_type: str = ""
    body: bytes = b""  # the body when no reader is given (tests, the console calling an endpoint)
    reader: BodyReader | None = None

    @property
    def config(self) -> Any:
        return self.deps["config"]

    @property
    def store(self) -> Any:
        return self.deps["store"]

    async def read(self, limit: int | None = None) -> bytes:
        if self.reader is not None:
            return await self.reader(limit)
        if limit is not None and len(self.body) > limit:
            raise BadInput(413, "body_too_large", limit_bytes=limit)
        return self.body

    async def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 that says what is wrong."""
        raw = await self.read()
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
            raise BadInput(400, "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadInput(400, "body must be a JSON object")
        return data

    def path_id(self, name: str = "id", max_digits: int = 12) -> int:
        """A numeric path segment ({id}), or a 400: only ASCII digits, and few enough to be an id."""
        raw = self.path[name]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= max_digits):
            raise BadInput(400, f"{name} must be a number of at most {max_digits} digits", got=raw[:40])
        return int(raw)

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        """A numeric query parameter clamped to [low, high], or a 400 when it is not a plain number."""
        raw = self.query.get(name)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            raise BadInput(400, f"{name} must be a whole number from {low} to {high}", got=raw[:40])
        return max(low, min(high, int(raw)))


@dataclass(frozen=True)
class ApiResponse:
    """What an endpoint returns when plain JSON with status 200 is not enough (a status, a file)."""

    data: Any = None
    status: int = 200
    body: bytes | None = None  # a file (XLSX, CSV): sent as is with content_type and filename
    content_type: str = "application/json"
    filename: str = ""


ApiHandler = Callable[[ApiRequest], Awaitable[Any]]  # returns JSON-able data or an ApiResponse


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # under /api/, with {name} segments
    handler: ApiHandler


@dataclass(frozen=True)
class PageRequest:
    """One console page view by a signed-in user (the transport did sign-in, CSRF and role checks)."""

    path: Mapping[str, str]
    query: Mapping[str, str]
    form: Mapping[str, str]  # a POST's fields, CSRF-checked; empty for GET
    user: str  # WeCom userid, or "admin" for the engineer's token sign-in
    role: str  # guide | buyer | admin
    stores: tuple[str, ...]  # the stores this user may see (every store for buyers and admin)
    deps: Deps


@dataclass(frozen=True)
class PageResult:
    template: str  # under templates/console/
    context: dict[str, Any] = field(default_factory=dict)
    redirect: str = ""  # after a POST: where to go instead of rendering
    body: bytes | None = None  # an export (XLSX/CSV) instead of a page
    content_type: str = ""
    filename: str = ""


@dataclass(frozen=True)
class Page:
    path: str  # under /console/, with {name} segments
    handler: Callable[[PageRequest], Awaitable[PageResult]]
    roles: frozenset[str]
    menu: str = ""  # the template key of its menu entry; "" keeps it out of the menu
    methods: tuple[str, ...] = ("GET",)


@dataclass(frozen=True)
class CliCommand:
    """`qunbot <name> …`: `arguments` adds its options, `run(args, config)` returns the exit code.

    `config` is a function that loads the checked config (exit 2 with the key named when it is
    wrong): a command that can work without one (`qunbot ask --catalog F`) does not call it."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Callable[[], Any]], int | Awaitable[int]]


@dataclass(frozen=True)
class Feature:
    name: str  # its config section `[name]` and its metrics label
    routers: Sequence[Any] = ()  # bot.router.Router, tried in feature order
    # Catch-alls (a router that answers whatever reaches it): tried after every feature's `routers`,
    # in feature order, so a feature appended to the list still gets its commands.
    fallbacks: Sequence[Any] = ()
    jobs: Sequence[Any] = ()  # bot.scheduler.Job; `[schedule] <job> = "<cron>"` overrides the timing
    # A dataclass for `[name]` (bot.config.feature_settings): an unknown key or a wrong type stops the
    # start; handlers get the instance as the dependency `<name>_settings`. None: `[name]` must be empty.
    settings: type | None = None
    setup: Callable[[Deps], Awaitable[None]] | None = None  # once per process, after Redis and WeCom exist
    teardown: Callable[[Deps], Awaitable[None]] | None = None
    api: Sequence[ApiRoute] = ()
    pages: Sequence[Page] = ()
    cli: Sequence[CliCommand] = ()
    sections: Sequence[str] = ()  # further config sections it reads besides `[name]`


# -- reading the list ---------------------------------------------------------------------------
# The app, the CLI and the scheduler call these with handlers.FEATURES (or a test's own list).

def routers(features: Sequence[Feature]) -> list[Any]:
    """Every router in the order the dispatcher tries them: the features' routers in list order,
    then their fallbacks in list order."""
    return [r for f in features for r in f.routers] + [r for f in features for r in f.fallbacks]


def jobs(features: Sequence[Feature]) -> list[Any]:
    return [j for f in features for j in f.jobs]


def api_routes(features: Sequence[Feature]) -> list[ApiRoute]:
    return [r for f in features for r in f.api]


def cli_commands(features: Sequence[Feature]) -> list[CliCommand]:
    return [c for f in features for c in f.cli]


async def setup(features: Sequence[Feature], deps: Deps) -> None:
    """Each feature's setup in list order: a later feature may plug into an earlier one's service
    (the shopper channel first, then the features adding scene resolvers and welcome lines)."""
    for f in features:
        if f.setup is not None:
            await f.setup(deps)


async def teardown(features: Sequence[Feature], deps: Deps) -> None:
    """In reverse order, so nothing a feature still uses is gone before it."""
    for f in reversed(features):
        if f.teardown is not None:
            await f.teardown(deps)


def check_unique(features: Sequence[Feature]) -> None:
    """Two features of one name would share a config section, metrics label and job namespace."""
    seen: dict[str, Feature] = {}
    for f in features:
        if f.name in seen:
            raise ValueError(f"two features are named {f.name!r}")
        seen[f.name] = f
    names = [j.name for j in jobs(features)]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"two jobs are named {dup[0]!r}")
