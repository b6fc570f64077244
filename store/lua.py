"""Lua scripts from store/lua/*.lua: shared fragments included, SHA cached, EVALSHA with a NOSCRIPT fallback.

A script file may pull in a fragment with a line `--#include <name>` (store/lua/<name>.lua, itself
able to include others; each fragment once per script). The SHA is computed here from the final
text, so a call is one EVALSHA; a server that does not know the script yet (first use, a restart,
another cluster node) answers NOSCRIPT, and the call is made once more with EVAL, which also caches
it there. Nothing asks SCRIPT EXISTS first.

On a Redis Cluster a script may only touch keys of one hash slot. `check_slots(True)` (the test
suite turns it on) makes every call compute the slot of each of its KEYS and raise `CrossSlot`
when they differ, so a test that runs a multi-slot script fails on a single Redis too.
"""
from __future__ import annotations

import contextvars
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from redis.crc import key_slot
from redis.exceptions import NoScriptError

HERE = Path(__file__).parent / "lua"
_INCLUDE = re.compile(r"^--#include\s+([\w-]+)\s*$", re.M)
_check = False


class CrossSlot(AssertionError):
    """A script call or transaction whose keys live in more than one cluster hash slot."""


def check_slots(on: bool) -> None:
    """Refuse (True) or allow (False) calls whose keys span hash slots; off in production."""
    global _check
    _check = on


def slots_checked() -> bool:
    """Whether check_slots(True) is on (so a hot path can skip building the key list for same_slot)."""
    return _check


def slot_of(key: str | bytes) -> int:
    return key_slot(key.encode() if isinstance(key, str) else key)


def same_slot(keys: Sequence[str | bytes], what: str) -> None:
    """Raise CrossSlot when the guard is on and `keys` are not all in one hash slot."""
    if not _check or len(keys) < 2:
        return
    slots = {slot_of(k) for k in keys}
    if len(slots) > 1:
        raise CrossSlot(f"{what} touches {len(slots)} hash slots: {[k for k in keys]}")


@cache
def source(name: str) -> str:
    """The text of store/lua/<name>.lua with its includes expanded."""
    return _expand(name, set())


def _expand(name: str, seen: set[str]) -> str:
    if name in seen:
        return ""  # a fragment is included once per script
    seen.add(name)
    text = (HERE / f"{name}.lua").read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: _expand(m.group(1), seen), text)


@dataclass(frozen=True)
class Script:
    """One script, not bound to a client: `await s(redis, keys, args)` or `s.queue(pipe, ...)`."""

    name: str
    text: str
    sha: str

    async def __call__(self, redis: Any, keys: Sequence, args: Sequence = ()) -> Any:
        same_slot(keys, self.name)
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.eval(self.text, len(keys), *keys, *args)

    def queue(self, pipe: Any, keys: Sequence, args: Sequence = ()) -> "Call":
        """Add an EVALSHA to a (non-transactional) pipeline; pass its reply to `Call.settle`."""
        same_slot(keys, self.name)
        pipe.evalsha(self.sha, len(keys), *keys, *args)
        return Call(self, list(keys), list(args))


@dataclass(frozen=True)
class Call:
    """A script call with its arguments, e.g. queued on a pipeline or handed to one."""

    script: Script
    keys: list
    args: list

    async def settle(self, redis: Any, reply: Any) -> Any:
        """The call's reply from a pipeline run with raise_on_error=False: NOSCRIPT runs it again
        with EVAL (a pipeline never loads scripts itself); any other error is raised."""
        if isinstance(reply, NoScriptError):
            return await redis.eval(self.script.text, len(self.keys), *self.keys, *self.args)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def queue(self, pipe: Any) -> "Call":
        return self.script.queue(pipe, self.keys, self.args)

    async def run(self, redis: Any) -> Any:
        return await self.script(redis, self.keys, self.args)


@cache
def script(name: str) -> Script:
    text = source(name)
    return Script(name, text, hashlib.sha1(text.encode()).hexdigest())


class Bound:
    """A script bound to a client, called like redis-py's Script: `await s(keys=[...], args=[...])`."""

    def __init__(self, redis: Any, name: str) -> None:
        self.redis, self.script = redis, script(name)

    @property
    def sha(self) -> str:
        return self.script.sha

    async def __call__(self, keys: Sequence = (), args: Sequence = ()) -> Any:
        return await self.script(self.redis, keys, args)

    def call(self, keys: Sequence, args: Sequence = ()) -> Call:
        """The call, to be queued on a pipeline (`Call.queue`) and settled from its reply."""
        return Call(self.script, list(keys), list(args))


def bind(redis: Any, name: str) -> Bound:
    return Bound(redis, name)


# Writes that may wait for the ack of the inbox entry being handled: the worker sets this to the
# entry's staged list (bot/worker.py) while its handlers run; see `later`.
DEFERRED: contextvars.ContextVar[list | None] = contextvars.ContextVar("deferred_writes", default=None)


async def later(redis: Any, calls: Sequence[Call]) -> None:
    """Run `calls` now, or, while an inbox entry is being handled, stage them to run in the round
    trip that stores its replies, before its XACK (store/streams.py ack): no round trip of their own.

    Only for writes that nothing reads while the same message is still being handled, and that are
    idempotent, so they may be lost with a handling that fails (the entry is not acked, and the
    retry writes them again) and may be written twice. The XACK follows only once every staged
    write has succeeded, so an acked message has had all of them written."""
    staged = DEFERRED.get()
    if staged is None:
        await run_all(redis, calls)
    else:
        staged.extend(calls)


async def run_all(redis: Any, calls: Sequence[Call]) -> list:
    """Several script calls (any slots) in one pipelined round trip; their replies, in order."""
    if not calls:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for c in calls:
            c.queue(pipe)
        res = await pipe.execute(raise_on_error=False)
    return [await c.settle(redis, r) for c, r in zip(calls, res)]
