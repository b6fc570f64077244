"""The archive reader: GetChatData after the cursor -> decrypt in the SDK child -> the store groups'
text lines into the inbox -> cursor saved.

- Order of writes: a page's messages go into the inbox (deduplicated by msgid there) before the
  cursor moves past them, so a reader killed anywhere loses nothing, and a page pulled again after
  a kill adds nothing twice.
- One reader per corp: a Redis lease; the cursor save is fenced by it (store/archive.py).
- Pulls: on msgaudit_notify (the app callback wakes the reader) and every safety_pull_seconds.
- Poison: an item on which the SDK child dies `poison_tries` times, or that fails to decrypt with
  a clean error, is recorded (seq, msgid, key version, reason; no content) and skipped. An item
  whose publickey_ver has no configured key stops the reader at that item until the key is added.
- Privacy: only text lines of configured store groups are kept (inbox, and archive_lines for
  [archive] keep_days); everything else is dropped once decrypted. No content is ever logged.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from bot import metrics
from bot.archive.consent import ConsentCache
from bot.archive.keys import load_private_keys
from bot.archive.sdk import ChildDied, SdkError, SdkProcess, init_request
from bot.config import Config
from bot.consumer import consumer_name
from bot.loops import Outage, unreachable
from bot.message import Message
from store import Store
from store.archive import ArchiveState, LeaseLost

log = logging.getLogger(__name__)
EXTERNAL = ("wo", "wm")  # external contacts' ids; staff userids are anything else
WAKE_CHUNK = 5.0  # one BLPOP at most this long (under the client's socket timeout)


class KeyMissing(Exception):
    """An item is wrapped for a publickey_ver with no configured private key."""


class ArchiveReader:
    def __init__(self, cfg: Config, store: Store, api=None, *, sdk: SdkProcess | None = None,
                 owner: str | None = None) -> None:
        self.cfg, self.a = cfg, cfg.archive
        self.state = ArchiveState(store.r, store.keys, cfg.wecom.corp_id)
        self.inbox = store.inbox
        self.groups = {chat_id: s.id for s in cfg.stores for chat_id in s.groups}
        self.owner = owner or consumer_name("archive")
        if sdk is None:
            keys = load_private_keys(cfg, create_missing=self.a.sdk == "fake")
            sdk = SdkProcess(init_request(cfg, keys), call_timeout=max(60.0, 3.0 * self.a.sdk_timeout_seconds))
        self.sdk = sdk
        self.consent = ConsentCache(cfg, self.state, api) if api is not None else None
        self._deaths: Counter[str] = Counter()  # msgid -> SDK child deaths while decrypting it
        self._stop = asyncio.Event()
        self.held = False
        self.last_pull = 0.0

    # -- one page ----------------------------------------------------------------------------
    async def pull_once(self) -> int:
        """Pull one page after the cursor and hand it on; returns how many items it consumed."""
        seq = await self.state.cursor()
        try:
            items = await self.sdk.pull(seq, self.a.batch)
        except SdkError as exc:
            metrics.ARCHIVE_ERRORS.labels(str(exc.code or exc.kind)).inc()
            raise
        except ChildDied:
            metrics.ARCHIVE_ERRORS.labels("sdk_died").inc()
            raise
        self.last_pull = time.time()
        items = sorted((it for it in items if _int(it.get("seq")) > seq), key=lambda it: _int(it.get("seq")))
        if not items:
            return 0
        messages: list[Message] = []
        poison: list[tuple[dict, str]] = []
        outcomes: Counter[str] = Counter()
        pos, done, missing = 0, seq, None
        while pos < len(items) and missing is None:
            results, died = await self.sdk.decrypt(items[pos:])
            for r in results:
                it = items[pos]
                self._deaths.pop(str(it.get("msgid")), None)  # answered: an earlier death was not its fault
                if r.get("ok"):
                    m = self._message(r.get("msg"), it)
                    outcomes["inbox" if m else "dropped"] += 1
                    if m:
                        messages.append(m)
                elif r.get("error") == "nokey":
                    missing = it
                    break
                else:
                    poison.append((it, " ".join(str(x) for x in (r.get("error"), r.get("code"), r.get("detail"))
                                                if x)))
                done, pos = _int(it.get("seq")), pos + 1
            if died and missing is None and pos < len(items):
                it = items[pos]
                msgid = str(it.get("msgid"))
                self._deaths[msgid] += 1
                if self._deaths[msgid] >= self.a.poison_tries:
                    poison.append((it, "crashed the SDK"))
                    del self._deaths[msgid]
                    done, pos = _int(it.get("seq")), pos + 1
        await self._commit(messages)
        for it, reason in poison:
            await self.state.record_poison(_int(it.get("seq")), str(it.get("msgid")),
                                           _int(it.get("publickey_ver")), reason)
            log.warning("archive item seq %s (msgid %s, publickey_ver %s) skipped: %s", it.get("seq"),
                        it.get("msgid"), it.get("publickey_ver"), reason)
        outcomes["poison"] += len(poison)
        for outcome, n in outcomes.items():
            metrics.ARCHIVE_ITEMS.labels(outcome).inc(n)
        if done > seq:
            await self.state.save_cursor(self.owner, done)
        if missing is not None:
            metrics.ARCHIVE_ERRORS.labels("nokey").inc()
            raise KeyMissing(f"archive item seq {missing.get('seq')} is wrapped for publickey_ver "
                             f"{missing.get('publickey_ver')}, which has no private key: add it to [[archive.keys]]")
        return pos

    def _message(self, msg: Any, item: dict) -> Message | None:
        """A store group's text line as the inbox Message, or None (dropped, never stored)."""
        if not isinstance(msg, dict):
            return None
        roomid = msg.get("roomid")
        store = self.groups.get(roomid) if isinstance(roomid, str) else None
        if store is None or msg.get("action") != "send" or msg.get("msgtype") != "text":
            return None
        text = (msg.get("text") or {}).get("content") if isinstance(msg.get("text"), dict) else None
        sender = msg.get("from")
        msgid = item.get("msgid") or msg.get("msgid")  # the inbox dedupes on it: never a placeholder
        if not isinstance(text, str) or not isinstance(sender, str) or not sender or not isinstance(msgid, str):
            return None
        return Message(id=msgid, channel="archive", chat_type="group", conversation=roomid,
                       chat_id=roomid, sender=sender,
                       sender_kind="customer" if sender.startswith(EXTERNAL) else "staff", kind="text",
                       text=text, time=_int(msg.get("msgtime")) // 1000,
                       raw={"store": store, "msgtype": "text", "seq": _int(item.get("seq"))})

    async def _commit(self, messages: list[Message]) -> None:
        if not messages:
            return
        await self.state.add_lines([(m.chat_id, m.time * 1000, {"msgid": m.id, "from": m.sender,
                                                                 "time": m.time, "text": m.text})
                                    for m in messages], self.a.keep_days)
        await asyncio.gather(*(self.inbox.put_batched(m.conversation, m.id, m.to_json()) for m in messages))

    async def drain(self) -> int:
        """Pull pages until one comes back short; returns the items consumed."""
        total = 0
        while not self._stop.is_set():
            n = await self.pull_once()
            total += n
            if n < self.a.batch:
                return total
        return total

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        outage = Outage("archive_reader", log)
        renew = asyncio.create_task(self._renew())
        consent = asyncio.create_task(self._consent_loop()) if self.consent else None
        try:
            while not self._stop.is_set():
                if not self.held:  # _renew takes the lease; a local flag, so polling it costs nothing
                    await self._sleep(0.2)
                    continue
                try:
                    await self.drain()
                    outage.ok()
                except LeaseLost:
                    self.held = False
                    log.warning("archive reader %s lost its lease; another reader took over", self.owner)
                    continue
                except (SdkError, ChildDied, KeyMissing) as exc:
                    log.error("archive pull failed: %s", exc)
                    await self._sleep(min(self.a.safety_pull_seconds, 30.0))
                    continue
                except Exception as exc:
                    outage.failed("pull" if unreachable(exc) else "pull (unexpected)")
                    await outage.wait()
                    continue
                try:
                    await self._wait_wake(self.a.safety_pull_seconds)
                except Exception:
                    outage.failed("waiting for msgaudit_notify")
                    await outage.wait()
        finally:
            renew.cancel()
            if consent:
                consent.cancel()
            await self.sdk.stop()
            if self.held:
                try:
                    await self.state.release(self.owner)
                except Exception:
                    pass

    async def stop(self) -> None:
        self._stop.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _wait_wake(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # A stop must not wait out a blocked BLPOP: whichever comes first.
            blpop = asyncio.ensure_future(self.state.wait_wake(min(left, WAKE_CHUNK)))
            stopped = asyncio.ensure_future(self._stop.wait())
            done, _ = await asyncio.wait({blpop, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if blpop not in done:
                blpop.cancel()
                await asyncio.gather(blpop, return_exceptions=True)
                return False
            if blpop.result():
                return True
        return False

    async def _renew(self) -> None:
        outage = Outage("archive_lease", log)
        while not self._stop.is_set():
            try:
                got = await self.state.claim(self.owner, self.a.lease_ms)
                if got and not self.held:
                    log.info("archive reader %s holds the lease for corp %s", self.owner, self.cfg.wecom.corp_id)
                self.held = bool(got)
                outage.ok()
            except Exception:
                self.held = False
                outage.failed("lease renewal")
            await self._sleep(self.a.lease_ms / 3000)

    async def _consent_loop(self) -> None:
        assert self.consent is not None
        while not self._stop.is_set():
            if self.held:
                try:
                    await self.consent.refresh_all()
                except Exception:
                    log.warning("archive consent check failed", exc_info=True)
            await self._sleep(min(self.a.consent_check_seconds, 3600))


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return 0
