"""The digest job: freeze every business day whose cutoff has passed, then deliver each
recipient's digest once, on that recipient's own schedule.

It runs every minute (`digest_tick`) and works out what is due from the clock and Redis alone, so
per-recipient crons need no scheduler entries and a restart catches up by itself:

- Freeze: each day whose cutoff passed within `catch_up_days` and has no snapshot gets one.
- Deliver: for each recipient, every fire of its cron in the last `catch_up_days` (but not before
  the recipient was first configured) names the latest business day closed by then. Each
  (day, recipient) not yet recorded as sent is queued, marked 补发 (late) when more than
  `late_after` seconds after its fire.

Exactly once per (day, recipient): the replies are queued under the message id
"digest:<day>:<recipient>", independent of which tick or replica queued them, and the outbox
drops ids it has seen; a per-(day, recipient) lock keeps two replicas from building it at the
same moment, and the "sent" record (kept 60 days, long after the outbox forgets ids) stops later
ticks before they build anything.

Purchasing requests the outbox gave up on (the purchasing system was down for longer than its
retries) are queued again by later ticks at growing intervals until the system settles them
(`requeue_purchasing`).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.config import Config
from bot.message import Attachment, Message, Reply, Target
from bot.outbox import Emit
from bot.split import limit_for
from handlers.digest import parts, purchasing, sheet
from handlers.digest.day import cutoff_ts, last_closed_day, shift
from handlers.digest.load import build_for, freeze_day, prepare, store_facts
from handlers.digest.settings import Recipient, Settings
from store import Store
from store.keys import DAY

log = logging.getLogger(__name__)
PURCHASING = "@purchasing"  # the purchasing system's name in the once-per-day record


@dataclass(frozen=True)
class Due:
    recipient: str
    day: str
    fire: float  # the scheduled time this delivery answers
    late: bool


def fires(spec: str, settings: Settings, since: float, until: float, cap: int = 2000) -> list[float]:
    """Fire times of a cron spec in (since, until]."""
    trigger = CronTrigger.from_crontab(spec, timezone=settings.tz)
    out: list[float] = []
    prev = None
    t = trigger.get_next_fire_time(None, datetime.fromtimestamp(since, settings.tz) + timedelta(microseconds=1))
    while t is not None and t.timestamp() <= until and len(out) < cap:
        out.append(t.timestamp())
        prev = t
        t = trigger.get_next_fire_time(prev, t + timedelta(seconds=1))
    return out


def due_days(settings: Settings, now: float) -> list[str]:
    """Business days whose cutoff passed within the catch-up window, oldest first."""
    last = last_closed_day(now, settings.cutoff, settings.tz)
    days = [shift(last, -i) for i in range(settings.catch_up_days, -1, -1)]
    return [d for d in days if now - settings.catch_up_days * DAY < cutoff_ts(d, settings.cutoff, settings.tz) <= now]


def plan(settings: Settings, names_specs: dict[str, str], seen: dict[str, float], now: float) -> list[Due]:
    """What is due for each recipient (name -> cron spec), before checking what was sent."""
    out = []
    horizon = now - settings.catch_up_days * DAY
    for name, spec in names_specs.items():
        per_day: dict[str, float] = {}
        for f in fires(spec, settings, max(horizon, seen.get(name, now)), now):
            per_day.setdefault(last_closed_day(f, settings.cutoff, settings.tz), f)
        out += [Due(name, d, f, now - f > settings.late_after) for d, f in sorted(per_day.items())]
    return out


def origin(day: str, recipient: str) -> Message:
    """The synthetic message one (day, recipient) digest is queued under."""
    return Message(id=f"digest:{day}:{recipient}", channel="schedule", conversation=f"digest:{day}",
                   sender="digest", sender_kind="system", kind="schedule", event="digest_send")


def recipient_replies(digest: dict, rec: Recipient, settings: Settings, config: Config) -> list[Reply]:
    target = Target("webhook", rec.webhook) if rec.webhook else Target("app", "|".join(rec.users))
    name = sheet.filename(digest["date"]) if rec.xlsx else ""
    label = "" if rec.stores is None else "、".join(
        f.name for s, f in store_facts(config).items() if s in rec.stores) or "、".join(rec.stores)
    out = parts.replies(digest, target, limit=limit_for(target.channel, "markdown"), top=settings.top,
                        attachment=name, scope_label=label)
    if rec.xlsx:
        out[-1].attachment = Attachment(name, sheet.build(digest))
    return out


async def _once(store, day: str, name: str, build) -> bool:
    """Run `build` (which queues the digest) unless (day, name) was sent; True if it ran."""
    token = uuid.uuid4().hex
    if not await store.digest.lock(day, name, token):
        return False  # another replica is queueing it right now
    try:
        if await store.digest.sent(day, [name]):
            return False
        await build()
        return True
    finally:
        await store.digest.unlock(day, name, token)


class Prepared:
    """A day's inputs and history, read at most once per job run however many recipients need them."""

    def __init__(self, store, settings: Settings, now: float) -> None:
        self.store, self.settings, self.now, self.days = store, settings, now, {}

    async def __call__(self, day: str):
        if day not in self.days:
            self.days[day] = await prepare(self.store, self.settings, day, self.now)
        return self.days[day]


async def deliver_one(store: Store, emit: Emit, config: Config, settings: Settings, rec: Recipient, day: str, late: bool,
                      now: float, prepared: Prepared | None = None) -> bool:
    prepared = prepared or Prepared(store, settings, now)

    async def build() -> None:
        digest = build_for(await prepared(day), config, settings, now, scope=rec.stores, late=late)
        replies = recipient_replies(digest, rec, settings, config)
        await emit(origin(day, rec.name), replies)
        await store.digest.mark_sent(day, rec.name, now, late)
        log.info("digest %s queued for %s (%d messages%s)", day, rec.name, len(replies), ", late" if late else "")
    return await _once(store, day, rec.name, build)


async def post_purchasing(store: Store, emit: Emit, config: Config, settings: Settings, day: str, late: bool,
                          now: float, prepared: Prepared | None = None) -> bool:
    prepared = prepared or Prepared(store, settings, now)

    async def build() -> None:
        if settings.purchasing_scope == "all":
            scopes: list[tuple[str, list[str] | None]] = [("all", None)]
        else:
            scopes = [(s.id, [s.id]) for s in config.stores]
        replies = []
        for scope, stores in scopes:
            digest = build_for(await prepared(day), config, settings, now, scope=stores, late=late)
            if stores is not None and not digest["skus"]:
                continue  # nothing for this store today: no request
            await store.digest.put_request(day, scope, purchasing.encode(purchasing.payload(digest, day, scope)))
            replies.append(_purchasing_reply(day, scope))
        await emit(origin(day, PURCHASING), replies)
        await store.digest.mark_sent(day, PURCHASING, now, late)
    return await _once(store, day, PURCHASING, build)


def _purchasing_reply(day: str, scope: str) -> Reply:
    key = purchasing.idempotency_key(day, scope)
    return Reply("digest/purchasing.txt.j2", to=Target(purchasing.CHANNEL, key), key=key)


async def requeue_purchasing(store: Store, emit: Emit, day: str, now: float, *, force: bool = False) -> list[str]:
    """Queue the day's purchasing requests again that were queued but never settled (the outbox
    gave up on them): at the retry slots of purchasing.retry_slot, claimed once across replicas,
    or at once with `force` (the CLI). Returns the scopes queued."""
    first = (await store.digest.sent_log(day)).get(PURCHASING)
    if first is None:
        return []
    pending = [s for s in await store.digest.request_scopes(day) if s not in await store.digest.settled_scopes(day)]
    slot = purchasing.retry_slot(now - first["at"])
    out = []
    for scope in pending:
        if force:
            tag = f":again{int(now)}:{scope}"
        elif slot and await store.digest.claim_retry(day, scope, slot):
            tag = f":retry{slot}:{scope}"
        else:
            continue
        await emit(origin(day, PURCHASING), [_purchasing_reply(day, scope)], tag=tag)
        log.warning("purchasing request %s not accepted yet; queued again (%s)", purchasing.idempotency_key(day, scope),
                    tag.split(":")[1])
        out.append(scope)
    return out


async def tick(store: Store, emit: Emit, config: Config, settings: Settings, now: float) -> dict:
    """One run of the job; returns what it did (for logs and tests)."""
    done = {"frozen": [], "sent": [], "requeued": []}
    days = due_days(settings, now)
    have = await store.digest.frozen(days)
    for d in days:
        if d not in have and await freeze_day(store, d, settings, now):
            done["frozen"].append(d)
    specs = {r.name: r.send or settings.send for r in settings.recipients}
    if settings.purchasing_url:
        specs[PURCHASING] = settings.send
    seen = await store.digest.first_seen(list(specs), now)
    due = plan(settings, specs, seen, now)
    recipients = {r.name: r for r in settings.recipients}
    prepared = Prepared(store, settings, now)
    for d in sorted({x.day for x in due}):
        sent = await store.digest.sent(d, [x.recipient for x in due if x.day == d])
        for x in due:
            if x.day != d or x.recipient in sent:
                continue
            if x.recipient == PURCHASING:
                ok = await post_purchasing(store, emit, config, settings, d, x.late, now, prepared)
            else:
                ok = await deliver_one(store, emit, config, settings, recipients[x.recipient], d, x.late, now,
                                       prepared)
            if ok:
                done["sent"].append((d, x.recipient, x.late))
    if settings.purchasing_url:
        for d in days:
            done["requeued"] += [(d, scope) for scope in await requeue_purchasing(store, emit, d, now)]
    return done
