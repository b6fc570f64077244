"""Questions the bot asked and waits to hear answered: "which 团?", a numbered list, which store.

One rule for every feature: a pending question lives `[conversation] pending_minutes`
(the Redis TTL and the stored time both say so, so a restart in between changes nothing); it takes
only a reply that answers it (the feature's acceptor, e.g. bot/answers.choice, decides); anything
else drops it and is read as a fresh message. An answered question is kept, marked with the answering
message id, so a redelivery of that answer takes the same path and the question answers no other.
"""
from __future__ import annotations

import json

from redis.asyncio import Redis

from store.keys import Keys


class Pending:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys

    async def ask(self, conversation: str, feature: str, data: dict, *, now: float, ttl: int) -> None:
        record = {"data": data, "at": now, "ttl": ttl}
        await self.r.set(self.k.pending(conversation, feature), json.dumps(record, ensure_ascii=False), ex=ttl)

    async def get(self, conversation: str, feature: str, msg_id: str, now: float) -> dict | None:
        """The question this message may answer: unanswered and not expired, or answered by this
        same message (a redelivery). None otherwise."""
        raw = await self.r.get(self.k.pending(conversation, feature))
        return usable(json.loads(raw) if raw else None, msg_id, now)

    async def answered(self, conversation: str, feature: str, msg_id: str) -> None:
        """Mark the question answered by `msg_id` (keeps its remaining TTL)."""
        key = self.k.pending(conversation, feature)
        raw = await self.r.get(key)
        if raw:
            record = json.loads(raw)
            record["used_by"] = msg_id
            await self.r.set(key, json.dumps(record, ensure_ascii=False), keepttl=True)

    async def drop(self, conversation: str, feature: str) -> None:
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
