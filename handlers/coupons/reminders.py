"""Expiry reminders: the day before a code expires, its holder gets one kf message about it.

Runs as the scheduled job `coupon_reminders` (default 10:00 daily). Codes expire at the end of a
local day, so "tomorrow" is a whole local day. kf only lets us write within 48 h of the shopper's
last message, so shoppers not seen within that window are skipped (and marked, so nobody is ever
reminded twice about a code). One message per shopper lists all of their codes due tomorrow.
"""
from __future__ import annotations

import logging
from bot.config import Config
from bot.message import Message, Reply, Target
from bot.outbox import Emit
from handlers.coupons import service
from handlers.coupons.codes import format_code
from store import Store

log = logging.getLogger(__name__)


async def send_reminders(store: Store, config: Config, emit: Emit, msg: Message, *, now: float) -> dict[str, int]:
    """Queue tomorrow's reminders; returns counts {sent, unreachable, codes} for logs and tests."""
    start, end = service.day_bounds(1, now, config)
    records = [r for r in await store.coupons.expiring(start, end) if not r.get("reminded")]
    by_holder: dict[str, list[dict[str, str]]] = {}
    for rec in records:
        by_holder.setdefault(rec["holder"], []).append(rec)
    statics = await service.campaign_statics(store, config, list(dict.fromkeys(r["campaign"] for r in records)))
    sent = unreachable = 0
    for holder, recs in by_holder.items():
        seen = await store.coupons.seen(holder)
        if seen is None or not seen[1]:
            await store.coupons.mark_reminded(recs, "unreachable")
            unreachable += 1
            continue
        codes = [{"campaign": statics[r["campaign"]], "code": r["code"], "display": format_code(r["code"]),
                  "expires_at": int(r["expires_at"])} for r in recs if r["campaign"] in statics]
        # Queue first, then mark: a crash in between re-queues under the same outbox id (deduped).
        await emit(msg, [Reply("coupons/reminder.txt.j2", to=Target("kf", seen[1]), codes=codes)],
                   tag=f"!remind:{holder}")
        await store.coupons.mark_reminded(recs, f"sent:{int(now)}")
        sent += 1
    if records:
        log.info("coupon reminders: %d shoppers reminded, %d out of the kf window, %d codes",
                 sent, unreachable, len(records))
    return {"sent": sent, "unreachable": unreachable, "codes": len(records)}
