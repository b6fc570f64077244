"""Digest routes: /需求 (today so far), /日报 [日期] [门店], and the every-minute digest job.

Guides see the stores they are listed under in [[stores]]; buyers and admins see every store and
may name one. Chat answers are split by section like the scheduled digest.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from bot import staff
from bot.config import Config
from bot.message import Attachment, Message, Reply
from bot.outbox import Emit
from bot.router import Handled, Router
from bot.scheduler import Job
from bot.split import limit_for
from handlers.digest import deliver, parts, sheet
from handlers.digest.day import business_day, last_closed_day, shift
from handlers.digest.load import digest_for, store_facts
from handlers.digest.settings import settings
from store import Store

router = Router(__name__, title="采购日报")

# Every minute: the job itself decides what is due (see deliver.py), so per-recipient schedules
# need no entries here and catch-up after downtime happens on the first tick.
JOBS = [Job("digest_tick", "* * * * *", catch_up=True)]

_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$")
_RELATIVE = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2}


def _scope(config, userid: str, role: str) -> list[str] | None | bool:
    """Store ids the user may see: None = all; False = a guide listed under no store."""
    if role in ("buyer", "admin"):
        return None
    return list(staff.stores_of(config, userid)) or False


def _parse(args: str, config, today: str, tz) -> tuple[str | None, str | None, str | None]:
    """(date, store id, bad token) from '/日报 06-13 梅溪湖店'."""
    day = store_id = None
    names = {s.id.lower(): s.id for s in config.stores} | {s.name: s.id for s in config.stores if s.name}
    for tok in args.split():
        if tok in _RELATIVE:
            day = shift(today, _RELATIVE[tok])
            continue
        m = _DATE.match(tok)
        if m:
            year = int(m.group(1)) if m.group(1) else int(today[:4])
            try:
                d = date(year, int(m.group(2)), int(m.group(3))).isoformat()
            except ValueError:
                return None, None, tok
            if not m.group(1) and d > today:
                d = date(year - 1, int(m.group(2)), int(m.group(3))).isoformat()  # "12-30" typed in January
            day = d
            continue
        sid = names.get(tok) or names.get(tok.lower())
        if sid:
            store_id = sid
            continue
        return None, None, tok
    return day, store_id, None


async def _answer(msg, store, config, role, now, day: str, args_store: str | None, closed_day: str = "",
                  with_file: bool = False):
    st = settings(config)
    scope = _scope(config, msg.sender, role)
    if scope is False:
        return Reply("digest/no_store.txt.j2")
    if args_store:
        if scope is not None and args_store not in scope:
            return Reply("digest/not_your_store.txt.j2", store=store_facts(config)[args_store].name)
        scope = [args_store]
    digest = await digest_for(store, config, st, day, now, scope=scope)
    label = "" if scope is None else "、".join(f.name for s, f in store_facts(config).items() if s in scope)
    name = sheet.filename(day) if with_file else ""
    # An @bot question in a group is answered through its response_url, which takes one message.
    aibot = msg.channel == "aibot"
    out = parts.replies(digest, None, limit=limit_for("aibot" if aibot else "app", "markdown"), top=st.top,
                        attachment=name, scope_label=label, closed_day=closed_day)
    if aibot:
        out = out[:1]
    if with_file:
        out[-1].attachment = Attachment(name, sheet.build(digest))
    return out


@router.command("需求", "需求速览", roles=("buyer", "guide"))
async def demand_now(args: str, msg: Message, store: Store, config: Config, role: str, now: float) -> Handled:
    """/需求 [门店] — 今天截至现在的顾客需求：成团、缺货问询、心愿单（未截单，实时）"""
    st = settings(config)
    day = business_day(now, st.cutoff, st.tz)
    _, store_id, bad = _parse(args, config, day, st.tz)
    if bad:
        return Reply("digest/usage.txt.j2", command="需求", bad=bad)
    closed = last_closed_day(now, st.cutoff, st.tz)
    today = datetime.fromtimestamp(now, st.tz).date().isoformat()
    return await _answer(msg, store, config, role, now, day, store_id, closed_day=closed if closed == today else "")


@router.command("日报", "采购日报", roles=("buyer", "guide"), strict=True)
async def daily(args: str, msg: Message, store: Store, config: Config, role: str, now: float) -> Handled:
    """/日报 [日期] [门店] — 某天的采购需求日报（默认最近一次截单；日期如 06-13、昨天）"""
    st = settings(config)
    latest = last_closed_day(now, st.cutoff, st.tz)
    # 今天 / 昨天 and a date without a year read on the calendar, not on business days: at 22:00,
    # after a 21:00 cutoff, "今天" is the day that just closed.
    today = datetime.fromtimestamp(now, st.tz).date().isoformat()
    day, store_id, bad = _parse(args, config, today, st.tz)
    if not bad and day and day > business_day(now, st.cutoff, st.tz):
        bad = day  # a day that has not started has no digest
    if bad:
        return Reply("digest/usage.txt.j2", command="日报", bad=bad)
    return await _answer(msg, store, config, role, now, day or latest, store_id,
                         with_file=msg.channel == "app" and role in ("buyer", "admin") and st.xlsx)


@router.schedule("digest_tick")
async def tick(msg: Message, store: Store, emit: Emit, config: Config, now: float) -> None:
    await deliver.tick(store, emit, config, settings(config), now)
