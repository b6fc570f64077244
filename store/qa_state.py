"""Per-conversation Q&A state: when the last hint was given, and the numbered list on offer."""
from __future__ import annotations

import json

from redis.asyncio import Redis

from store.keys import Keys


class QAState:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys

    async def may_hint(self, conversation: str, every_seconds: int) -> bool:
        """True at most once per `every_seconds` per conversation, across every replica."""
        if every_seconds <= 0:
            return True
        return bool(await self.r.set(self.k.qa_hint(conversation), "1", nx=True, ex=every_seconds))

    async def offer(self, conversation: str, skus: list[str], attribute: str, ttl: int) -> None:
        """Remember the list just shown, so a bare number picks from it."""
        await self.r.set(self.k.qa_pick(conversation), json.dumps({"skus": skus, "attribute": attribute}),
                         ex=max(1, ttl))

    async def offered(self, conversation: str) -> tuple[list[str], str] | None:
        raw = await self.r.get(self.k.qa_pick(conversation))
        if not raw:
            return None
        d = json.loads(raw)
        return list(d.get("skus") or []), str(d.get("attribute") or "")

    async def withdraw(self, conversation: str) -> None:
        await self.r.delete(self.k.qa_pick(conversation))
