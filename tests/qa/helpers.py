"""Driving Q&A through the real wiring: kf shoppers, guides in WeCom, the demand of a day."""
from __future__ import annotations

import time

from bot.message import Message
from handlers.digest import demand_day
from tests.coupons.helpers import kf_message, shopper_says  # noqa: F401  (re-exported for the tests)


async def day_signals(h, now: float | None = None) -> list[dict]:
    return await h.store.demand.day(demand_day(h.config, now or time.time()))


async def demand(h, kind: str, store: str, item: str, now: float | None = None) -> dict | None:
    """The day's demand signal for (kind, store, item), or None."""
    for s in await day_signals(h, now):
        if (s["kind"], s["store"], s["item"]) == (kind, store, item):
            return s
    return None


def group_line(user: str, text: str, chat: str = "wrGroupA", msg_id: str | None = None) -> Message:
    """A customer's line in a customer group, as 会话内容存档 would deliver it."""
    return Message(id=msg_id or f"archive:{user}:{time.monotonic_ns()}", channel="archive", conversation=chat,
                   sender=user, sender_kind="customer", text=text, chat_id=chat, chat_type="group",
                   time=int(time.time()))


async def dispatch(h, msg: Message, role: str = "shopper") -> list:
    """The replies the real dispatcher gives (for channels the fake WeCom cannot show)."""
    return await h.worker.dispatcher.dispatch(msg, {**h.deps, "role": role, "now": time.time()})
