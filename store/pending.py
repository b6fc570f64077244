"""Questions the bot asked and waits to hear answered: "which 团?", a numbered list, which store.

One rule for every feature: a pending question lives `[conversation] pending_minutes`
(the Redis TTL and the stored time both say so, so a restart in between changes nothing); it takes
only a reply that answers it (the feature's acceptor, e.g. bot/answers.choice, decides); anything
else drops it and is read as a fresh message. An answered question is kept, marked with the answering
message id, so a redelivery of that answer takes the same path and the question answers no other.
"""
from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from store.keys import Keys
from store.lua import bind, later

PRIMED_SECONDS = 5.0  # one message's handling, with room for a slow WeCom call in between
PRIMED_MAX = 4096  # conversations handled at once by one process, with a wide margin


class Pending:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._set_ex = bind(redis, "set_ex")
        # (conversation, feature) -> (message id, monotonic time, raw record): read for that message
        # with the gate's other reads (`prime`), answered once to `get` for the same message.
        self._primed: dict[tuple[str, str], tuple[str, float, bytes | str | None]] = {}

    def prime(self, conversation: str, msg_id: str, raws: dict[str, bytes | str | None]) -> None:
        """Records of `conversation` just read (feature -> raw value of `key(conversation, feature)`)
        in a round trip made anyway for message `msg_id`; `get`/`record` for that message take them
        instead of reading again. A conversation's messages are handled one at a time, in order, and
        every write here drops what was primed, so what is taken is what Redis holds."""
        if len(self._primed) > PRIMED_MAX:
            self._primed.clear()
        at = time.monotonic()
        for feature, raw in raws.items():
            self._primed[(conversation, feature)] = (msg_id, at, raw)

    def take_primed(self, conversation: str, feature: str, msg_id: str) -> tuple[bool, bytes | str | None]:
        """(True, raw record) when the gate primed it for this message, once; else (False, None)."""
        hit = self._primed.pop((conversation, feature), None)
        if hit is None or hit[0] != msg_id or time.monotonic() - hit[1] > PRIMED_SECONDS:
            return False, None
        return True, hit[2]

    async def record(self, conversation: str, feature: str, msg_id: str) -> dict | None:
        """The raw pending record (read it with `usable`), primed or read now."""
        primed, raw = self.take_primed(conversation, feature, msg_id)
        if not primed:
            raw = await self.r.get(self.k.pending(conversation, feature))
        return json.loads(raw) if raw else None

    async def ask(self, conversation: str, feature: str, data: dict, *, now: float, ttl: int,
                  defer: bool = False) -> None:
        """`defer`: written with the message's ack (store/lua.py `later`), for a question nothing
        reads before the conversation's next message."""
        record = {"data": data, "at": now, "ttl": ttl}
        raw = json.dumps(record, ensure_ascii=False)
        self._primed.pop((conversation, feature), None)
        if defer:
            await later(self.r, [self._set_ex.call([self.k.pending(conversation, feature)], [raw, ttl])])
        else:
            await self.r.set(self.k.pending(conversation, feature), raw, ex=ttl)

    async def get(self, conversation: str, feature: str, msg_id: str, now: float) -> dict | None:
        """The question this message may answer: unanswered and not expired, or answered by this
        same message (a redelivery). None otherwise."""
        return usable(await self.record(conversation, feature, msg_id), msg_id, now)

    async def answered(self, conversation: str, feature: str, msg_id: str) -> None:
        """Mark the question answered by `msg_id` (keeps its remaining TTL)."""
        key = self.k.pending(conversation, feature)
        self._primed.pop((conversation, feature), None)
        raw = await self.r.get(key)
        if raw:
            record = json.loads(raw)
            record["used_by"] = msg_id
            await self.r.set(key, json.dumps(record, ensure_ascii=False), keepttl=True)

    async def drop(self, conversation: str, feature: str) -> None:
        self._primed.pop((conversation, feature), None)
        await self.r.delete(self.k.pending(conversation, feature))


def usable(record: dict | None, msg_id: str, now: float) -> dict | None:
    """The question's data if message `msg_id` may answer it (for callers that read the record in
    a pipeline of their own, e.g. handlers/groupbuy/context.pending_and_version)."""
    if not record:
        return None
    used = record.get("used_by")
    if used is not None:
        return record["data"] if used == msg_id else None
    if now - float(record.get("at") or 0) > float(record.get("ttl") or 0):
        return None  # the TTL is the backstop; the stored time is the rule
    return record["data"]
