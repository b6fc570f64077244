"""Opening a 团: /开团 text -> a draft the guide checks -> 确认 -> a numbered 团 and its announcement."""
from __future__ import annotations

import logging
import re
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import staff
from bot.config import Config
from bot.limits import Limits, limits
from bot.message import Message, Reply
from handlers.groupbuy import context, views
from handlers.groupbuy.opening import OpenError, OpenSpec, parse_open
from store.groupbuy import DRAFT_TTL, GroupBuy

if TYPE_CHECKING:
    from store import Store

log = logging.getLogger(__name__)


def draft_fields(spec: OpenSpec, product, *, store_id: str, guide: str, draft_id: str) -> dict:
    """The meta fields of the 团 the guide is asked to confirm. A catalog product lends its name,
    aliases, sku and shelf price (as 原价); the unit stays the one the guide counts in."""
    aliases = list(dict.fromkeys([*(product.aliases if product else ()), spec.title]))
    name = product.name if product is not None else spec.title
    list_price = spec.list_price_fen
    like = product is not None and same_pack(spec, product)
    if list_price is None and like and product.price_fen > spec.price_fen:
        list_price = product.price_fen
    return {
        "product": name, "sku": product.sku if product else "", "aliases": [a for a in aliases if a != name],
        "unit": spec.unit, "price_fen": spec.price_fen,
        "bundle_qty": spec.bundle.qty if spec.bundle else 0,
        "bundle_price_fen": spec.bundle.price_fen if spec.bundle else 0,
        "list_price_fen": list_price or 0, "spec": spec.spec or (product.spec if like else "") or "",
        "cap": spec.cap or 0, "per_person": spec.per_person_limit or 0, "min_to_form": spec.min_to_form or 0,
        "cutoff": int(spec.cutoff.timestamp()), "pickup": spec.pickup, "notes": "；".join(spec.notes),
        "store_id": store_id, "guide": guide, "draft": draft_id,
    }


_WEIGHT = re.compile(r"(\d+(?:\.\d+)?)\s*(kg|千克|公斤|g|克|斤|ml|毫升|l|升)", re.I)
_GRAMS = {"kg": 1000, "千克": 1000, "公斤": 1000, "g": 1, "克": 1, "斤": 500, "ml": 1, "毫升": 1, "l": 1000, "升": 1000}


def _amount(spec: str | None) -> float | None:
    """Grams (or ml) of a pack spec such as 2斤, 2.5kg/箱, 500g/盒; None when it names none."""
    m = _WEIGHT.search(spec or "")
    return float(m.group(1)) * _GRAMS[m.group(2).lower()] if m else None


def same_pack(spec: OpenSpec, product) -> bool:
    """Whether the 团's unit is the catalog row's, so its shelf price may be shown as 原价: same
    counting unit and, when the guide wrote a pack size, the same size (a 2斤 pack is not the
    2.5kg case, and 10元/串 is not the price per 斤)."""
    if not product.unit or product.unit != spec.unit:
        return False
    mine, theirs = _amount(spec.spec), _amount(product.spec)
    return mine is None or theirs is None or abs(mine - theirs) < 0.01 * theirs


def over_limits(d, lim: Limits) -> list[str]:
    """Codes for the numbers of a 团 (OpenSpec or OpenDraft) above the configured sanity limits."""
    prices = [d.price_fen or 0, d.list_price_fen or 0, d.bundle.price_fen if d.bundle else 0]
    codes = []
    if max(prices) > lim.max_price_fen:
        codes.append("price_too_high")
    if (d.cap or 0) > lim.max_quantity:
        codes.append("cap_too_high")
    if (d.min_to_form or 0) > lim.max_quantity:
        codes.append("min_too_high")
    if (d.per_person_limit or 0) > lim.max_per_person:
        codes.append("limit_too_high")
    return codes


async def propose(args: str, msg: Message, store: Store, config: Config, names: context.CatalogNamesCache,
                  now: float) -> Reply:
    """Parse a /开团 command; keep a readable one as the guide's draft and show it for 确认."""
    if not args.strip():
        return Reply("groupbuy/usage.txt.j2", command="开团")
    tz = ZoneInfo(config.bot.timezone)
    spec = parse_open(args, datetime.fromtimestamp(now, tz), tz)
    lim = limits(config)
    d = spec.draft if isinstance(spec, OpenError) else spec
    codes = [*(spec.codes if isinstance(spec, OpenError) else ()), *over_limits(d, lim)]
    if codes:
        log.info("groupbuy open refused for %s: %s", msg.sender, ",".join(codes))
        return Reply("groupbuy/open_error.txt.j2", codes=codes, limits=asdict(lim), draft={
            "cutoff": int(d.cutoff.timestamp()) if d.cutoff else 0, "cap": d.cap or 0,
            "per_person_limit": d.per_person_limit or 0, "min_to_form": d.min_to_form or 0,
            "pickup": d.pickup or "", "price_fen": d.price_fen or 0, "unit": d.unit or "",
            "units": list(getattr(d, "units", ()))})
    mine = staff.stores_of(config, msg.sender)
    if not mine:
        return Reply("errors/no_store.txt.j2", action="open")
    store_id = mine[0]
    product = await context.resolve_product(store, names, spec.title, store_id)
    if not spec.price_unit_written and product is not None and product.unit and product.unit != spec.unit:
        # 团购价198 for a product sold by the 盒, counted in 份 (or 箱 from 限20箱): one question
        return Reply("groupbuy/ask_price_unit.txt.j2", product=product.name, price_fen=spec.price_fen,
                     unit=spec.unit, catalog_unit=product.unit)
    draft = draft_fields(spec, product, store_id=store_id, guide=msg.sender, draft_id=msg.id)
    await store.groupbuys.save_draft(msg.sender, draft)
    from handlers import confirm as confirming  # the shared 确认 router imports this feature
    await confirming.offer_draft(store, config, msg, "开团", feature="groupbuy", action="open", ttl=DRAFT_TTL, now=now,
                           label=draft["product"], price_fen=draft["price_fen"], unit=draft["unit"])
    return Reply("groupbuy/draft.txt.j2", g=draft, notes=list(spec.notes))


async def confirm(msg: Message, store: Store, config: Config, api, now: float,
                  shoppers=None) -> list[Reply] | None:
    """Open the guide's drafted 团. None when there is nothing of ours to confirm (确认 is shared
    with other features). A redelivered 确认 finds its 团 number again and repeats nothing."""
    gbs = store.groupbuys
    gid = await gbs.confirmed(msg.id)
    draft = await gbs.draft(msg.sender)
    if gid is None and draft is None:
        return None
    if gid is None:
        gid = await gbs.allocate(msg.id)
    gb = await gbs.get(gid)
    if gb is None:
        if draft is None:  # expired between two deliveries; nothing left to open
            return None
        gb = await gbs.create(gid, draft, now)
    if not gb.kf_link:
        link = await context.kf_link(shoppers, gb.store_id, gid)
        if link:
            await gbs.note(gid, "kf_link", link, only_new=True)
            gb = await gbs.get(gid) or gb
    await gbs.drop_draft(msg.sender, gb.draft)
    store_name = next((s.name for s in config.stores if s.id == gb.store_id), "")
    posts, post = await group_post(gb, store_name, msg, shoppers)
    return [Reply("groupbuy/opened.txt.j2", g=views.group(gb), **post), *posts]


async def group_post(gb: GroupBuy, store_name: str, origin: Message, shoppers) -> tuple[list[Reply], dict]:
    """The announcement of a new 团, and what the guide is told about it (opened.txt.j2's `post`).

    The announcement becomes a staff-confirmed 群发 to the store's customer groups with a kf link
    card whose scene is the 团 ("gb12"); the plan is keyed by the 确认 message, so a redelivery
    makes no second post, and the guide later gets the task notice (with the text and link to
    paste). When WeCom allows no post (every group used its 群发 of the quota period, or the store has no
    groups), the guide gets the text to paste, with the kf link written into it, and one sentence
    saying why: the channel's own refusal is not forwarded, as it repeats the card text, which
    carries no link when pasted.
    """
    paste = Reply("groupbuy/announce.txt.j2", g=views.group(gb), store_name=store_name, card=False)
    res = await shoppers.post_to_groups(gb.store_id, Reply("groupbuy/announce.txt.j2", g=views.group(gb),
                                                           store_name=store_name, card=True),
                                        origin=origin, scene=f"gb{gb.id}")
    if res.ok:
        return list(res.replies), {"post": "posted", "earlier_at": 0, "earlier_head": ""}
    earlier = next(iter(res.refused.values()), {})
    quota = next((r.ctx.get("quota") for r in res.replies if r.ctx.get("quota")), "day")
    return [paste], {"post": "used_today" if res.refused else "no_groups", "quota": quota,
                     "earlier_at": int(earlier.get("at") or 0), "earlier_head": earlier.get("head", "")}
