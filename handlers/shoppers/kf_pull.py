"""微信客服 pull: a kf_msg_or_event callback only says "go pull"; kf/sync_msg gives the messages.

Runs in the worker (the callback's conversation is "kf:<open_kfid>"), never in the HTTP request.
Per kf account: one puller at a time (store/kf.py lock), cursor persisted only after the page's
messages are in the inbox (so a crash re-pulls, and the inbox dedupe by kf msgid drops repeats),
history older than the bot's first start skipped, a scheduled safety pull for lost callbacks.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass

from bot.config import Config
from bot.message import Message
from bot.router import Router
from bot.wecom_api import RateLimited, Transient, WeComClient, WeComError
from handlers.shoppers.context import Shoppers, conversation_of
from store import Store
from store.kf import Begun, Cursor, Finished
from store.lua import Call

log = logging.getLogger(__name__)
router = Router(__name__)

PAGE = 1000  # kf/sync_msg maximum
LOCK_POLL = 0.2  # seconds between looks at a pull lock someone else holds
BAD_TOKEN = 95007
BAD_CURSOR = 40058  # "invalid Request Parameter": what the fake (and, as far as known, WeCom) gives a bad cursor
PLACEHOLDER = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "file": "[文件]", "location": "[位置]",
               "link": "[链接]", "business_card": "[名片]", "miniprogram": "[小程序]", "channels": "[视频号]"}


@dataclass
class PullResult:
    pulled: int = 0  # entries WeCom returned
    queued: int = 0  # new inbox entries (customer messages and enter_session events)
    skipped: int = 0  # history before the first start
    pages: int = 0
    busy: bool = False  # another puller held the lock; it will pull again for us
    covered: bool = False  # a complete drain started after the callback: nothing left to pull


def _kf_of(item: dict) -> str:
    return item.get("open_kfid") or (item.get("event") or {}).get("open_kfid", "")


class KfPuller:
    def __init__(self, config: Config, store: Store, api: WeComClient, shoppers: Shoppers) -> None:
        self.cfg, self.store, self.api, self.shoppers = config, store, api, shoppers
        self.lock_ms = shoppers.settings.pull_lock_seconds * 1000
        self.page = PAGE

    def kf_accounts(self) -> list[str]:
        return list(dict.fromkeys(s.kf for s in self.cfg.stores if s.kf))

    async def mark_start(self, now: float | None = None) -> None:
        """First start: history older than now (minus a grace) is never answered."""
        since = int(now or time.time()) - self.shoppers.settings.history_grace_seconds
        for kf in self.kf_accounts():
            await self.store.kf.mark_start(kf, since)

    async def pull(self, open_kfid: str, token: str = "", received_ms: int | None = None) -> PullResult:
        """Drain the account's new messages into the inbox. `received_ms`: when the callback that asks
        for it was acked (Redis ms); a complete drain started after that covered it (`covered`)."""
        result = PullResult()
        owner = secrets.token_hex(8)
        begun = await self._acquire(open_kfid, owner, token, received_ms)
        if begun.state != "taken":
            result.busy, result.covered = begun.state == "busy", begun.state == "covered"
            return result
        cursor, now_ms = begun.cursor, begun.now_ms
        while True:
            try:
                done, cursor = await self._drain(open_kfid, owner, token, result, cursor, now_ms)
            except Exception:
                # Free the lock so the retry (or the next callback) need not wait for it to expire;
                # any "again" flag stays for whoever pulls next. With Redis down that fails too:
                # the lock then expires by itself, and the original error is the one to report.
                with contextlib.suppress(Exception):
                    await self.store.kf.drop_lock(open_kfid, owner)
                raise
            if done.state == "lost":
                log.warning("kf %s: pull lock expired mid-pull; the next puller continues", open_kfid)
                return result
            if done.state != "again":
                return result
            token = done.token or token
            now_ms = done.now_ms  # the next drain starts where this one saved the cursor

    async def _acquire(self, open_kfid: str, owner: str, token: str, received_ms: int | None) -> Begun:
        """Take the pull lock, or make sure its holder pulls once more after this callback.

        A callback that finds the lock taken leaves the "pull again" flag, then waits: until the
        holder has taken the flag up (it pulls again for us: busy), or until the lock is free
        with the flag still there (the holder died or failed without seeing it: we pull). Without
        the wait, a holder killed mid-pull left every callback until its lock expired acked with
        nobody to pull for it, and those questions waited for the next callback or safety pull.
        """
        deadline = time.monotonic() + 4 * self.lock_ms / 1000
        while (begun := await self.store.kf.begin(open_kfid, owner, self.lock_ms, token, received_ms)).state == "busy":
            received_ms = None  # whether it was covered is asked once, before the first try
            if time.monotonic() > deadline:
                return begun  # a live holder still pulling: it sees the flag when it releases
            await asyncio.sleep(LOCK_POLL)
            if not await self.store.kf.again_pending(open_kfid):
                return begun
        return begun

    async def _keep_lock(self, open_kfid: str, owner: str, *, wait_first: bool = True) -> None:
        """Renew the lock while a drain runs, so its TTL only bounds how long a dead holder blocks."""
        while True:
            if wait_first:
                await asyncio.sleep(self.lock_ms / 3000)
            wait_first = True
            try:
                if not await self.store.kf.renew(open_kfid, owner, self.lock_ms):
                    return  # lost it; the drain's next save finds out and stops
            except Exception:  # Redis away: the drain's own calls fail and report it
                log.debug("kf %s: could not renew the pull lock", open_kfid, exc_info=True)

    async def covered(self, open_kfid: str, received_ms: int) -> bool:
        """A complete drain started after this callback was acked: it queued what the callback
        announced, so pulling again would only fetch an empty page."""
        return await self.store.kf.pulled_through(open_kfid) > received_ms

    async def _drain(self, open_kfid: str, owner: str, token: str, result: PullResult, start: Cursor,
                     started_ms: int) -> tuple[Finished, Cursor]:
        """Pull pages until has_more is 0; the last page's save releases the lock (or keeps it for
        one more drain when a "pull again" came meanwhile). Returns that, and the cursor saved."""
        # The renewing task is started by a timer at the first renewal, a third of the lock's TTL
        # in: most drains are over long before, and then cost no task (its start, first sleep and
        # cancellation were a tenth of a one-message pull's CPU).
        keeper: list[asyncio.Task] = []
        timer = asyncio.get_running_loop().call_later(
            self.lock_ms / 3000, lambda: keeper.append(asyncio.create_task(
                self._keep_lock(open_kfid, owner, wait_first=False))))
        try:
            return await self._drain_pages(open_kfid, owner, token, result, start, started_ms)
        finally:
            timer.cancel()
            for task in keeper:
                task.cancel()

    async def _drain_pages(self, open_kfid: str, owner: str, token: str, result: PullResult, start: Cursor,
                           started_ms: int) -> tuple[Finished, Cursor]:
        cursor = start.cursor
        since = start.since
        if since is None:  # a kf account first seen through a callback, not in config
            since = int(time.time()) - self.shoppers.settings.history_grace_seconds
        while True:
            body = {"cursor": cursor, "token": token, "limit": self.page, "voice_format": 0, "open_kfid": open_kfid}
            try:
                res = await self.api.call("kf/sync_msg", secret=self.cfg.wecom.app.secret, json_body=body)
            except WeComError as exc:
                if exc.errcode == BAD_CURSOR and cursor:
                    # Kept as it was, a refused cursor fails every pull of this account for good.
                    # From no cursor WeCom starts at its oldest kept message: the inbox dedupe
                    # drops what was queued already and `since` skips the history before the bot.
                    log.warning("kf %s: WeCom refused the saved cursor (%s); pulling from the start", open_kfid, exc)
                    cursor = ""
                    continue
                if exc.errcode != BAD_TOKEN or not token:
                    raise
                log.info("kf %s: sync token expired; pulling without it", open_kfid)
                token = ""
                continue
            items = [m for m in res.get("msg_list") or [] if _kf_of(m) in ("", open_kfid)]
            result.pages += 1
            result.pulled += len(items)
            names = await self._queue(open_kfid, items, since, result)
            cursor = str(res.get("next_cursor") or cursor)
            if int(res.get("has_more") or 0):
                if not await self.store.kf.save(open_kfid, owner, self.lock_ms, cursor, since, names=names):
                    return Finished("lost"), start
                continue
            done = await self.store.kf.save(open_kfid, owner, self.lock_ms, cursor, since, started_ms,
                                            release=True, names=names)
            assert isinstance(done, Finished)
            return done, Cursor(cursor, since)

    async def _queue(self, open_kfid: str, items: list[dict], since: int,
                     result: PullResult) -> list[tuple[dict[str, str], int]]:
        """Queue a page's messages; returns the nicknames learnt on it, for the page's save to cache."""
        fresh = [m for m in items if int(m.get("send_time") or 0) >= since]
        result.skipped += len(items) - len(fresh)
        users = list(dict.fromkeys(str(m.get("external_userid") or "") for m in fresh if m.get("origin") == 3))
        users = [u for u in users if u]
        # Reply windows and scenes first, so they are in place before any message of this page can be
        # handled; the cached nicknames of the page's shoppers come back in the same round trip.
        cached = await self.store.kf.record_page([c for m in fresh if (c := self._record(open_kfid, m))], users)
        remember: list[tuple[dict[str, str], int]] = []
        names = await self.shoppers.names(users, cached=cached, remember=remember) if users else {}
        msgs = [msg for m in fresh if (msg := self._message(open_kfid, m, names)) is not None]
        # Then the messages, in WeCom's order: concurrent put_batched calls are queued in call
        # order and sent as one ordered batch, so each conversation keeps its order in the inbox.
        if len(msgs) == 1:  # the usual page: awaited as it is, without gather's task around it
            ids = [await self.store.inbox.put_batched(msgs[0].conversation, msgs[0].id, msgs[0].to_json())]
        else:
            ids = await asyncio.gather(*(self.store.inbox.put_batched(m.conversation, m.id, m.to_json())
                                         for m in msgs))
        result.queued += sum(1 for i in ids if i)
        return remember

    def _record(self, open_kfid: str, m: dict) -> Call | None:
        """What a pulled item says about its conversation, written before any message is queued."""
        at = int(m.get("send_time") or 0)
        origin = m.get("origin")
        if origin == 3:
            conv = conversation_of(open_kfid, str(m.get("external_userid") or ""))
            return self.store.kf.customer_wrote_call(conv, at, str(m.get("msgid") or ""))
        event = m.get("event") or {}
        if origin == 4 and event.get("event_type") == "enter_session":
            conv = conversation_of(open_kfid, str(event.get("external_userid") or ""))
            # Recorded at pull time, before the shopper's next message is queued, so that message
            # already knows which store or 团 they came from.
            return self.store.shoppers.set_scene_call(conv, str(event.get("scene") or ""),
                                                      str(event.get("scene_param") or ""), at)
        return None

    def _message(self, open_kfid: str, m: dict, names: dict[str, str]) -> Message | None:
        at = int(m.get("send_time") or 0)
        origin = m.get("origin")
        if origin == 3:
            user = str(m.get("external_userid") or "")
            conv = conversation_of(open_kfid, user)
            msgtype = m.get("msgtype", "")
            text = str((m.get("text") or {}).get("content", "")) if msgtype == "text" else PLACEHOLDER.get(msgtype, "")
            raw = {"open_kfid": open_kfid, "msgtype": msgtype, "nickname": names.get(user, "")}
            if msgtype == "text" and (m.get("text") or {}).get("menu_id"):
                raw["menu_id"] = m["text"]["menu_id"]
            return Message(id=f"kf:{m['msgid']}", channel="kf", conversation=conv, sender=user,
                           sender_kind="customer", text=text, kind="text" if msgtype == "text" else "other",
                           time=at, raw=raw)
        event = m.get("event") or {}
        if origin == 4 and event.get("event_type") == "enter_session":
            user = str(event.get("external_userid") or "")
            conv = conversation_of(open_kfid, user)
            scene, param = str(event.get("scene") or ""), str(event.get("scene_param") or "")
            return Message(id=f"kf:{m['msgid']}", channel="kf", conversation=conv, sender=user,
                           sender_kind="customer", kind="event", event="kf_enter_session", time=at,
                           raw={"open_kfid": open_kfid, "scene": scene, "scene_param": param,
                                "welcome_code": str(event.get("welcome_code") or "")})
        if origin == 4 and event.get("event_type") == "msg_send_fail":
            log.warning("kf %s: WeCom could not deliver message %s to %s (fail_type %s)", open_kfid,
                        event.get("fail_msgid"), event.get("external_userid"), event.get("fail_type"))
        return None  # servicer messages (origin 5) and other system events are not ours to answer


@router.event("kf_msg_or_event")
async def kf_callback(msg: Message, shoppers: Shoppers, received_ms: int | None) -> None:
    open_kfid = str(msg.raw.get("OpenKfId") or msg.conversation.removeprefix("kf:"))
    if not open_kfid:
        return
    # WeCom sends one callback per message or so, and they queue behind each other on the kf
    # account's partition; under load most find their messages pulled by an earlier one. Pulling
    # for each anyway fell behind at ~40 callbacks/s per account, until the sync tokens expired.
    # pull() asks that in the same round trip as it takes the lock (`covered`).
    try:
        res = await shoppers.puller.pull(open_kfid, str(msg.raw.get("Token") or ""), received_ms or None)
    except (Transient, RateLimited):
        raise  # the event stays pending and is retried; the cursor was not moved
    except WeComError as exc:
        # Configuration (48002/48007, ...) or a bad kf id: retrying cannot help.
        log.error("kf %s: pull refused: %s%s", open_kfid, exc, f" Fix: {exc.fix}" if exc.fix else "")
        return
    log.debug("kf %s pull: %s", open_kfid, res)


@router.schedule("kf_safety_pull")
async def kf_safety_pull(shoppers: Shoppers) -> None:
    """Catches messages whose callback never arrived (tokenless pulls are rate-limited: keep it slow)."""
    for kf in shoppers.puller.kf_accounts():
        try:
            res = await shoppers.puller.pull(kf)
        except WeComError as exc:
            log.warning("kf %s safety pull failed: %s", kf, exc)
            continue
        if res.queued:
            log.info("kf %s: safety pull found %d message(s) no callback announced", kf, res.queued)
