"""Plain data for the 接龙 templates: a 团, its lines and a ledger outcome as template contexts.

Templates get dicts of primitives (no store objects), so every template has a sample context
and renders the same for a live outcome and a stored one.
"""
from __future__ import annotations

from store.groupbuy import GroupBuy, Line, Outcome


def amount_fen(gb: GroupBuy, qty: int) -> int:
    """What `qty` units cost: whole bundles at the bundle price (2盒69), the rest at the unit price."""
    if gb.bundle_qty > 1 and gb.bundle_price_fen:
        bundles, rest = divmod(qty, gb.bundle_qty)
        return bundles * gb.bundle_price_fen + rest * gb.price_fen
    return qty * gb.price_fen


def display_name(line: Line) -> str:
    """Name in the 接龙 list: the written name, else a masked id (never a full external_userid)."""
    if line.name:
        base = line.name
    elif line.owner.startswith("tel:"):
        base = line.owner[4:]
    else:
        base = "顾客" + line.owner[-4:]
    return f"{base}（{line.who}）" if line.who and line.who != base else base


def group(gb: GroupBuy) -> dict:
    return {"id": gb.id, "product": gb.product, "unit": gb.unit, "price_fen": gb.price_fen,
            "bundle_qty": gb.bundle_qty, "bundle_price_fen": gb.bundle_price_fen,
            "list_price_fen": gb.list_price_fen, "spec": gb.spec, "cap": gb.cap, "per_person": gb.per_person,
            "min_to_form": gb.min_to_form, "cutoff": gb.cutoff, "pickup": gb.pickup, "status": gb.status,
            "result": gb.result, "total": gb.total, "waiting": gb.waiting, "shortfall": gb.shortfall,
            "kf_link": gb.kf_link, "sku": gb.sku}


def line(x: Line, gb: GroupBuy | None = None) -> dict:
    d = {"no": x.no, "name": display_name(x), "who": x.who, "qty": x.qty, "tag": x.tag, "status": x.status,
         "pos": x.pos or 0}
    if gb is not None:
        d["amount_fen"] = amount_fen(gb, x.qty)
    return d


def receipt(gb: GroupBuy, out: Outcome) -> dict:
    """Context of groupbuy/receipt.txt.j2 for one shopper step."""
    return {"code": out.code, "g": group(gb), "line": line(out.line) if out.line else None,
            "mine": [line(x) for x in out.mine], "gone": [x.no for x in out.changed],
            "total": out.total, "cap": out.cap, "allowed": out.allowed if out.allowed is not None else 0,
            "room": out.room if out.room is not None else 0, "entry": out.raw.get("entry") or 0}


def roster(gb: GroupBuy, lines: list[Line]) -> dict:
    """Context of the numbered 接龙 list (/团 <号>)."""
    active = [line(x, gb) for x in lines if x.status in ("active", "collected")]
    waiting = sorted((line(x, gb) for x in lines if x.status == "waiting"), key=lambda d: d["pos"])
    return {"g": group(gb), "lines": active, "waiting": waiting,
            "amount_fen": sum(d["amount_fen"] for d in active),
            "collected": sum(1 for x in lines if x.status == "collected")}
