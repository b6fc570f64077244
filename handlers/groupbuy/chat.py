"""接龙 routes: guide commands, the shopper catch-all for 接龙 words, and the cutoff job.

Order inside this router matters: commands first, then 确认 (only what handlers/confirm.py routed
to 接龙: a draft 团, or a /结团 or /撤团 preview), then the
shopper text handler, which returns SKIP for anything that is not 接龙 so the Q&A catch-all
placed after this router still gets it.
"""
from __future__ import annotations

import re

from bot import conversation, staff
from typing import TYPE_CHECKING

from bot.config import Config
from bot.message import Message, Reply
from bot.outbox import Emit
from bot.router import SKIP, Handled, Router
from bot.scheduler import Job
from handlers import confirm as confirming
from handlers.groupbuy import closing, context, launch, shopping, views
from handlers.groupbuy.numerals import CLASSIFIERS, convert, parse_number
from handlers.groupbuy.opening import to_fen
from handlers.groupbuy.context import CatalogNamesCache
from handlers.groupbuy.text import clean
from store import Store

if TYPE_CHECKING:
    from bot.wecom_api import WeComClient
    from handlers.shoppers import Shoppers

router = Router(__name__, title="接龙团购")

JOBS = [Job("groupbuy_cutoff", "@every 30", catch_up=True)]

_GID = re.compile(r"^\s*(?:团号?|#)?\s*(\d{1,9})\s*$")
_PICK_NO = re.compile(r"^\s*(?:团号?)?(\d{1,9})\s*(?:[-－—#/]\s*|\s+)(?:第)?(\d{1,5})号?\s*$")
_PICK_TAG = re.compile(r"^\s*(?:团号?)?(\d{1,9})\s+(.+)$")
_CL = "|".join(sorted(CLASSIFIERS, key=len, reverse=True))
_PROXY_TAIL = rf"\s*(?P<cl>{_CL})?(?:\s+(?P<tag>.+?))?\s*$"
# Digits first, so a name holding a numeral (王二 2) keeps it; a Chinese quantity needs its unit.
_PROXY_DIGITS = re.compile(r"^\s*(?:团号?)?(?P<gid>\d{1,9})\s+(?P<name>[^\s\d]{1,16})\s*(?P<qty>\d{1,3})" + _PROXY_TAIL)
_PROXY_CN = re.compile(rf"^\s*(?:团号?)?(?P<gid>\d{{1,9}})\s+(?P<name>\S{{1,16}}?)\s*(?P<qty>[一二两三四五六七八九十]{{1,3}}|俩|仨)"
                       rf"\s*(?P<cl>{_CL})(?:\s+(?P<tag>.+?))?\s*$")


def _gid(args: str) -> int | None:
    m = _GID.match(args or "")
    return int(m.group(1)) if m else None


async def _managed(store, config, msg, role, gid: int | None, command: str):
    """(团, None) when the sender may act on 团 `gid`, else (None, the reply saying why)."""
    if gid is None:
        return None, Reply("groupbuy/usage.txt.j2", command=command)
    gb = await store.groupbuys.get(gid)
    if gb is None:
        return None, Reply("groupbuy/guide_done.txt.j2", what="not_found", gid=gid, g=None)
    if not context.may_manage(config, msg.sender, role, gb):
        return None, Reply("groupbuy/guide_done.txt.j2", what="not_yours", gid=gid, g=None)
    return gb, None


# -- guides ---------------------------------------------------------------------------------------
@router.command("开团", "開團", roles=("guide",), strict=True)
async def open_group(args: str, msg: Message, store: Store, config: Config, catalog_names: CatalogNamesCache,
                     now: float) -> Handled:
    """/开团 商品 价格 限量 每人限购 成团数 截止时间 自提 — 发起接龙团购"""
    return await launch.propose(args, msg, store, config, catalog_names, now)


# A 团 posted the way guides write it to their groups (开团啦！丹东草莓，团购价198…), no command.
_LOOSE_OPEN = r"^\s*[#/]?\s*(?:今日|今天|新)?开团(?:啦|了|咯|喽|啰)?\s*[!！~～,，:：。]"
# A bare price (36.9, 36.9元) from a guide: too little to act on, so one question says what it could mean.
_BARE_PRICE = r"^\s*[¥￥]?\s*(?P<p>\d{1,6}\.\d{1,2}|\d{1,6}(?:\.\d{1,2})?\s*[元块])\s*$"


@router.text(_LOOSE_OPEN, roles=("guide",))
async def open_loosely(msg: Message, store: Store, config: Config, catalog_names: CatalogNamesCache,
                       now: float) -> Handled:
    return await launch.propose(msg.text, msg, store, config, catalog_names, now)


@router.text(_BARE_PRICE, roles=("guide",))
async def bare_price(match: re.Match[str], msg: Message, store: Store) -> Handled:
    draft = await store.groupbuys.draft(msg.sender)
    fen = to_fen(match.group("p").rstrip("元块 "))
    return Reply("groupbuy/bare_price.txt.j2", price_fen=fen, draft=(draft or {}).get("product", ""),
                 unit=(draft or {}).get("unit", "份"))


@router.command("确认", "确定", "确认开团", roles=("guide",))
async def confirm(msg: Message, store: Store, config: Config, api: WeComClient, emit: Emit, shoppers: Shoppers,
                  now: float) -> Handled:
    """确认 — 确认开团、结团或撤团（发 /开团、/结团、/撤团 之后）"""
    offer = await confirming.meant(store, msg, "groupbuy")  # handlers/confirm.py decided what it means
    if offer is None:
        return SKIP
    if offer["action"] in ("close", "cancel"):
        return await closing.confirmed(store, emit, config, msg, offer, now)
    replies = await launch.confirm(msg, store, config, api, now, shoppers)
    if await store.groupbuys.draft(msg.sender) is None:
        await store.confirmations.withdraw(msg.sender, "开团")
    return SKIP if replies is None else replies


@router.command("团", roles=("guide",))
async def groups(args: str, msg: Message, store: Store, config: Config, role: str) -> Handled:
    """/团 [团号] — 正在接龙的团；带团号看完整接龙名单"""
    gbs = store.groupbuys
    if not args.strip():
        stores = None if role == "admin" else staff.stores_of(config, msg.sender)
        if stores == ():
            return Reply("errors/no_store.txt.j2", action="list")
        found = []
        for s in stores or [None]:
            found += await gbs.open_groups(s)
        return Reply("groupbuy/overview.txt.j2", groups=[views.group(g) for g in sorted(found, key=lambda g: g.id)])
    gb, refusal = await _managed(store, config, msg, role, _gid(args), "团")
    if refusal:
        return refusal
    return Reply("groupbuy/roster.txt.j2", **views.roster(gb, await gbs.lines(gb.id)))


@router.command("代报", "帮报", roles=("guide",), strict=True)
async def proxy(args: str, msg: Message, store: Store, config: Config, role: str, now: float) -> Handled:
    """/代报 团号 姓名 数量 [提货标记] — 替电话下单的顾客接龙（数量0为取消）"""
    parsed = _proxy_args(clean(args or ""))
    if parsed is None:
        return Reply("groupbuy/usage.txt.j2", command="代报")
    gid, name, qty, unit, tag = parsed
    gb, refusal = await _managed(store, config, msg, role, gid, "代报")
    if refusal:
        return refusal
    qty = convert(qty, unit, gb.unit)
    if qty is None or qty.denominator != 1:  # 2斤 for a 团 counted in 盒
        return Reply("groupbuy/usage.txt.j2", command="代报")
    out = await store.groupbuys.proxy(gb.id, msg.id, now, name, int(qty), by=msg.sender, tag=tag)
    return [Reply("groupbuy/proxy.txt.j2", name=name, **views.receipt(gb, out)),
            *shopping.promoted_replies(gb, out, f"tel:{name}")]


def _proxy_args(text: str):
    """(团, name, quantity, unit or None, pickup tag) of "/代报 12 李阿姨 2 3栋502", also written
    "12 李阿姨2盒" or "12 李阿姨 两盒"; None when it does not read so."""
    m = _PROXY_DIGITS.match(text) or _PROXY_CN.match(text)
    if m is None:
        return None
    qty = parse_number(m["qty"])
    if qty is None or qty < 0:
        return None
    return int(m["gid"]), m["name"][:16], qty, m["cl"], re.sub(r"\s+", "", m["tag"] or "")


@router.command("结团", "截团", roles=("guide",), strict=True)
async def close_early(args: str, msg: Message, store: Store, config: Config, role: str, now: float) -> Handled:
    """/结团 团号 — 提前截单（先看会通知谁，回复确认后执行）"""
    gb, refusal = await _managed(store, config, msg, role, _gid(args), "结团")
    if refusal:
        return refusal
    return await closing.preview(store, config, msg, gb, "close", now)


@router.command("撤团", roles=("guide",), strict=True)
async def cancel_group(args: str, msg: Message, store: Store, config: Config, role: str, now: float) -> Handled:
    """/撤团 团号 — 撤销这个团（先看会通知谁，回复确认后执行）"""
    gb, refusal = await _managed(store, config, msg, role, _gid(args), "撤团")
    if refusal:
        return refusal
    return await closing.preview(store, config, msg, gb, "cancel", now)


@router.command("提货", "核销接龙", roles=("guide",))
async def collect(args: str, msg: Message, store: Store, config: Config, role: str, now: float) -> Handled:
    """/提货 团号-接龙号 或 /提货 团号 提货标记 — 核销提货"""
    gbs = store.groupbuys
    m = _PICK_NO.match(args or "")
    if m:
        gb, refusal = await _managed(store, config, msg, role, int(m.group(1)), "提货")
        if refusal:
            return refusal
        no = int(m.group(2))
        out = await gbs.collect(gb.id, msg.id, now, no=no, by=msg.sender)
        spaced = not args[m.end(1):m.start(2)].strip(" 第")
        if out.code == "no_line" and spaced and len(m.group(2)) >= 3:
            # "/提货 12 502": no line 502, so 502 is a room number written as the pickup tag.
            by_tag = await gbs.collect(gb.id, f"{msg.id}#tag", now, tag=m.group(2), by=msg.sender)
            if by_tag.code != "no_line":
                return _collected(gb, by_tag, m.group(2))
        return _collected(gb, out, no)
    m = _PICK_TAG.match(args or "")
    if m:
        gb, refusal = await _managed(store, config, msg, role, int(m.group(1)), "提货")
        if refusal:
            return refusal
        tag = re.sub(r"\s+", "", clean(m.group(2)))
        return _collected(gb, await gbs.collect(gb.id, msg.id, now, tag=tag, by=msg.sender), tag)
    tag = re.sub(r"\s+", "", clean(args or ""))
    if not tag:
        return Reply("groupbuy/usage.txt.j2", command="提货")
    # A tag alone: look in the store's recently closed 团, newest first.
    stores = None if role == "admin" else staff.stores_of(config, msg.sender)
    if stores == ():
        return Reply("errors/no_store.txt.j2", action="pickup")
    ids: list[int] = []
    for s in stores or [None]:
        ids += await gbs.recent_ids(s, now)
    last = None
    for gb in sorted(await gbs.many(sorted(set(ids))), key=lambda g: -g.id):
        out = await gbs.collect(gb.id, msg.id, now, tag=tag, by=msg.sender)
        if out.code in ("collected", "already"):
            return _collected(gb, out, tag)
        last = (gb, out)
    if last is None:
        return Reply("groupbuy/usage.txt.j2", command="提货")
    return _collected(last[0], last[1], tag)


def _collected(gb, out, ref: str | int) -> Reply:
    """`ref` is what the guide named: a 接龙号 (int) or a pickup tag."""
    return Reply("groupbuy/collect.txt.j2", code=out.code, g=views.group(gb), ref=ref,
                 lines=[views.line(x) for x in out.changed if x.status == "collected"],
                 already=[x.no for x in out.already])


# -- scheduler ------------------------------------------------------------------------------------
@router.schedule("groupbuy_cutoff")
async def cutoff(msg: Message, store: Store, emit: Emit, config: Config, now: float) -> None:
    await closing.sweep(msg, store, emit, config, now)


# -- shoppers -------------------------------------------------------------------------------------
@router.any_text(roles=("shopper",))
async def shopper(msg: Message, store: Store, role: str, shoppers: Shoppers, catalog_names: CatalogNamesCache,
                  config: Config, now: float) -> Handled:
    """+1 / 我要2盒 / 改成3份 / 取消 / 我报了几份 — 参加接龙团购"""
    if role != "shopper" or msg.kind != "text" or not (msg.text or "").strip():
        return SKIP
    replies = await shopping.handle(msg, store, now, shoppers, catalog_names,
                                    conversation.settings(config).pending_seconds)
    return SKIP if replies is None else replies


# -- wiring ---------------------------------------------------------------------------------------
async def setup(deps: dict) -> None:
    """Call after the shopper channel's setup: its kf links with scene "gb<团>" then resolve to
    the 团's store."""
    shoppers, store = deps.get("shoppers"), deps["store"]
    deps["catalog_names"] = context.CatalogNamesCache()
    if shoppers is not None:
        shoppers.add_scene_resolver(lambda scene, param: context.store_of_scene(store, scene, param))
        shoppers.add_pending_reads("groupbuy")  # "which 团?", read on every line that may mean a 团
