"""Inbox consumer: Message -> router -> Replies -> rendered outbox entries, then ack.

Replies are written to the outbox with ids derived from the inbound message id, so a message that
is redelivered after a crash produces no second reply (and handlers record the message id with
every state change, so it changes nothing twice either). The replies a handler returns are staged
on the inbox entry and stored just before its ack (store/streams.py ack); replies a handler emits
itself (the `emit` dependency, bot/outbox.py) while it runs are written at once, since it may record
"done" right after.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from bot.config import Config
from bot.loops import unreachable
from bot.message import Message, Reply
from bot.outbox import ACKING, Emitter, default_target
from bot.render import renderer
from bot.router import Dispatcher
from store import Store
from store.lua import DEFERRED
from store.streams import Entry

log = logging.getLogger(__name__)

__all__ = ["Worker", "default_target"]


def _received_ms(entry_id: str) -> int | None:
    ms = entry_id.partition("-")[0]
    return int(ms) if ms.isdigit() else None


class Worker:
    def __init__(self, config: Config, store: Store, dispatcher: Dispatcher, deps: dict[str, Any]) -> None:
        self.cfg, self.store, self.dispatcher, self.deps = config, store, dispatcher, deps
        self.emitter: Emitter = deps.get("emit") or Emitter(store, renderer(config))

    async def handle(self, entry: Entry) -> None:
        msg = Message.from_json(entry.data)
        role = "shopper" if msg.sender_kind == "customer" else self.cfg.role_of(msg.sender)
        # received_ms: when the web acked it (the stream id's time, on Redis's clock)
        deps = {**self.deps, "emit": self.emitter, "role": role, "now": time.time(),
                "received_ms": _received_ms(entry.id)}
        # Writes the handlers defer (store/lua.py `later`) ride on this entry's ack, like its replies.
        deferring = DEFERRED.set(entry.staged)
        try:
            replies = await self.dispatcher.dispatch(msg, deps)
        except Exception as exc:
            DEFERRED.reset(deferring)
            if unreachable(exc):
                raise  # Redis is down: the consumer reports the outage once; the retry will do
            # Customer-group text from the chat archive is never logged (README, chat archive).
            shown = "(group text)" if msg.channel == "archive" else msg.text[:40]
            log.exception("handler failed on %s (%s %r)", msg.id, msg.channel, shown)
            await self._apologise(msg)
            raise  # stays pending: retried, then dead-lettered
        token = ACKING.set(entry)
        try:
            await self.emit(msg, replies)
        finally:
            ACKING.reset(token)
            DEFERRED.reset(deferring)

    async def emit(self, msg: Message, replies: list[Reply], tag: str = "") -> int:
        """Render replies and append them to the outbox, deduped by (message id, tag, index)."""
        return await self.emitter(msg, replies, tag)

    async def _apologise(self, msg: Message) -> None:
        if msg.kind != "text" or default_target(msg) is None:
            return
        try:
            if await self.store.once(self.store.keys.apology(msg.id), 86400):
                await self.emit(msg, [Reply("errors/oops.txt.j2")], tag="!oops")
        except Exception:
            log.exception("could not queue the apology for %s", msg.id)
