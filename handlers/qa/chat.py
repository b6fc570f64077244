"""Answering product and store questions in chat, from the asker's store index.

The catch-all: it runs after every feature with its own phrases, right before help.fallback.

- Shoppers (微信客服 1:1, or an archived customer-group line that @mentions the bot) get the
  answer for their store; asks for an out-of-stock product or an item the store does not carry
  are recorded as demand for the buyers' digest, once per shopper and day.
- Chatter gets nothing; a line nobody can place gets, in 1:1, a one-line hint at most every
  `[qa] hint_every_minutes` per conversation, and silence in between.
- In a group the bot answers only when addressed: the 智能机器人 channel always is, other group
  channels need "@<[bot] name>".
- Staff asking in 1:1 (or @bot) get product, FAQ and promotion answers from their store's index;
  anything else passes on (SKIP) so help.fallback can answer them.
- A numbered list ("您问的是哪一款？") can be answered with its number for `[conversation]
  pending_minutes`; any other line drops it.
"""
from __future__ import annotations

import logging
import re

from bot import conversation
from bot.config import Config
from bot.message import Message, Reply
from bot.router import PREFIXES, SKIP, Handled, Router
from handlers.digest import demand_day
from handlers.qa.answer import reply_for
from handlers.qa.cache import QACache
from handlers.qa.engine import Match
from handlers.qa.settings import Settings
from handlers.shoppers import Shoppers
from store import Store
from store.qa_state import QAState

log = logging.getLogger(__name__)
router = Router(__name__)

UNKNOWN_STORE = "*"  # demand of a shopper whose store nothing tells (the digest shows it as such)
_PICK = re.compile(r"^\s*(?:第\s*)?([1-9一二三四五六七八九])\s*(?:个|款|号|种|项)?\s*[.。、!！~～]?\s*$")
_CN_DIGITS = "一二三四五六七八九"
_SILENT_STAGES = ("chatter", "statement")  # chatter and remarks ("草莓很甜") need no hint either


def addressed(msg: Message, config: Config) -> bool:
    """1:1 always; in a group only the 智能机器人 channel or an @mention of the bot."""
    if msg.chat_type != "group":
        return True
    return msg.channel == "aibot" or f"@{config.bot.name}" in (msg.text or "")


def _picked(text: str) -> int | None:
    m = _PICK.match(text)
    if not m:
        return None
    d = m.group(1)
    return int(d) if d.isdigit() else _CN_DIGITS.index(d) + 1


@router.any_text()
async def answer(msg: Message, role: str, qa: QACache, qa_state: QAState, qa_settings: Settings,
                 shoppers: Shoppers, store: Store, config: Config, now: float) -> Handled:
    """草莓多少钱 / 车厘子有货吗 / 几点关门 — 直接问商品的价格、库存、规格、产地、保质期和活动"""
    text = (msg.text or "").strip()
    staff = role != "shopper"
    if msg.kind != "text" or not text or (staff and text.startswith(PREFIXES)) or not addressed(msg, config):
        return SKIP
    store_id, groups = await _store_of(msg, role, shoppers)
    index = await qa.index(store_id)
    if qa.empty:
        return SKIP  # no catalog imported yet: "we don't have that" would be wrong for everything
    conv = msg.conversation
    # A numbered list takes only its own numbers (a pending question, store/pending.py); any other
    # line drops it and is answered as itself.
    offered = await qa_state.offered(conv, msg.id, now)
    match = _from_list(text, offered, index)
    if match is not None:
        await qa_state.picked(conv, msg.id)
    elif offered is not None:
        await qa_state.withdraw(conv)
    if match is None and _picked(text) is not None:
        return SKIP if staff else None  # a number answering no list (expired, or out of range)
    if match is None:
        match = index.match(text)
    if staff and match.intent in ("none", "unknown_product"):
        return SKIP
    noted = False
    if not staff:
        noted = await _record_demand(match, msg, text, store_id, groups, shoppers, store, config, now)
    kf = msg.channel == "kf"
    reply = reply_for(match, index, noted=noted, human=kf, pick=True)
    if reply is None:
        if msg.chat_type == "single" and match.stage not in _SILENT_STAGES and await qa_state.may_hint(
                conv, qa_settings.hint_every_minutes * 60):
            return Reply("qa/hint.txt.j2", human=kf)
        return None
    if match.intent == "clarify":
        await qa_state.offer(conv, match.candidate_skus, match.attribute, now=now,
                             ttl=conversation.settings(config).pending_seconds)
    if match.intent == "product" and store_id and not staff:
        reply.ctx["tuan"] = await _open_tuan(store, store_id, match.product.sku)
    return reply


async def _open_tuan(store: Store, store_id: str, sku: str) -> dict | None:
    """A 团 of this product open in the shopper's store: the answer points to it, since its price
    is usually below the shelf price the catalog gives."""
    for gb in await store.groupbuys.open_groups(store_id):
        if gb.sku == sku:
            return {"id": gb.id, "price_fen": gb.price_fen, "unit": gb.unit, "cutoff": gb.cutoff}
    return None


async def _store_of(msg: Message, role: str, shoppers: Shoppers) -> tuple[str | None, dict[str, int]]:
    """The store whose index answers, and (for a shopper) the customer groups they are in."""
    if role != "shopper":
        return shoppers.store_of_guide(msg.sender), {}
    if msg.channel == "kf":
        ctx = await shoppers.context(msg)
        return (ctx.store_id, ctx.groups) if ctx else (None, {})
    if msg.chat_id:  # an archived customer-group line
        return await shoppers.groups.store_of_group(msg.chat_id), {msg.chat_id: msg.time}
    return None, {}


def _from_list(text: str, offered: tuple[list[str], str] | None, index) -> Match | None:
    """A bare number answering the list last offered in this conversation."""
    n = _picked(text)
    if n is None or offered is None or n > len(offered[0]):
        return None
    product = index.product(offered[0][n - 1])
    if product is None:  # gone from the catalog since the list was shown
        return None
    return Match("product", product=product, attribute=offered[1] or "price", confidence=1.0, stage="pick")


async def _record_demand(match: Match, msg: Message, text: str, store_id: str | None, groups: dict[str, int],
                         shoppers: Shoppers, store: Store, config: Config, now: float) -> bool:
    """Out of stock -> unmet (SKU); not carried -> wish (term). True when it is on record."""
    if match.demand is None:
        return False
    kind, item = match.demand
    guide = await _credited_guide(shoppers, store_id, groups)
    await store.demand.record(demand_day(config, now), kind, store_id or UNKNOWN_STORE, item, msg.sender,
                              example=text, guide=guide)
    return True


async def _credited_guide(shoppers: Shoppers, store_id: str | None, groups: dict[str, int]) -> str:
    """The owner of the store's customer group the shopper joined last, else ""."""
    if not store_id:
        return ""
    for chat, _ in sorted(groups.items(), key=lambda kv: kv[1], reverse=True):
        if await shoppers.groups.store_of_group(chat) == store_id:
            return await shoppers.groups.owner(chat)
    return ""
