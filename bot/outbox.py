"""The one way a reply reaches the outbox: `Emitter`, injected into handlers as `emit`.

An outbox entry's id is derived from the message (or job) that caused it plus a tag and the reply's
index, so a redelivered message, a job run twice or a crash between two writes puts nothing twice:
the outbox drops ids it has seen, and the sender derives kf's msgid from the id. While the worker
writes a message's final replies it sets `ACKING`, and the writes ride on that entry's ack instead
of being written at once (one round trip; see store/streams.py); replies a handler emits itself
while it runs are written at once, since the handler may record "done" right after.
"""
from __future__ import annotations

import base64
import contextvars
import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from bot.message import Message, Reply, Target
from bot.render import Renderer

if TYPE_CHECKING:
    from store import Store
    from store.streams import Entry

log = logging.getLogger(__name__)

# The inbox entry whose final replies are being written: set only around that one call.
ACKING: contextvars.ContextVar[Entry | None] = contextvars.ContextVar("acking", default=None)


def default_target(msg: Message) -> Target | None:
    """Where a reply to `msg` goes when the handler does not say otherwise."""
    if msg.channel == "aibot":
        if msg.raw.get("req_id"):  # came over the long connection: answer on it (bot/aibot_ws.py)
            from bot.aibot_ws import CHANNEL, target_of
            return Target(CHANNEL, target_of(msg))
        url = msg.raw.get("response_url")
        return Target("aibot", url) if url else Target("app", msg.sender)
    if msg.channel == "kf":
        return Target("kf", msg.conversation.removeprefix("kf:"))
    if msg.channel in ("app", "sandbox") and msg.kind != "event":
        return Target("app", msg.sender)
    return None


def entry(reply: Reply, target: Target, origin: str, content: str) -> dict[str, Any]:
    """The outbox entry for one rendered reply (its id is set by the caller)."""
    out: dict[str, Any] = {"channel": target.channel, "to": target.to, "msgtype": reply.msgtype,
                           "content": content, "origin": origin}
    if reply.attachment:
        out["file"] = {"name": reply.attachment.filename,
                       "b64": base64.b64encode(reply.attachment.content).decode()}
    if target.channel in ("aibot", "aibot_ws"):
        out["msgtype"] = "markdown"
    return out


class Emit(Protocol):
    """What handlers get as `emit` (an `Emitter`, or a test's stand-in)."""

    async def __call__(self, origin: Message | str, replies: list[Reply], tag: str = "") -> int: ...


class Emitter:
    """`await emit(origin, replies, tag="")`: render replies and put them on the outbox, deduped by
    (origin id, tag, index). `origin` is the message (or job message) that caused them, or just its
    id when there is no message (then every reply must say where it goes)."""

    def __init__(self, store: Store, renderer: Renderer) -> None:
        self.store, self.render = store, renderer

    async def __call__(self, origin: Message | str, replies: list[Reply], tag: str = "") -> int:
        msg = origin if isinstance(origin, Message) else None
        origin_id = msg.id if msg is not None else str(origin)
        outs: list[dict[str, Any]] = []
        for reply in replies:
            target = reply.to or (default_target(msg) if msg is not None else None)
            if target is None:
                log.warning("reply %s to %s has no destination; dropped", reply.template, origin_id)
                continue
            out = entry(reply, target, origin_id, self.render(reply))
            if target.channel in ("aibot", "aibot_ws"):
                # response_url works once (and one stream bubble per message reads best on the long
                # connection): fold every reply for it into one message.
                prev = next((o for o in outs if o["channel"] == target.channel and o["to"] == target.to), None)
                if prev:
                    prev["content"] += "\n\n" + out["content"]
                    continue
            outs.append(out)
        acking = ACKING.get()
        for i, out in enumerate(outs):
            out["id"] = f"{origin_id}{tag}#{i}"  # the sender derives kf's msgid from it: same on every retry
            args = (f"{out['channel']}:{out['to']}", out["id"], json.dumps(out, ensure_ascii=False))
            if acking is not None:
                acking.staged.append(self.store.outbox.prepare(*args))
            else:
                await self.store.outbox.put(*args)
        return len(outs)
