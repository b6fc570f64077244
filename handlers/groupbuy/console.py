"""The guides' 团 pages: their stores' open 团, each with its live ledger (who, how many, the
waiting list, pickup tags), 结团/撤团 with the chat's rule (a preview of who will be told what,
then a confirmation within ten minutes), and the pickup sheet to print or download.

Closing goes through the same ledger calls and `closing.settle` as the chat command, so the
guide, every participant and the digest see one result whichever way it was closed."""
from __future__ import annotations

from collections import Counter

from bot.feature import BadInput, Page, PageRequest, PageResult
from handlers.groupbuy import closing, pickup_sheet, views

ROLES = frozenset({"guide", "admin"})
ACTIONS = ("close", "cancel")
MAX_ID = 12
SHOWN = 200  # a chain-wide list shows the 团 closing soonest; a store filter shows the rest


def _gid(req: PageRequest) -> int:
    raw = req.path.get("id", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID):
        raise BadInput(400, "团 id must be a number")
    return int(raw)


async def _mine(req: PageRequest):
    """The 团 of the path, if it belongs to one of the user's stores (else 404: not even whether it exists)."""
    gb = await req.deps["store"].groupbuys.get(_gid(req))
    if gb is None or gb.store_id not in req.stores:
        raise BadInput(404, "no such 团 in your stores")
    return gb


async def open_list(req: PageRequest) -> PageResult:
    gbs = req.deps["store"].groupbuys
    want = req.query.get("store", "")
    if want and want not in req.stores:
        raise BadInput(404, "no such store in your scope")
    scope = [want] if want else list(req.stores)
    if len(scope) <= 20:
        found = [g for s in scope for g in await gbs.open_groups(s)]
    else:  # a chain-wide view: one read of the open index, not one per store
        inside = set(scope)
        found = [g for g in await gbs.open_groups(None) if g.store_id in inside]
    found = sorted((g for g in found if g.status == "open"), key=lambda g: (g.cutoff, g.id))
    rows = [{**views.group(g), "store": g.store_id} for g in found[:SHOWN]]
    return PageResult("tuans.html", {"tuans": rows, "store": want, "total": len(found)})


async def ledger(req: PageRequest) -> PageResult:
    gb = await _mine(req)
    lines = await req.deps["store"].groupbuys.lines(gb.id)
    roster = views.roster(gb, lines)
    tags = Counter(x["tag"] or "" for x in roster["lines"])
    return PageResult("tuan.html", {**roster, "store": gb.store_id, "tags": sorted(tags.items()),
                                    "done": req.query.get("done", "")[:20]})


async def confirm_page(req: PageRequest) -> PageResult:
    gb = await _mine(req)
    action = req.query.get("action", "")
    if action not in ACTIONS:
        raise BadInput(400, "action must be close or cancel")
    if gb.status != "open":
        return PageResult("", redirect=f"/console/tuans/{gb.id}?done=already_{gb.status}")
    facts = closing.preview_facts(gb, await req.deps["store"].groupbuys.lines(gb.id))
    return PageResult("tuan_confirm.html", {**facts, "action": action, "previewed": int(req.deps["now"]),
                                            "minutes": closing.CONFIRM_TTL // 60,
                                            "expired": req.query.get("expired", "") == "1"})


async def confirm(req: PageRequest) -> PageResult:
    """Carry out a previewed 结团/撤团: the form names the 团 and the action, and must come within
    CONFIRM_TTL of its preview, as a chat 确认 must."""
    gb = await _mine(req)
    deps, now = req.deps, req.deps["now"]
    action, raw = req.form.get("action", ""), req.form.get("previewed", "")
    if action not in ACTIONS:
        raise BadInput(400, "action must be close or cancel")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        raise BadInput(400, "previewed must be a time")
    if not 0 <= now - int(raw) <= closing.CONFIRM_TTL:
        return PageResult("", redirect=f"/console/tuans/{gb.id}/confirm?action={action}&expired=1")
    store, gbs = deps["store"], deps["store"].groupbuys
    msg_id = f"console:{gb.id}:{action}:{raw}"  # one id per preview: a form sent twice acts once
    if action == "close":
        out = await gbs.close(gb.id, msg_id, now, reason="early", by=req.user)
        done = "closed" if out.closed_now else out.code or "unchanged"
    else:
        out = await gbs.cancel_group(gb.id, msg_id, now, by=req.user)
        done = "cancelled" if out.cancelled_now else out.code or "unchanged"
    await closing.settle(store, deps["emit"], deps["config"], gb.id, now)
    await store.confirmations.withdraw(req.user, f"团{gb.id}")  # a chat preview of it is void now
    return PageResult("", redirect=f"/console/tuans/{gb.id}?done={done}")


async def sheet(req: PageRequest) -> PageResult:
    gb = await _mine(req)
    lines = await req.deps["store"].groupbuys.lines(gb.id)
    if req.query.get("format") == "xlsx":
        return PageResult("", body=pickup_sheet.build(gb, lines, req.deps["config"].bot.timezone),
                          filename=pickup_sheet.filename(gb),
                          content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return PageResult("tuan_sheet.html", {**views.roster(gb, lines), "store": gb.store_id})


PAGES = [
    Page("/tuans", open_list, ROLES, menu="tuans"),
    Page("/tuans/{id}", ledger, ROLES),
    Page("/tuans/{id}/confirm", confirm_page, ROLES),
    Page("/tuans/{id}/confirm", confirm, ROLES, methods=("POST",)),
    Page("/tuans/{id}/sheet", sheet, ROLES),
]
