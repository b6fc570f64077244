"""Declarative handler routing: commands, text patterns, events, scheduled jobs, and a role gate.

Handlers get their dependencies by parameter name (msg, args, match, store, config, role, now, …)
and return a Reply, a list of Replies, None (handled, nothing to say) or SKIP (not mine after all;
the next handler gets a try). The docstring of a command handler is its help line.

A router may also declare outer middlewares (as aiogram's): `async def mw(msg, deps, call_next)`,
called for every message in router order, after the role gate on commands and before any route.
One may answer itself (return replies), pass the message on (`await call_next(msg, deps)`, with
changed deps if it likes), or run the rest of the chain for another message too (a held question).
"""
from __future__ import annotations

import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bot import metrics
from bot.message import Message, Reply

log = logging.getLogger(__name__)

CallNext = Callable[[Message, dict[str, Any]], Awaitable[list[Reply]]]
Middleware = Callable[[Message, dict[str, Any], CallNext], Awaitable[Any]]

PREFIXES = ("/", "／")


class Skip:
    """The type of SKIP: "not mine after all", the next handler gets a try."""

    def __repr__(self) -> str:
        return "SKIP"


SKIP: Final = Skip()
# What a handler returns: one reply, several, None (handled, nothing to say) or SKIP.
Handled = Reply | Sequence[Reply] | None | Skip


@dataclass(frozen=True)
class Route:
    kind: str  # command | text | event | schedule | any
    fn: Callable[..., Awaitable[Any]]
    names: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    roles: frozenset[str] | None = None  # None: everyone; admin always passes
    channels: frozenset[str] | None = None
    params: tuple[str, ...] = ()
    help: str = ""
    feature: str = ""  # metrics label: handlers.<feature>.… of the handler's module
    strict: bool = False  # the bare word is unmistakably this command: refused without a slash too


    def allows(self, role: str) -> bool:
        return self.roles is None or role in self.roles or role == "admin"


def _feature_of(fn: Callable, default: str) -> str:
    """The metrics label of a handler: handlers.<feature>.… of its module."""
    parts = fn.__module__.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "handlers" else default


def _replies(result: Any) -> list[Reply]:
    if result is None or result is SKIP:
        return []
    return list(result) if isinstance(result, (list, tuple)) else [result]


@dataclass
class Router:
    name: str
    routes: list[Route] = field(default_factory=list)
    title: str = ""  # the feature's name in 帮助 (user-facing, so it comes from the feature)
    middlewares: list[Middleware] = field(default_factory=list)

    def outer_middleware(self, fn: Middleware) -> Middleware:
        """Register `fn(msg, deps, call_next)` to see every message before any route (see above)."""
        self.middlewares.append(fn)
        return fn

    def _add(self, kind: str, fn: Callable, **kw: Any) -> Callable:
        params = tuple(inspect.signature(fn).parameters)
        doc = inspect.getdoc(fn) or ""
        feature = _feature_of(fn, self.name)
        self.routes.append(Route(kind, fn, params=params, help=doc.splitlines()[0] if doc else "", feature=feature,
                                 **kw))
        return fn

    def command(self, *names: str, roles: Iterable[str] | None = None, strict: bool = False) -> Callable:
        """A command: `/名字 args`, `／名字 args`, or `名字 args` without a prefix.

        Someone whose role may not use it and who typed the slash is told so, whatever other feature
        would take the line; with `strict` (a word no shopper starts a sentence with, like 改价 or
        开团) the same holds without the slash."""
        def deco(fn: Callable) -> Callable:
            return self._add("command", fn, names=tuple(n.lower() for n in names),
                             roles=frozenset(roles) if roles else None, strict=strict)
        return deco

    def text(self, pattern: str, roles: Iterable[str] | None = None,
             channels: Iterable[str] | None = None) -> Callable:
        def deco(fn: Callable) -> Callable:
            return self._add("text", fn, pattern=re.compile(pattern), roles=frozenset(roles) if roles else None,
                             channels=frozenset(channels) if channels else None)
        return deco

    def any_text(self, roles: Iterable[str] | None = None) -> Callable:
        def deco(fn: Callable) -> Callable:
            return self._add("any", fn, roles=frozenset(roles) if roles else None)
        return deco

    def event(self, *names: str) -> Callable:
        def deco(fn: Callable) -> Callable:
            return self._add("event", fn, names=names)
        return deco

    def schedule(self, *names: str) -> Callable:
        def deco(fn: Callable) -> Callable:
            return self._add("schedule", fn, names=names)
        return deco


def split_command(text: str, names: Iterable[str]) -> tuple[str, str, bool] | None:
    """Match text against command names; returns (name, args, had_prefix) or None.

    Names may be glued to their argument ("/改价草莓 35.9"), so the longest name that starts the
    text wins when a prefix was typed; without a prefix the first word must be the name.
    """
    s = text.strip()
    had_prefix = s.startswith(PREFIXES)
    if had_prefix:
        s = s[1:].lstrip()
    head, _, rest = s.partition(" ")
    low = head.lower()
    names = sorted(names, key=len, reverse=True)
    if low in names:
        return low, rest.strip(), had_prefix
    if had_prefix:
        for n in names:
            if s.lower().startswith(n):
                return n, s[len(n):].strip(), True
    return None


class Dispatcher:
    """Tries routers in priority order; the first matching route whose handler does not SKIP wins."""

    def __init__(self, routers: list[Router]) -> None:
        self.routers = routers
        self.routes = [r for router in routers for r in router.routes]
        self.middlewares = [(m, _feature_of(m, router.name)) for router in routers for m in router.middlewares]
        self.commands: dict[str, list[Route]] = {}  # command name -> its routes, in priority order
        for r in self.routes:
            for n in r.names if r.kind == "command" else ():
                self.commands.setdefault(n, []).append(r)
        self.command_names = list(self.commands)

    def help_lines(self, role: str) -> list[str]:
        return [line for _, lines in self.help_sections(role) for line in lines]

    def help_sections(self, role: str) -> list[tuple[str, list[str]]]:
        """(router title, help lines) in priority order; routers with one title share a section."""
        seen: set[str] = set()
        sections: dict[str, list[str]] = {}
        for router in self.routers:
            for r in router.routes:
                if r.kind in ("command", "text", "any") and r.help and r.allows(role) and r.help not in seen:
                    seen.add(r.help)
                    sections.setdefault(router.title, []).append(r.help)
        return list(sections.items())

    async def dispatch(self, msg: Message, deps: dict[str, Any]) -> list[Reply]:
        started = time.perf_counter()
        feature, replies = await self._dispatch(msg, deps)  # a handler that raises is counted on its retry
        metrics.HANDLED.labels(feature).inc()
        metrics.HANDLER_SECONDS.labels(feature).observe(time.perf_counter() - started)
        return replies

    async def _dispatch(self, msg: Message, deps: dict[str, Any]) -> tuple[str, list[Reply]]:
        """The replies and the feature that gave them (a middleware, or the first route that did not SKIP)."""
        role = deps.get("role", "shopper")
        cmd = self._command(msg)
        if cmd:
            # Refused before any feature sees it: a shopper's "/改价 草莓 1" must not become a 团 order.
            routes = self.commands[cmd[0]]
            if not any(r.allows(role) for r in routes) and (cmd[2] or any(r.strict for r in routes)):
                return routes[0].feature, [Reply("errors/forbidden.txt.j2", command=cmd[0])]
        answered = ["none"]  # the feature the metrics count this message under

        def link(i: int) -> CallNext:
            async def call_next(m: Message, d: dict[str, Any]) -> list[Reply]:
                if i == len(self.middlewares):
                    feature, replies = await self._routes(m, d)
                    if m is msg:
                        answered[0] = feature
                    return replies
                mw, feature = self.middlewares[i]
                result = await mw(m, d, link(i + 1))
                if m is msg and answered[0] == "none" and result:
                    answered[0] = feature  # answered (or held) by the middleware itself
                return _replies(result)
            return call_next

        replies = await link(0)(msg, deps)
        return answered[0], replies

    def _command(self, msg: Message) -> tuple[str, str, bool] | None:
        return split_command(msg.text, self.command_names) if msg.kind == "text" and msg.text else None

    async def _routes(self, msg: Message, deps: dict[str, Any]) -> tuple[str, list[Reply]]:
        """The replies of the first route that did not SKIP, and its feature."""
        role = deps.get("role", "shopper")
        for route, extra in self._candidates(msg, self._command(msg)):
            if not route.allows(role):
                continue
            kwargs = {**deps, **extra, "msg": msg, "dispatcher": self}
            missing = [p for p in route.params if p not in kwargs]
            if missing:
                raise TypeError(f"{route.fn.__qualname__} wants unknown dependency {missing[0]!r}")
            result = await route.fn(**{p: kwargs[p] for p in route.params})
            if result is SKIP:
                continue
            log.debug("%s handled by %s", msg.id, route.fn.__qualname__)
            return route.feature, _replies(result)
        return "none", []

    def _candidates(self, msg: Message, cmd: tuple[str, str, bool] | None):
        if msg.kind == "schedule":
            for r in self.routes:
                if r.kind == "schedule" and msg.event in r.names:
                    yield r, {}
            return
        if msg.kind == "event":
            for r in self.routes:
                if r.kind == "event" and msg.event in r.names:
                    yield r, {}
            return
        text = msg.text or ""
        for r in self.routes:
            if r.kind == "command" and cmd and cmd[0] in r.names:
                yield r, {"args": cmd[1], "command": cmd[0], "had_prefix": cmd[2]}
            elif r.kind == "text" and (r.channels is None or msg.channel in r.channels):
                m = r.pattern.search(text)
                if m:
                    yield r, {"match": m, "args": text}
            elif r.kind == "any":
                yield r, {"args": text}
