"""Guide commands that change one item: /改价, /库存, /促销.

The product is named as shoppers name it (resolved through the store's index) or by SKU. A guide
changes their own store's row; an admin changes every store's, or one store named first
(`/改价 S01 草莓 35.9`). Each change is applied once per message id (store/catalog.py) and
confirmed back as old → new. Without a command prefix a line that does not parse is not a command
after all ("库存 多少"), so it goes on to the Q&A handler.
"""
from __future__ import annotations

import re
from decimal import InvalidOperation

from bot import staff
from bot.config import Config
from bot.limits import limits
from bot.message import Message, Reply
from bot.router import SKIP, Handled, Router
from handlers.qa.answer import guessed
from handlers.qa.cache import QACache
from handlers.qa.catalog import parse_count, parse_yuan
from store.catalog import Product
from store import Store

router = Router(__name__)

MAX_PROMO_CHARS = 40
CLEAR_PROMO = frozenset(("无", "没有", "取消", "清除", "删除", "停止", "结束", "-", "—", "none"))
_PRICE_TAIL = re.compile(r"^(?P<item>.*?)\s*(?P<value>[¥￥]?\s*-?\d+(?:\.\d+)?)\s*(?:元|块)?$")
_STOCK_TAIL = re.compile(r"^(?P<item>.*?)\s*(?P<value>-?\d+(?:\.\d+)?|缺货|无货|没货|售罄)\s*[^\d\s]{0,1}$")
_SPACE = re.compile(r"\s+")


class Problem(Exception):
    """A reply explaining what is wrong with the command (raised to leave the handler early)."""

    def __init__(self, code: str, **ctx) -> None:
        super().__init__(code)
        self.code, self.ctx = code, ctx


@router.command("改价", "gaijia", roles=("guide",), strict=True)
async def set_price(args: str, had_prefix: bool, msg: Message, role: str, qa: QACache, store: Store,
                    config: Config) -> Handled:
    """/改价 商品 价格 — 改本店售价，如 /改价 草莓 35.9"""
    return await _edit("改价", "price_fen", args, had_prefix, msg, role, qa, store, config)


@router.command("库存", "kucun", roles=("guide",))
async def set_stock(args: str, had_prefix: bool, msg: Message, role: str, qa: QACache, store: Store,
                    config: Config) -> Handled:
    """/库存 商品 数量 — 改本店库存（0 为缺货），如 /库存 草莓 0"""
    return await _edit("库存", "stock", args, had_prefix, msg, role, qa, store, config)


@router.command("促销", "cuxiao", roles=("guide",))
async def set_promo(args: str, had_prefix: bool, msg: Message, role: str, qa: QACache, store: Store,
                    config: Config) -> Handled:
    """/促销 商品 活动 — 设置本店活动（写“无”取消），如 /促销 草莓 第二盒半价"""
    return await _edit("促销", "promo", args, had_prefix, msg, role, qa, store, config)


async def _edit(cmd: str, attribute: str, args: str, had_prefix: bool, msg: Message, role: str, qa: QACache,
                store: Store, config: Config):
    try:
        scope, rest = _scope(args, msg.sender, role, config)
        item, value = _split(attribute, rest)
        if not item or value is None:
            if not had_prefix:
                return SKIP
            raise Problem("usage")
        parsed = _value(attribute, value, limits(config).max_price_fen)
        product = await _resolve(qa, scope, item)
    except Problem as p:
        return Reply("qa/edit_problem.txt.j2", problem=p.code, cmd=cmd, **{"target": "", **p.ctx})
    result = await store.catalog.edit(product.sku, scope, attribute, parsed, msg.id)
    if result.status == "missing":  # removed by an import since the index was built
        return Reply("qa/edit_problem.txt.j2", problem="not_found", cmd=cmd, term=item, target="")
    if result.status == "not_carried":
        return Reply("qa/edit_problem.txt.j2", problem="not_carried", cmd=cmd, term=product.name,
                     store_name=_store_name(config, scope), target="")
    qa.invalidate()
    crossed = await _crossed_groups(store, config, scope, product.sku, parsed) if attribute == "price_fen" else []
    return Reply("qa/edit_done.txt.j2", cmd=cmd, attribute=attribute, p=result.after[0],
                 before=_distinct(result.before, attribute), after=getattr(result.after[0], attribute),
                 store_name=_store_name(config, scope), rows=len(result.after), crossed=crossed)


async def _crossed_groups(store: Store, config: Config, scope: str | None, sku: str, price_fen: int) -> list[dict]:
    """Open 团 of this product whose shoppers now see two prices that disagree: a 团购价 not below
    the new shelf price, or a 原价 that is no longer the shelf price. The guide is told; the 团
    itself keeps the price shoppers signed up for."""
    out = []
    for store_id in [scope] if scope else [s.id for s in config.stores]:
        for gb in await store.groupbuys.open_groups(store_id):
            if gb.sku != sku:
                continue
            if gb.price_fen >= price_fen or (gb.list_price_fen and gb.list_price_fen != price_fen):
                out.append({"id": gb.id, "product": gb.product, "unit": gb.unit, "price_fen": gb.price_fen,
                            "list_price_fen": gb.list_price_fen, "not_cheaper": gb.price_fen >= price_fen})
    return out


def _scope(args: str, user: str, role: str, config: Config) -> tuple[str | None, str]:
    """(the store the change is for, None = every store; the rest of the arguments)."""
    ids = {s.id.upper(): s.id for s in config.stores}
    own = list(staff.stores_of(config, user))
    head, _, rest = args.strip().partition(" ")
    if head.upper() in ids and rest.strip():
        named = ids[head.upper()]
        if role != "admin" and named not in own:
            raise Problem("wrong_store", stores=[{"id": s, "name": _store_name(config, s)} for s in own])
        return named, rest.strip()
    if role == "admin":
        return None, args.strip()
    if len(own) == 1:
        return own[0], args.strip()
    if not own:
        raise Problem("no_store")
    raise Problem("which_store", stores=[{"id": s, "name": _store_name(config, s)} for s in own], store_hint=own[0])


def _split(attribute: str, rest: str) -> tuple[str, str | None]:
    """(product words, value words); the value is the last word (a promo: everything after the first)."""
    rest = _SPACE.sub(" ", rest.strip())
    if attribute == "promo":
        item, _, value = rest.partition(" ")
        return item, (value.strip() or None)
    m = (_PRICE_TAIL if attribute == "price_fen" else _STOCK_TAIL).match(rest)
    # A value glued to Latin letters is part of an SKU ("F001"), not a value ("草莓35.9" is).
    if not m or (m.group("item") and m.group("item")[-1].isascii() and m.group("item")[-1].isalnum()):
        item, _, value = rest.rpartition(" ")
        return (item, value) if item else (rest, None)
    return m.group("item").strip(), m.group("value").replace(" ", "")


def _value(attribute: str, raw: str, max_price_fen: int):
    if attribute == "price_fen":
        try:
            fen = parse_yuan(raw)
        except (ValueError, InvalidOperation):
            raise Problem("bad_price", value=raw) from None
        if fen <= 0 or fen > max_price_fen:
            raise Problem("bad_price", value=raw, max_yuan=max_price_fen // 100)
        return fen
    if attribute == "stock":
        if raw in ("缺货", "无货", "没货", "售罄"):
            return 0
        try:
            n = parse_count(raw)
        except (ValueError, InvalidOperation):
            raise Problem("bad_stock", value=raw) from None
        if n < 0 or n > 10_000_000:
            raise Problem("bad_stock", value=raw)
        return n
    text = _SPACE.sub(" ", raw).strip()
    if text.lower() in CLEAR_PROMO:
        return ""
    if len(text) > MAX_PROMO_CHARS:
        raise Problem("bad_promo", limit=MAX_PROMO_CHARS)
    return text


async def _resolve(qa: QACache, scope: str | None, item: str) -> Product:
    """The one product `item` names in the scope's index: an SKU, or what a shopper would write."""
    index = await qa.index(scope)
    by_code = index.product_by_code(item)
    if by_code is not None:
        return by_code
    m = index.match(item)
    if m.intent == "product" and m.product is not None:
        if guessed(m):  # a typo read is fine for an answer, not for changing a price
            raise Problem("guess", term=item, p=m.product, target=m.product.sku)
        return m.product
    if m.intent in ("clarify", "promo_list") and len(m.candidates) > 1:
        raise Problem("choose", term=item, options=list(m.candidates), target=m.candidates[0].sku)
    raise Problem("not_found", term=item)


def _distinct(rows: list[Product], attribute: str) -> list:
    seen: list = []
    for p in rows:
        v = getattr(p, attribute)
        if v not in seen:
            seen.append(v)
    return seen


def _store_name(config: Config, store_id: str | None) -> str:
    if store_id is None:
        return ""
    s = next((s for s in config.stores if s.id == store_id), None)
    return (s.name or s.id) if s else store_id
