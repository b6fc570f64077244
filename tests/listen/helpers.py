"""Archived customer-group lines through the real inbox, worker and routers."""
from __future__ import annotations

import itertools
import time

from bot.message import Message

ROOM = "wrGroupA"
_seq = itertools.count(1)


def group_line(user: str, text: str, room: str = ROOM, msg_id: str | None = None, staff: bool = False,
               at: float | None = None) -> Message:
    """A line as the archive reader delivers it."""
    n = next(_seq)
    return Message(id=msg_id or f"arch{n}-{time.monotonic_ns()}", channel="archive", chat_type="group",
                   conversation=room, chat_id=room, sender=user, sender_kind="staff" if staff else "customer",
                   kind="text", text=text, time=int(at or time.time()),
                   raw={"store": "S01", "msgtype": "text", "seq": n})


async def hear(h, msg: Message, drain: bool = True) -> None:
    await h.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    if drain:
        await h.drain()


async def redeliver(h, msg: Message) -> None:
    """The same message again, past the inbox's dedupe (as after a crash before its ack)."""
    await h.store.inbox.put(msg.conversation, f"{msg.id}#again{next(_seq)}", msg.to_json())
    await h.drain()


def app_texts(h, user: str = "xiaowang") -> list[str]:
    return h.sent_texts(user)


def kf_texts(h, user: str) -> list[str]:
    return h.sent_texts(user, path="kf/send_msg")
