"""Per-conversation Q&A state: when the last hint was given, and the numbered list on offer.

The list is a pending question (store/pending.py): answerable for [conversation] pending_minutes,
by its number only, and dropped by anything else.
"""
from __future__ import annotations

from redis.asyncio import Redis

from store.keys import Keys
from store.pending import Pending

FEATURE = "qa"


class QAState:
    def __init__(self, redis: Redis, keys: Keys, pending: Pending | None = None) -> None:
        self.r, self.k = redis, keys
        self.pending = pending or Pending(redis, keys)  # the Store's, so what the gate primed is seen

    async def may_hint(self, conversation: str, every_seconds: int) -> bool:
        """True at most once per `every_seconds` per conversation, across every replica."""
        if every_seconds <= 0:
            return True
        return bool(await self.r.set(self.k.qa_hint(conversation), "1", nx=True, ex=every_seconds))

    async def offer(self, conversation: str, skus: list[str], attribute: str, *, now: float, ttl: int) -> None:
        """Remember the list just shown, so a bare number picks from it."""
        # The last thing a message does with it: the next message of the conversation reads it.
        await self.pending.ask(conversation, FEATURE, {"skus": skus, "attribute": attribute}, now=now, ttl=ttl,
                               defer=True)

    async def offered(self, conversation: str, msg_id: str, now: float) -> tuple[list[str], str] | None:
        d = await self.pending.get(conversation, FEATURE, msg_id, now)
        if d is None:
            return None
        return list(d.get("skus") or []), str(d.get("attribute") or "")

    async def picked(self, conversation: str, msg_id: str) -> None:
        await self.pending.answered(conversation, FEATURE, msg_id)

    async def withdraw(self, conversation: str) -> None:
        await self.pending.drop(conversation, FEATURE)
