"""Drafts a staff member may answer with 确认, and which one a bare 确认 means.

Every feature that shows a draft (开团, 结团/撤团 previews, /发券, /停券) `offer`s it under a name
(the words that confirm it by name: "开团", "团6", "C12"). A bare 确认 means the draft shown in the
user's previous exchange only: the latest offer, within [conversation] confirm_minutes, and with no
other message of theirs in that chat since (`interrupted` clears it). Otherwise the 确认 gets the
list of what is pending and how to confirm each by name. A bare 确认 that was routed to a feature is
remembered under its message id, so a redelivery goes the same way.
"""
from __future__ import annotations

import json

from redis.asyncio import Redis

from store.keys import DAY, Keys
from store.lua import bind


class Confirmations:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._interrupt = bind(redis, "confirmations_interrupt")

    async def offer(self, userid: str, name: str, *, feature: str, label: str, conversation: str, msg_id: str,
                    now: float, ttl: int, window: int, **extra) -> None:
        """`feature` just showed `userid` a draft confirmable as `确认 <name>` for `ttl` seconds, and
        with a bare 确认 for `window` seconds."""
        offer = {"name": name, "feature": feature, "label": label, "until": now + ttl, **extra}
        pointer = {"name": name, "feature": feature, "conversation": conversation, "shown_by": msg_id,
                   "used_by": None, "at": now, "window": window}
        key = self.k.confirm_offers(userid)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(key, name, json.dumps(offer, ensure_ascii=False))
            pipe.expire(key, max(ttl, DAY))
            pipe.set(self.k.awaiting_confirm(userid), json.dumps(pointer, ensure_ascii=False), ex=min(window, ttl))
            await pipe.execute()

    async def withdraw(self, userid: str, name: str) -> None:
        """The draft was confirmed, replaced or dropped: it is no longer on offer."""
        await self.r.hdel(self.k.confirm_offers(userid), name)
        raw = await self.r.get(self.k.awaiting_confirm(userid))
        pointer = json.loads(raw) if raw else {}
        if pointer.get("name") == name and pointer.get("used_by") is None:
            await self.r.delete(self.k.awaiting_confirm(userid))

    async def offers(self, userid: str, now: float) -> list[dict]:
        """Every draft still on offer, oldest first."""
        raw = await self.r.hgetall(self.k.confirm_offers(userid))
        live = [json.loads(v) for v in raw.values()]
        return sorted((o for o in live if o["until"] > now), key=lambda o: o["until"])

    async def get(self, userid: str, name: str, now: float) -> dict | None:
        raw = await self.r.hget(self.k.confirm_offers(userid), name)
        offer = json.loads(raw) if raw else None
        return offer if offer and offer["until"] > now else None

    async def interrupted(self, userid: str, conversation: str, msg_id: str) -> None:
        """Another message in the chat where the draft was shown: a bare 确认 no longer means it."""
        await self._interrupt(keys=[self.k.awaiting_confirm(userid)], args=[conversation, msg_id])

    async def route(self, msg_id: str, offer: dict) -> None:
        await self.r.set(self.k.confirm_routed(msg_id), json.dumps(offer, ensure_ascii=False), ex=DAY)

    async def routed(self, msg_id: str) -> dict | None:
        """The draft 确认 message `msg_id` was found to mean (handlers/confirm.py decides once)."""
        raw = await self.r.get(self.k.confirm_routed(msg_id))
        return json.loads(raw) if raw else None

    async def bare(self, userid: str, msg_id: str, now: float) -> dict | None:
        """The draft a bare 确认 (message `msg_id`) means, or None. The first call claims the
        pointer for this message; a redelivery of the same message gets the same answer."""
        key = self.k.awaiting_confirm(userid)
        raw = await self.r.get(key)
        if not raw:
            return None
        d = json.loads(raw)
        if d.get("used_by") not in (None, msg_id):
            return None
        if d.get("used_by") is None:
            if now - float(d.get("at") or 0) > float(d.get("window") or 0):
                return None  # the TTL is the backstop; the stored time is the rule
            d["used_by"] = msg_id
            await self.r.set(key, json.dumps(d, ensure_ascii=False), ex=DAY)  # kept for redeliveries
        return d
