"""Delivers outbox entries to WeCom: per-channel calls, split under byte limits, budgets, and
retries that wait without holding the partition.

A send that fails for a while (WeCom busy, 5xx, timeout, a rate limit, a full budget) parks its
target (the recipient): the entry is held in Redis (store/parking.py) with the time of its next
try, and its outbox entry is acked. Later entries for a parked target are held behind it, so a
recipient never gets a later message before an earlier one, while other targets keep flowing.
The worker's retry timer (run_retries) puts a resume marker into the outbox partition when a
target is due; the partition's owner then sends the held entries in order. What still fails
after retry_horizon_seconds, or can never be delivered, goes to the dead letters, where
`qunbot dead-letters list|replay` shows and re-queues it (bot/dead_letters.py).

Duplicates: kf sends carry a msgid derived from the outbox entry, so WeCom refuses a repeat
(handlers/shoppers/kf_send.py); app messages ask WeCom's duplicate check; see docs/delivery.md.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot import metrics
from bot.config import Config
from bot.split import limit_for, split_text
from bot.wecom_api import RateLimited, Transient, WeComClient, WeComError
from store import Store
from store.lua import Call
from store.parking import item_of, parse_item
from store.streams import Entry

log = logging.getLogger(__name__)

Deliver = Callable[[dict, str], Awaitable[None]]
# errcodes that mean "this message can never be delivered"; retrying would only spam the API.
GIVE_UP = {95018, 41050, 41051, 81013, 84061, 40003, 60111, 46004, 40008, 44004, 82001, 40058}
KF_QUOTA, KF_WINDOW = 95001, 95018
INLINE_WAIT = 1.0  # a budget that frees up within this many seconds is waited for in place
RESUME_LEASE_MS = 60_000  # a resume marker not acted on within this is issued again
DAY = 86400
# The API whose corp-wide limit a 45009 on this channel means; webhook and aibot limits are per target.
CHANNEL_API = {"app": "message/send", "appchat": "appchat/send", "kf": "kf/send_msg"}


def _recipient(out: dict) -> str:
    """Who an entry is for, fit for a log line: a webhook key and a response_url are credentials."""
    if out["channel"] == "webhook":
        return "webhook " + hashlib.sha1(out["to"].encode()).hexdigest()[:12]
    if out["channel"] == "aibot":
        return "aibot response_url"
    return f"{out['channel']} {out['to']}"


class Park(Exception):
    """Try this entry again later: after `delay` seconds, or by the backoff schedule when None."""

    def __init__(self, reason: str, delay: float | None = None, maybe_sent: bool = False, kind: str = "") -> None:
        super().__init__(reason)
        self.reason, self.delay, self.maybe_sent, self.kind = reason, delay, maybe_sent, kind


@dataclass
class Job:
    """One outbox entry on its way out, and what earlier tries left behind."""

    out: dict
    entry_id: str  # the outbox stream id it first had; with the data, it identifies it when held
    data: str
    route: str  # the outbox route key: the target, whose entries go out in order
    part: int  # outbox partition
    done: int = 0  # parts delivered already
    tries: int = 0  # failed tries so far
    since: float | None = None  # first failure, epoch seconds
    maybe_sent: bool = False  # an earlier try of the next part may have reached WeCom
    meta: dict = field(default_factory=dict)

    @property
    def item(self) -> bytes:
        return item_of(self.entry_id, self.data)

    @property
    def oid(self) -> str:
        """Stable id of the message across retries and replays (kf msgid is derived from it)."""
        return str(self.out.get("id") or self.entry_id)


class Sender:
    def __init__(self, config: Config, store: Store, client: WeComClient,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.store, self.api, self.clock = config, store, client, clock
        self.app_secret = config.wecom.app.secret
        self.channels: dict[str, Deliver] = {
            "app": self._app, "appchat": self._appchat, "webhook": self._webhook,
            "aibot": self._aibot,  # "kf" is registered by the shopper feature (handlers/shoppers/kf_send.py)
        }
        self.no_park: set[str] = set()
        self._api_paused: dict[str, float] = {}  # api -> until (epoch s), after a corp-wide 45009
        self.random = random.Random()

    def register(self, channel: str, deliver: Deliver, *, park: bool = True) -> None:
        """Feature modules add channels (e.g. group_post) without the sender knowing them.

        park=False: a channel with its own durable retry (purchasing) is not held for later; a
        failure leaves the entry pending for the outbox's redeliveries, then dead-letters it.
        """
        self.channels[channel] = deliver
        if not park:
            self.no_park.add(channel)

    # -- outbox consumer entry point ---------------------------------------------------------
    async def handle(self, entry: Entry) -> None:
        out = json.loads(entry.data)
        if "resume" in out:
            await self._resume(entry.part, entry.key, int(out["resume"]))
            return
        job = Job(out, entry.id, entry.data, entry.key or f"{out['channel']}:{out['to']}", entry.part,
                  done=int(out.get("done", 0)), maybe_sent=bool(out.get("replayed")))
        await self._run(job, fresh=True, redelivery=entry.deliveries > 1)

    async def _run(self, job: Job, *, fresh: bool, redelivery: bool = False) -> bool:
        """Deliver what is left of job; True when it is finished (sent or dead-lettered).

        fresh: it comes from the stream, so it must wait behind the target's held entries, if any.
        """
        out = job.out
        deliver = self.channels.get(out["channel"])
        if deliver is None:
            await self._dead(job, f"unknown channel {out['channel']}")
            return True
        parts = split_text(out["content"], limit_for(out["channel"], out["msgtype"])) if out.get("content") else []
        steps: list[Any] = list(parts) + ([None] if out.get("file") else [])  # None: the attachment
        multi = len(steps) > 1
        # Progress of a split entry is kept in Redis only when there is more than one part, and read
        # back only on a redelivery (a crash between two parts); a held entry keeps it in its meta.
        if fresh and multi and redelivery:
            job.done = max(job.done, await self.store.delivery.parts_done(job.part, job.entry_id))
        i = first = job.done
        try:
            while i < len(steps):
                gate = await self._gate(job, check_parked=fresh and i == first,
                                        write_done=i if multi and fresh and i > first else None)
                if gate == "held":
                    return True
                step = steps[i]
                try:
                    if step is None:
                        await self._attempt(job, lambda o, _t: self._file(o), out, "", i)
                    else:
                        await self._attempt(job, deliver, out, step, i)
                except Exception:  # the slot (kf reply, budget) was not used: give it back
                    await self._refund(job)
                    raise
                i = job.done = i + 1
                job.maybe_sent = False
            if multi and fresh:
                await self.store.delivery.set_parts_done(job.part, job.entry_id, len(steps))
        except Park as p:
            if out["channel"] in self.no_park:
                raise Transient(out["channel"], -1, p.reason) from None  # the outbox redelivers it
            return await self._park(job, p, fresh)
        except WeComError as exc:
            if isinstance(exc, Transient) and out["channel"] in self.no_park:
                raise
            await self._give_up(job, exc)
            return True
        metrics.SENDS.labels(out["channel"], "sent").inc()
        return True

    async def _attempt(self, job: Job, deliver: Deliver, out: dict, text: str, index: int) -> None:
        """One part, with a few quick tries on fast failures; slow ones and rate limits park."""
        s = self.cfg.sender
        api = CHANNEL_API.get(out["channel"])
        if api and self._api_paused.get(api, 0) > self.clock():
            raise Park(f"{api} rate-limited (paused)", self._api_paused[api] - self.clock())
        call = dict(out, _try={"index": index, "oid": job.oid, "maybe_sent": job.maybe_sent})
        for attempt in range(1, s.max_attempts + 1):
            try:
                await deliver(call, text)
                return
            except RateLimited as exc:
                if api and exc.api == api:  # 45009/45033 of a corp-wide API: every target waits
                    self._api_paused[api] = self.clock() + s.backoff_seconds
                raise Park(f"{exc}", s.backoff_seconds) from None
            except Transient as exc:
                job.maybe_sent = call["_try"]["maybe_sent"] = job.maybe_sent or exc.maybe_sent
                if exc.timed_out or attempt == s.max_attempts:
                    raise Park(str(exc), maybe_sent=job.maybe_sent) from None
                await asyncio.sleep(s.retry_base_seconds * 2 ** (attempt - 1))
            except WeComError as exc:
                if exc.errcode == KF_QUOTA:  # WeCom's own count: wait for the customer to write again
                    raise Park(str(exc), s.backoff_seconds, kind="quota") from None
                raise

    # -- one Redis round trip before each part -------------------------------------------------
    async def _gate(self, job: Job, *, check_parked: bool, write_done: int | None):
        """One pipelined round trip before a part: is the target parked, the progress of a split
        entry, the budget or kf reply slot.

        Returns "held" when the entry joined its parked target; raises Park when a budget is used up
        or kf's reply quota is, WeComError when kf's 48 h window is closed.
        """
        out, now = job.out, self.clock()
        takes = self._takes(out, now)
        parked, replies = await self.store.delivery.gate(
            job.part, job.route, check_parked=check_parked,
            done=None if write_done is None else (job.entry_id, write_done), takes=[c for _, c in takes])
        verdicts = [(kind, r) for (kind, _), r in zip(takes, replies)]
        job.meta["slot"] = any(k == "kf" and v == "ok" for k, v in verdicts)
        job.meta["budget"] = [c.args[2] for k, c in takes if k == "budget"]
        if parked:
            await self._refund(job)
            wake = int(now * 1000) if out["channel"] == "kf" else None  # a reply waiting for the customer
            if await self.store.parking.join(job.part, job.route, job.item, wake_quota_at=wake):
                metrics.SENDS.labels(out["channel"], "retried").inc()
                return "held"
            return await self._gate(job, check_parked=False, write_done=None)  # unparked meanwhile
        for kind, v in verdicts:
            if kind == "budget" and int(v) > 0:
                await self._refund(job)
                wait = int(v) / 1000
                if wait <= INLINE_WAIT:
                    await asyncio.sleep(wait)
                    return await self._gate(job, check_parked=False, write_done=None)
                raise Park(f"send budget of {_recipient(out)} used up", wait)
            if kind == "kf" and v == "window":
                raise WeComError("kf/send_msg", KF_WINDOW, "48 h since the customer's last message (checked locally)")
            if kind == "kf" and v == "quota":
                # WeCom allows 5 replies per customer message: wait for the customer's next one.
                raise Park("kf: 5 replies to the customer's last message already (95001, checked locally)",
                           self.cfg.sender.backoff_seconds, kind="quota")
        return None

    def _takes(self, out: dict, now: float) -> list[tuple[str, Call]]:
        s, ch = self.cfg.sender, out["channel"]
        if ch == "app":
            return [("budget", self.store.budget.take_call("app", u, s.app_per_member_per_minute))
                    for u in out["to"].split("|")]
        if ch == "webhook":
            return [("budget", self.store.budget.take_call("webhook", _recipient(out).split()[1],
                                                           s.webhook_per_minute))]
        if ch == "kf":
            open_kfid, _, user = out["to"].partition(":")
            return [("kf", self.store.kf.take_reply_call(f"kf:{open_kfid}:{user}", now))]
        return []

    async def _refund(self, job: Job) -> None:
        """Give back the kf reply slot or budget slots a send that did not happen had taken."""
        if job.meta.pop("slot", False):
            open_kfid, _, user = job.out["to"].partition(":")
            await self.store.kf.refund_reply(f"kf:{open_kfid}:{user}")
        members = job.meta.pop("budget", None)
        if members:
            ch = job.out["channel"]
            whos = (job.out["to"].split("|") if ch == "app" else [_recipient(job.out).split()[1]])
            await self.store.delivery.refund_budget(ch, list(zip(whos, members)))

    # -- parking, resuming, giving up ------------------------------------------------------
    def _backoff(self, tries: int) -> float:
        s = self.cfg.sender
        full = min(s.retry_max_seconds, s.retry_first_seconds * 2 ** max(0, tries - 1))
        return self.random.uniform(full / 2, full)  # jitter: a recovered WeCom is not hit all at once

    async def _park(self, job: Job, p: Park, fresh: bool) -> bool:
        """Hold job for a later try; True when instead it is past its horizon and dead-lettered."""
        now = self.clock()
        job.tries += 1
        job.since = job.since or now
        job.maybe_sent = job.maybe_sent or p.maybe_sent
        horizon = job.since + self.cfg.sender.retry_horizon_seconds
        if now >= horizon:
            log.error("%s: giving up after %d tries in %.0f min: %s", _recipient(job.out), job.tries,
                      (now - job.since) / 60, p.reason)
            await self._dead(job, f"gave up after {job.tries} tries in {(now - job.since) / 60:.0f} min: {p.reason}")
            return True
        delay = p.delay if p.delay is not None else self._backoff(job.tries)
        at = min(now + max(delay, 0.0), horizon)
        meta = {"tries": job.tries, "since": job.since, "done": job.done, "maybe_sent": int(job.maybe_sent),
                "reason": p.reason[:300], "kind": p.kind}
        if fresh:
            joined = not await self.store.parking.park(job.part, job.route, job.item, int(at * 1000), meta)
            if joined:
                log.info("%s waits behind earlier messages to the same recipient", _recipient(job.out))
        else:
            await self.store.parking.again(job.part, job.route, int(at * 1000), meta)
        metrics.SENDS.labels(job.out["channel"], "retried").inc()
        log.warning("%s: %s; try %d again in %.0fs", _recipient(job.out), p.reason, job.tries + 1, at - now)
        return False

    async def _resume(self, part: int, target: str, token: int) -> None:
        """A resume marker: send the target's held entries in order until one fails again."""
        item, meta = await self.store.parking.head(part, target, token)
        while item is not None:
            entry_id, data = parse_item(item)
            out = json.loads(data)
            job = Job(out, entry_id, data, target, part, done=int(meta.get("done", out.get("done", 0))),
                      tries=int(meta.get("tries", 0)), since=float(meta["since"]) if meta.get("since") else None,
                      maybe_sent=bool(int(meta.get("maybe_sent", 0))) or bool(out.get("replayed")))
            if not await self._run(job, fresh=False):
                return  # failed again: rescheduled, the rest keep waiting behind it
            item, meta = await self.store.parking.next(part, target, item), {}

    async def _give_up(self, job: Job, exc: WeComError) -> None:
        out = job.out
        if exc.fix:
            if await self.store.once(self.store.keys.reported(f"{exc.api}:{exc.errcode}"), DAY):
                log.error("WeCom configuration error on %s: errcode %s (%s). Fix: %s", exc.api, exc.errcode,
                          exc.errmsg, exc.fix)
        elif exc.errcode in GIVE_UP:
            log.info("not delivering to %s via %s: errcode %s %s", _recipient(out), exc.api, exc.errcode,
                     exc.errmsg)
        else:
            log.error("undeliverable outbox entry %s: %s", job.entry_id, exc)
        await self._dead(job, str(exc))

    async def _dead(self, job: Job, reason: str) -> None:
        """Keep what gave up with the parts already delivered, so a replay sends only the rest."""
        out = {k: v for k, v in job.out.items() if not k.startswith("_")}
        out["done"] = job.done
        out.setdefault("id", job.oid)
        await self.store.delivery.dead_letter({
            "d": json.dumps(out, ensure_ascii=False), "reason": reason, "from": job.entry_id, "k": job.route,
            "since": str(job.since or self.clock())})
        metrics.SENDS.labels(out["channel"], "dead").inc()

    # -- the retry timer (worker role) -----------------------------------------------------
    async def release_due(self) -> int:
        """Put a resume marker into the outbox for every target whose next try is due."""
        return await self.store.parking.claim(int(self.clock() * 1000), RESUME_LEASE_MS, self.store.outbox.key)

    async def run_retries(self) -> None:
        while True:
            try:
                await self.release_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the held entries wait in Redis; try again shortly
                metrics.LOOP_ERRORS.labels("sender_retries").inc()
                log.exception("retry timer: could not release due recipients; trying again")
                await asyncio.sleep(5)
            await asyncio.sleep(self.cfg.sender.retry_poll_seconds)

    # -- channels ----------------------------------------------------------------------------
    async def _app(self, out: dict, text: str, body: dict | None = None) -> None:
        msg = body or {out["msgtype"]: {"content": text}, "msgtype": out["msgtype"]}
        # A retry resends the same JSON; WeCom drops a repeat within the interval, which covers the
        # retry horizon up to WeCom's maximum of 4 h (docs/delivery.md).
        interval = int(min(max(self.cfg.sender.retry_horizon_seconds, 1800), 14400))
        await self.api.call("message/send", secret=self.app_secret, json_body={
            "touser": out["to"], "agentid": self.cfg.wecom.app.agent_id, **msg,
            "enable_duplicate_check": 1, "duplicate_check_interval": interval})

    async def _appchat(self, out: dict, text: str, body: dict | None = None) -> None:
        msg = body or {out["msgtype"]: {"content": text}, "msgtype": out["msgtype"]}
        await self.api.call("appchat/send", secret=self.app_secret, json_body={"chatid": out["to"], **msg})

    async def _webhook(self, out: dict, text: str, body: dict | None = None) -> None:
        msg = body or {"msgtype": out["msgtype"], out["msgtype"]: {"content": text}}
        await self.api.call("webhook/send", params={"key": out["to"]}, json_body=msg)

    async def _aibot(self, out: dict, text: str) -> None:
        try:
            await self.api.call(out["to"], json_body={"msgtype": "markdown", "markdown": {"content": text}})
        except WeComError as exc:
            # response_url works once: after a try that went unanswered, its refusal means the
            # first one arrived (at most once, docs/delivery.md).
            if out.get("_try", {}).get("maybe_sent") and not isinstance(exc, Transient):
                log.info("aibot response_url refused after an unanswered try (%s): taken as delivered", exc.errcode)
                return
            raise

    async def _file(self, out: dict) -> None:
        f = out["file"]
        upload = (f["name"], base64.b64decode(f["b64"]))
        body: dict[str, Any]
        if out["channel"] == "webhook":
            res = await self.api.call("webhook/upload_media", params={"key": out["to"], "type": "file"}, upload=upload)
            body = {"msgtype": "file", "file": {"media_id": res["media_id"]}}
            await self._webhook(out, "", body)
            return
        res = await self.api.call("media/upload", secret=self.app_secret, params={"type": "file"}, upload=upload)
        body = {"msgtype": "file", "file": {"media_id": res["media_id"]}}
        if out["channel"] == "appchat":
            await self._appchat(out, "", body)
        else:
            await self._app(out, "", body)
