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


@dataclass(frozen=True)
class ApiRequest:
    """One admin API call, already authenticated and size-checked by the transport."""

    method: str
    path: Mapping[str, str]  # the {name} segments of the route's path
    query: Mapping[str, str]
    body: bytes
    deps: Deps

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
            raise BadInput(400, "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadInput(400, "body must be a JSON object")
        return data


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
    """`qunbot <name> …`: `arguments` adds its options, `run(args, config)` returns the exit code."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Any], int | Awaitable[int]]


@dataclass(frozen=True)
class Feature:
    name: str  # its config section `[name]` and its metrics label
    routers: Sequence[Any] = ()  # bot.router.Router, tried in feature order
    jobs: Sequence[Any] = ()  # bot.scheduler.Job; `[schedule] <job> = "<cron>"` overrides the timing
    settings: type | None = None  # dataclass for `[name]`: unknown keys and wrong types stop the start
    setup: Callable[[Deps], Awaitable[None]] | None = None  # once per process, after Redis and WeCom exist
    teardown: Callable[[Deps], Awaitable[None]] | None = None
    api: Sequence[ApiRoute] = ()
    pages: Sequence[Page] = ()
    cli: Sequence[CliCommand] = ()
    sections: Sequence[str] = ()  # further config sections it reads besides `[name]`
