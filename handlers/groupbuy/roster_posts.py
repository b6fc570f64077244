"""The 接龙 list for the guide and for the groups: `/接龙单 团6` gives the live roster and a
paste-ready list text (the format shoppers copy and add their line to); `/接龙单 6 群发` posts it to
the store's customer groups now, `/接龙单 6 定时 12:00 18:00` at those times each day until the
团 closes, each post within the tenant's 群发 quota (handlers/shoppers/posts.py counts it)."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from typing import TYPE_CHECKING

from bot.config import Config
from bot.message import Message, Reply
from bot.outbox import Emit
from bot.router import Handled, Router
from bot.scheduler import Job
from handlers.groupbuy import context, views
from store import Store

if TYPE_CHECKING:
    from handlers.shoppers import Shoppers

router = Router(__name__, title="接龙团购")  # the title puts /接龙单 under 接龙 in 帮助
JOBS = [Job("listen_roster", "* * * * *")]

_ARGS = re.compile(r"^\s*(?:团号?|#)?\s*(?P<gid>\d{1,9})\s*(?P<rest>.*)$")
_TIME = re.compile(r"([01]?\d|2[0-3])[:：点](\d{2})?")
MAX_TIMES = 6
ROSTER_TTL = 30 * 86400


def paste_list(gb, lines) -> Reply:
    return Reply("groupbuy/paste_list.txt.j2", **views.roster(gb, lines))


@router.command("接龙单", "接龙名单", roles=("guide",))
async def roster(args: str, msg: Message, store: Store, config: Config, role: str, shoppers: Shoppers,
                 now: float) -> Handled:
    """/接龙单 团号 [群发｜定时 12:00 18:00] — 实时接龙名单和可复制的接龙文本，或群发到客户群"""
    m = _ARGS.match(args or "")
    if m is None:
        return Reply("groupbuy/paste_list_done.txt.j2", what="usage", gid=0, times=[])
    gid, rest = int(m["gid"]), m["rest"].strip()
    gb = await store.groupbuys.get(gid)
    if gb is None:
        return Reply("groupbuy/guide_done.txt.j2", what="not_found", gid=gid, g=None)
    if not context.may_manage(config, msg.sender, role, gb):
        return Reply("groupbuy/guide_done.txt.j2", what="not_yours", gid=gid, g=None)
    lines = await store.groupbuys.lines(gid)
    if not rest:
        return [Reply("groupbuy/roster.txt.j2", **views.roster(gb, lines)), paste_list(gb, lines)]
    if gb.status != "open":
        return Reply("groupbuy/paste_list_done.txt.j2", what="closed", gid=gid, times=[])
    if rest.startswith("群发"):
        res = await shoppers.post_to_groups(gb.store_id, paste_list(gb, lines), origin=msg, scene=f"gb{gid}",
                                            now=now)
        return res.replies
    if rest.startswith("定时"):
        spec = rest[2:].strip()
        times = [] if spec in ("关", "取消", "停", "") else sorted({f"{int(h):02d}:{int(mm or 0):02d}"
                                                                  for h, mm in _TIME.findall(spec)})[:MAX_TIMES]
        if spec not in ("关", "取消", "停") and not times:
            return Reply("groupbuy/paste_list_done.txt.j2", what="usage", gid=gid, times=[])
        await store.listen.set_roster_times(gid, times, ROSTER_TTL)
        return Reply("groupbuy/paste_list_done.txt.j2", what="times", gid=gid, times=times)
    return Reply("groupbuy/paste_list_done.txt.j2", what="usage", gid=gid, times=[])


@router.schedule("listen_roster")
async def post_rosters(msg: Message, store: Store, config: Config, shoppers: Shoppers | None, emit: Emit,
                       now: float) -> None:
    """Post each open 团's list at the times its guide chose (the job runs every minute)."""
    state = store.listen
    local = datetime.fromtimestamp(msg.time or now, ZoneInfo(config.bot.timezone))
    hhmm = local.strftime("%H:%M")
    for gid, times in (await state.roster_times()).items():
        gb = await store.groupbuys.get(gid)
        if gb is None or gb.status != "open" or now >= gb.cutoff:
            await state.drop_roster(gid)
            continue
        if hhmm not in times or shoppers is None:
            continue
        # One post per 团 and minute, whoever runs it and however often the job is redelivered.
        origin = Message(id=f"roster:{gid}:{local:%Y%m%d}:{hhmm}", channel="schedule", conversation=msg.conversation,
                         sender_kind="system", time=msg.time)
        res = await shoppers.post_to_groups(gb.store_id, paste_list(gb, await store.groupbuys.lines(gid)),
                                            origin=origin, scene=f"gb{gid}", now=now)
        await emit(origin, res.replies)
    return None
