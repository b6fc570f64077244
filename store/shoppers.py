"""Shopper conversation state: where a kf shopper came from (scene), which store they chose, the
last lines they wrote, and whether a guide has taken the conversation over (handoff).

A conversation is "kf:<open_kfid>:<external_userid>"; all its keys share one hash tag. Handoff
numbers and a guide's list of handoffs live outside it and are written after the conversation's
own state, idempotently, so a redelivered message changes nothing twice.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from store.keys import Keys, RetentionSettings
from store.lua import Call, bind

DAY = 86400
CTX_TTL = 90 * DAY  # a shopper who comes back within a quarter keeps their store choice
LINES_TTL = 2 * DAY  # beyond kf's 48 h reply window the lines are of no use to a guide


@dataclass(frozen=True)
class Conversation:
    scene: str = ""
    scene_param: str = ""
    scene_at: int = 0
    chosen: str = ""  # store the shopper picked when asked
    asked: bool = False


@dataclass(frozen=True)
class Handoff:
    conversation: str
    ticket: int
    guides: tuple[str, ...]
    store_id: str
    since: int


@dataclass(frozen=True)
class Snapshot:
    """What a shopper message needs to know about its conversation, read in one round trip."""

    conversation: Conversation
    handoff: Handoff | None
    groups: dict[str, int]  # known customer groups the shopper is in -> join time
    name: str | None  # cached nickname ("" = WeCom had none lately); None = not cached
    line_added: bool | None = None  # add_line's answer, when a line was given
    pending: dict[str, bytes | None] = field(default_factory=dict)  # feature -> its raw pending record


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class ShopperState:
    def __init__(self, redis: Redis, keys: Keys, retention: RetentionSettings = RetentionSettings()) -> None:
        self.r, self.k = redis, keys
        self.contact_ttl = retention.customer_days * DAY  # refreshed on every write and lookup
        self._scene = bind(redis, "shoppers_scene")
        self._line = bind(redis, "shoppers_line")

    # -- context -----------------------------------------------------------------------------------
    async def conversation(self, conversation: str) -> Conversation:
        return _conversation(await self.r.hgetall(self.k.shopper(conversation, "ctx")))

    async def snapshot(self, conversation: str, user: str, line: tuple[str, int, str, int] | None = None,
                       pending: Sequence[str] = ()) -> Snapshot:
        """The conversation's state, its handoff, the shopper's groups and cached nickname, in one
        pipelined round trip; with `line` (msg id, at, text, keep) it also records the line first,
        as add_line does. An empty `conversation` ("" open_kfid) reads as no state and no handoff.
        `pending`: features whose pending question of the conversation (store/pending.py) is read
        too (raw, in Snapshot.pending)."""
        pending = pending if conversation else ()
        async with self.r.pipeline(transaction=False) as pipe:
            if line is not None:
                call = self._line.call(*self._line_call(conversation, *line)).queue(pipe)
            if conversation:
                pipe.hgetall(self.k.shopper(conversation, "ctx"))
                pipe.get(self.k.shopper(conversation, "ho"))
            pipe.hgetall(self.k.member_groups(user))
            pipe.get(self.k.kf_name(user))
            for feature in pending:
                pipe.get(self.k.pending(conversation, feature))
            res = await pipe.execute(raise_on_error=False)
        asks = dict(zip(pending, res[len(res) - len(pending):]))
        if pending:
            del res[len(res) - len(pending):]
        added = None
        if line is not None:
            added = await call.settle(self.r, res.pop(0)) == 1
        for r in res:
            if isinstance(r, Exception):
                raise r
        ctx, ho = (_conversation(res.pop(0)), _handoff(conversation, res.pop(0))) if conversation else (
            Conversation(), None)
        groups = {_text(k): int(v) for k, v in res[0].items()}
        return Snapshot(ctx, ho, groups, None if res[1] is None else _text(res[1]), added, asks)

    def set_scene_call(self, conversation: str, scene: str, scene_param: str, at: int) -> Call:
        """Record where the shopper came from (a call for KfState.record_page)."""
        return self._scene.call([self.k.shopper(conversation, "ctx")], [scene, scene_param, at, CTX_TTL])

    async def choose_store(self, conversation: str, store_id: str) -> None:
        key = self.k.shopper(conversation, "ctx")
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(key, "chosen", store_id)
            pipe.expire(key, CTX_TTL)
            pipe.delete(self.k.shopper(conversation, "pending"))
            await pipe.execute()

    async def ask_once(self, conversation: str, pending: str, ttl: int = 300) -> bool:
        """Claim the one store question of this conversation, keeping the message that prompted it
        while the question may be answered ([conversation] pending_minutes)."""
        key = self.k.shopper(conversation, "ctx")
        if not await self.r.hsetnx(key, "asked", "1"):
            return False
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.expire(key, CTX_TTL)
            pipe.set(self.k.shopper(conversation, "pending"), pending, ex=ttl)
            await pipe.execute()
        return True

    async def pending(self, conversation: str) -> str | None:
        v = await self.r.get(self.k.shopper(conversation, "pending"))
        return v.decode() if v else None

    async def drop_pending(self, conversation: str) -> None:
        await self.r.delete(self.k.shopper(conversation, "pending"))

    # -- recent lines (what a guide sees on handoff) ----------------------------------------------
    async def add_line(self, conversation: str, msg_id: str, at: int, text: str, keep: int) -> bool:
        keys, args = self._line_call(conversation, msg_id, at, text, keep)
        return await self._line(keys=keys, args=args) == 1

    def _line_call(self, conversation: str, msg_id: str, at: int, text: str, keep: int) -> tuple[list, list]:
        line = json.dumps({"id": msg_id, "at": at, "text": text}, ensure_ascii=False)
        return [self.k.shopper(conversation, "lines")], [json.dumps(msg_id), line, keep, LINES_TTL]

    async def lines(self, conversation: str, n: int) -> list[dict]:
        raw = await self.r.lrange(self.k.shopper(conversation, "lines"), 0, n - 1)
        return [json.loads(v) for v in reversed(raw)]

    # -- customers added as WeCom contacts --------------------------------------------------------
    async def add_contact(self, external_userid: str, store_id: str, guide: str, at: int) -> None:
        key = self.k.customer(external_userid)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"store": store_id, "guide": guide, "at": at})
            pipe.expire(key, self.contact_ttl)
            await pipe.execute()

    async def contact(self, external_userid: str) -> dict[str, str]:
        key = self.k.customer(external_userid)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, self.contact_ttl)  # a customer who keeps writing is kept
            raw, _ = await pipe.execute()
        return {k.decode(): v.decode() for k, v in raw.items()}

    # -- handoff -------------------------------------------------------------------------------------
    async def handoff(self, conversation: str) -> Handoff | None:
        return _handoff(conversation, await self.r.get(self.k.shopper(conversation, "ho")))

    async def start_handoff(self, conversation: str, guides: list[str], store_id: str, now: int,
                            ttl: int) -> tuple[Handoff, bool]:
        """(handoff, started). An active handoff is returned as it is (a second 人工 changes nothing)."""
        current = await self.handoff(conversation)
        if current is not None:
            return current, False
        ticket = int(await self.r.incr(self.k.handoff_seq()))
        doc = {"ticket": ticket, "guides": guides, "store": store_id, "since": now}
        if not await self.r.set(self.k.shopper(conversation, "ho"), json.dumps(doc), nx=True, ex=ttl):
            current = await self.handoff(conversation)  # a concurrent start won; use it
            if current is not None:
                return current, False
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.set(self.k.handoff_ticket(ticket), conversation, ex=ttl + DAY)
            for g in guides:
                pipe.zadd(self.k.handoff_guide(g), {str(ticket): now})
                pipe.zremrangebyscore(self.k.handoff_guide(g), "-inf", f"({now - ttl - DAY}")  # timed out long ago
                pipe.expire(self.k.handoff_guide(g), ttl + DAY)
            await pipe.execute()
        return Handoff(conversation, ticket, tuple(guides), store_id, now), True

    async def touch_handoff(self, conversation: str, ttl: int) -> bool:
        return bool(await self.r.expire(self.k.shopper(conversation, "ho"), ttl))

    async def end_handoff(self, conversation: str) -> Handoff | None:
        """End it; returns what ended, or None when it was not active (already ended or timed out)."""
        current = await self.handoff(conversation)
        if current is None:
            return None
        if not await self.r.delete(self.k.shopper(conversation, "ho")):
            return None  # a concurrent /结束 got there first
        async with self.r.pipeline(transaction=False) as pipe:
            for g in current.guides:
                pipe.zrem(self.k.handoff_guide(g), str(current.ticket))
            await pipe.execute()
        return current

    async def ticket_conversation(self, ticket: int) -> str | None:
        v = await self.r.get(self.k.handoff_ticket(ticket))
        return v.decode() if v else None

    async def guide_tickets(self, guide: str) -> list[int]:
        """The guide's handoff numbers, newest first (some may have timed out meanwhile)."""
        return [int(t) for t in await self.r.zrevrange(self.k.handoff_guide(guide), 0, 49)]


def _conversation(raw: dict) -> Conversation:
    raw = {_text(k): _text(v) for k, v in raw.items()}
    return Conversation(scene=raw.get("scene", ""), scene_param=raw.get("scene_param", ""),
                        scene_at=int(raw.get("scene_at") or 0), chosen=raw.get("chosen", ""),
                        asked=raw.get("asked") == "1")


def _handoff(conversation: str, raw: bytes | str | None) -> Handoff | None:
    if not raw:
        return None
    d = json.loads(raw)
    return Handoff(conversation, int(d["ticket"]), tuple(d["guides"]), d["store"], int(d["since"]))
