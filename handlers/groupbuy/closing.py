"""Cutoff, early close and 撤团: close each 团 once and tell the guide and every participant once.

Two guarantees, from two places:
- The Lua close flips open -> closed exactly once (`closed_now` for that one call only).
- The notices are queued under ids derived from the 团, not from the job run that closed it
  ("gb12:closed#0", "#1", ...), and the outbox drops ids it has seen. So two workers, two job
  fires that both saw the 团 due, a redelivered fire, or a restart after a crash between closing
  and queueing all end with one result per 团 and recipient. A 团 leaves the open index only
  after its notices are queued, so a crash in between is finished by the next sweep.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.config import Config
from bot.message import Attachment, Message, Reply, Target
from bot.outbox import Emit
from handlers.groupbuy import context, pickup_sheet, views
from store.groupbuy import GroupBuy, Line

if TYPE_CHECKING:
    from store import Store

log = logging.getLogger(__name__)


def origin(gid: int, outcome: str) -> Message:
    """The synthetic message the notices of one outcome of one 团 are queued under."""
    return Message(id=f"gb{gid}:{outcome}", channel="schedule", conversation=f"gb:{gid}", sender="groupbuy",
                   sender_kind="system", kind="schedule", event=f"groupbuy_{outcome}")


def _by_target(lines: list[Line]) -> list[tuple[Target, list[Line]]]:
    """Live lines grouped by where their owner is reached, in 接龙 order; unreachable ones left out."""
    groups: dict[str, list[Line]] = {}
    for x in lines:
        if x.status in ("active", "waiting", "collected") and context.target_from(x.target):
            groups.setdefault(x.target, []).append(x)
    return [(context.target_from(t), xs) for t, xs in groups.items()]


def result_replies(gb: GroupBuy, lines: list[Line], config: Config) -> list[Reply]:
    g = views.group(gb)
    getting = [x for x in lines if x.status in ("active", "collected")]
    reach = _by_target(lines)
    guide_ctx = dict(g=g, people=len(getting), amount_fen=sum(views.amount_fen(gb, x.qty) for x in getting),
                     reached=len(reach))
    attachment = None
    if gb.result == "formed":
        attachment = Attachment(pickup_sheet.filename(gb), pickup_sheet.build(gb, lines, config.bot.timezone))
    out = [Reply("groupbuy/result_guide.txt.j2", to=Target("app", gb.guide), attachment=attachment, **guide_ctx)]
    for target, xs in reach:
        got = [views.line(x) for x in xs if x.status in ("active", "collected")]
        out.append(Reply("groupbuy/result_shopper.txt.j2", to=target, g=g, got=got,
                         waiting=[views.line(x) for x in xs if x.status == "waiting"],
                         amount_fen=sum(views.amount_fen(gb, x.qty) for x in xs if x.status != "waiting"),
                         tag=next((x.tag for x in xs if x.tag), "")))
    return out


def cancel_replies(gb: GroupBuy, lines: list[Line]) -> list[Reply]:
    g = views.group(gb)
    return [Reply("groupbuy/group_cancelled.txt.j2", to=target, g=g) for target, _ in _by_target(lines)]


async def settle(store: Store, emit: Emit, config: Config, gid: int, now: float) -> tuple[GroupBuy | None, int]:
    """Queue the notices of a closed or cancelled 团 (once), then retire it from the open index.
    Returns the 团 and how many participants were reached."""
    gbs = store.groupbuys
    gb = await gbs.get(gid)
    if gb is None or gb.status == "open":
        return gb, 0
    lines = await gbs.lines(gid)
    reached = len(_by_target(lines))
    if gb.status not in gb.announced:
        if gb.status == "closed":
            replies = result_replies(gb, lines, config)
        else:
            replies = cancel_replies(gb, lines)
        await emit(origin(gid, gb.status), replies)
        await gbs.note(gid, f"announced_{gb.status}", str(int(now)))
        log.info("团 %s %s: notices queued for the guide and %d participants", gid, gb.status, reached)
    await gbs.retire(gb, now)
    return gb, reached


async def sweep(msg: Message, store: Store, emit: Emit, config: Config, now: float) -> int:
    """Close every open 团 whose cutoff has passed and settle every closed one not yet settled."""
    gbs = store.groupbuys
    closed = 0
    for gid in await gbs.open_ids():
        gb = await gbs.get(gid)
        if gb is None:
            continue
        if gb.status == "open":
            if gb.cutoff > now:
                continue
            out = await gbs.close(gid, msg.id, now, reason="cutoff", by="scheduler")
            closed += out.closed_now
            if out.closed_now:
                log.info("团 %s closed at cutoff (%s, total %s)", gid, out.result, out.total)
        await settle(store, emit, config, gid, now)
    return closed


# -- /结团 and /撤团: show who will be told what, act on 确认 ---------------------------------------
CONFIRM_TTL = 10 * 60  # a preview's numbers go stale: confirm it by name within ten minutes


def preview_facts(gb: GroupBuy, lines: list[Line]) -> dict:
    """Who closing or cancelling `gb` now would tell what (the chat preview and the console's)."""
    reach = _by_target(lines)
    getting = sum(1 for _, xs in reach if any(x.status == "active" for x in xs))
    phoned = len({x.owner for x in lines if x.live and x.owner.startswith("tel:")})
    formed = gb.min_to_form == 0 or gb.total >= gb.min_to_form
    return dict(g=views.group(gb), formed=formed, reached=len(reach), getting=getting, waiting=len(reach) - getting,
                phoned=phoned, shortfall=max(gb.min_to_form - gb.total, 0))


async def preview(store: Store, config: Config, msg: Message, gb: GroupBuy, action: str, now: float) -> Reply:
    """What closing (`close`) or cancelling (`cancel`) 团 `gb` now would tell whom; nothing changes
    until the guide confirms. A 团 that is no longer open says so instead."""
    from handlers import confirm as confirming  # the shared 确认 router imports features' modules
    if gb.status != "open":
        what = "gb_closed" if gb.status == "closed" else "gb_cancelled"
        return Reply("groupbuy/guide_done.txt.j2", what=what, g=views.group(gb), gid=gb.id, reached=0)
    ctx = dict(preview_facts(gb, await store.groupbuys.lines(gb.id)), action=action)
    await confirming.offer_draft(store, config, msg, f"团{gb.id}", feature="groupbuy", label=gb.product, ttl=CONFIRM_TTL,
                           now=now, action=action, gid=gb.id)
    return Reply("groupbuy/close_preview.txt.j2", minutes=CONFIRM_TTL // 60, **ctx)


async def confirmed(store: Store, emit: Emit, config: Config, msg: Message, offer: dict,
                    now: float) -> list[Reply]:
    """Carry out a confirmed /结团 or /撤团. The notices (and the guide's result with the 提货单)
    come from settle(); the guide's direct answer only adds what settle() does not say, so a 团
    below its minimum is reported once, as 未成团."""
    gbs, gid = store.groupbuys, int(offer["gid"])
    if offer["action"] == "close":
        out = await gbs.close(gid, msg.id, now, reason="early", by=msg.sender)
        done = out.closed_now
    else:
        out = await gbs.cancel_group(gid, msg.id, now, by=msg.sender)
        done = out.cancelled_now
    gb, reached = await settle(store, emit, config, gid, now)
    await store.confirmations.withdraw(msg.sender, f"团{gid}")
    if gb is None:
        return [Reply("groupbuy/guide_done.txt.j2", what="not_found", gid=gid, g=None)]
    if offer["action"] == "close" and done:
        return []  # result_guide.txt.j2, queued by settle(), is the one result the guide gets
    what = "cancelled_now" if done else out.code
    return [Reply("groupbuy/guide_done.txt.j2", what=what, g=views.group(gb), gid=gid, reached=reached)]
