"""Inbox consumer: Message -> router -> Replies -> rendered outbox entries, then ack.

Replies are written to the outbox with ids derived from the inbound message id, so a message that
is redelivered after a crash produces no second reply (and handlers record the message id with
every state change, so it changes nothing twice either). The replies a handler returns are staged
on the inbox entry and written in the same round trip as its ack; replies a handler emits itself
while it runs are written at once, since it may record "done" right after.
"""
from __future__ import annotations

import base64
import contextvars
import json
import logging
import time
from typing import Any

from bot.config import Config
from bot.loops import unreachable
from bot.message import Message, Reply, Target
from bot.render import render
from bot.router import Dispatcher
from store import Store
from store.streams import Entry

log = logging.getLogger(__name__)

# The inbox entry whose final replies emit() is writing: set only around that one call, so the
# replies ride on the entry's ack (and an emit that tests wrap or patch still sees the same call).
_ACKING: contextvars.ContextVar[Entry | None] = contextvars.ContextVar("acking", default=None)


def default_target(msg: Message) -> Target | None:
    """Where a reply to `msg` goes when the handler does not say otherwise."""
    if msg.channel == "aibot":
        url = msg.raw.get("response_url")
        return Target("aibot", url) if url else Target("app", msg.sender)
    if msg.channel == "kf":
        return Target("kf", msg.conversation.removeprefix("kf:"))
    if msg.channel in ("app", "sandbox") and msg.kind != "event":
        return Target("app", msg.sender)
    return None


def _received_ms(entry_id: str) -> int | None:
    ms = entry_id.partition("-")[0]
    return int(ms) if ms.isdigit() else None


class Worker:
    def __init__(self, config: Config, store: Store, dispatcher: Dispatcher, deps: dict[str, Any]) -> None:
        self.cfg, self.store, self.dispatcher, self.deps = config, store, dispatcher, deps

    async def handle(self, entry: Entry) -> None:
        msg = Message.from_json(entry.data)
        role = "shopper" if msg.sender_kind == "customer" else self.cfg.role_of(msg.sender)
        # received_ms: when the web acked it (the stream id's time, on Redis's clock)
        deps = {**self.deps, "role": role, "now": time.time(), "received_ms": _received_ms(entry.id)}
        try:
            replies = await self.dispatcher.dispatch(msg, deps)
        except Exception as exc:
            if unreachable(exc):
                raise  # Redis is down: the consumer reports the outage once; the retry will do
            # Customer-group text from the chat archive is never logged (README, chat archive).
            shown = "(group text)" if msg.channel == "archive" else msg.text[:40]
            log.exception("handler failed on %s (%s %r)", msg.id, msg.channel, shown)
            await self._apologise(msg)
            raise  # stays pending: retried, then dead-lettered
        token = _ACKING.set(entry)
        try:
            await self.emit(msg, replies)
        finally:
            _ACKING.reset(token)

    async def emit(self, msg: Message, replies: list[Reply], tag: str = "") -> int:
        """Render replies and append them to the outbox, deduped by (message id, index)."""
        outs: list[dict] = []
        for reply in replies:
            target = reply.to or default_target(msg)
            if target is None:
                log.warning("reply %s to %s has no destination; dropped", reply.template, msg.id)
                continue
            out = {"channel": target.channel, "to": target.to, "msgtype": reply.msgtype,
                   "content": render(reply), "origin": msg.id}
            if reply.attachment:
                out["file"] = {"name": reply.attachment.filename,
                               "b64": base64.b64encode(reply.attachment.content).decode()}
            if target.channel == "aibot":
                out["msgtype"] = "markdown"
                # response_url works once: fold every reply for it into one message.
                prev = next((o for o in outs if o["channel"] == "aibot" and o["to"] == target.to), None)
                if prev:
                    prev["content"] += "\n\n" + out["content"]
                    continue
            outs.append(out)
        acking = _ACKING.get()
        for i, out in enumerate(outs):
            out["id"] = f"{msg.id}{tag}#{i}"  # the sender derives kf's msgid from it: same on every retry
            args = (f"{out['channel']}:{out['to']}", out["id"], json.dumps(out, ensure_ascii=False))
            if acking is not None:
                acking.staged.append(self.store.outbox.prepare(*args))
            else:
                await self.store.outbox.put(*args)
        return len(outs)

    async def _apologise(self, msg: Message) -> None:
        if msg.kind != "text" or default_target(msg) is None:
            return
        try:
            if await self.store.once(self.store.keys.apology(msg.id), 86400):
                await self.emit(msg, [Reply("errors/oops.txt.j2")], tag="!oops")
        except Exception:
            log.exception("could not queue the apology for %s", msg.id)
