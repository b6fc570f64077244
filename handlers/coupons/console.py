"""The guides' coupon pages: their stores' campaigns with issued/redeemed counts (the same
`service.view` as chat and /api/coupons/campaigns), and per campaign the claims and redemptions
per day from its event log (/api/coupons/campaigns/{cid}/log)."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.feature import BadInput, Page, PageRequest, PageResult
from handlers.coupons import service

ROLES = frozenset({"guide", "admin"})
MANY = 20  # more stores than this: pick one store instead of listing all


async def campaigns(req: PageRequest) -> PageResult:
    store, config, now = req.deps["store"], req.deps["config"], req.deps["now"]
    want = req.query.get("store", "")
    if want and want not in req.stores:
        raise BadInput(404, "no such store in your scope")
    scope = [want] if want else (list(req.stores) if len(req.stores) <= MANY else list(req.stores[:1]))
    seen: dict[str, dict] = {}
    for sid in scope:
        for v in await service.store_views(store, config, sid, now):
            seen.setdefault(v["id"], v)
    rows = sorted(seen.values(), key=lambda v: -v["created_at"])
    return PageResult("coupons.html", {"campaigns": rows, "store": want, "choose": len(req.stores) > MANY,
                                       "scope": scope})


def per_day(events: list[dict], tz, first: float, now: float) -> dict:
    """Claims (issue) and redemptions (redeem) per local day, from the campaign's first day to today."""
    start = datetime.fromtimestamp(first, tz).date()
    end = datetime.fromtimestamp(now, tz).date()
    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)][-90:]
    index = {d: i for i, d in enumerate(days)}
    issued, redeemed = [0] * len(days), [0] * len(days)
    for e in events:
        at = e.get("at", "")
        if not at.isdigit() or e.get("ev") not in ("issue", "redeem"):
            continue
        i = index.get(datetime.fromtimestamp(int(at), tz).date().isoformat())
        if i is not None:
            (issued if e["ev"] == "issue" else redeemed)[i] += 1
    return {"days": days, "issued": issued, "redeemed": redeemed}


async def campaign(req: PageRequest) -> PageResult:
    store, config, now = req.deps["store"], req.deps["config"], req.deps["now"]
    cid = req.path.get("cid", "").upper()
    if not (cid[:1] == "C" and cid[1:].isascii() and cid[1:].isdigit() and len(cid) <= 13):
        raise BadInput(400, "bad campaign id")
    meta = await store.coupons.campaign(cid)
    if meta is None or meta.get("owner") not in req.stores:
        raise BadInput(404, "no such campaign in your stores")
    view = service.view(meta, config, now)
    events = await store.coupons.events(cid, count=100_000)
    first = view["live_at"] or view["created_at"] or now
    series = per_day(events, service.tz_of(config), first, now)
    return PageResult("coupon.html", {"c": view, "series": series,
                                      "totals": {"issued": sum(series["issued"]), "redeemed": sum(series["redeemed"])}})


PAGES = [
    Page("/coupons", campaigns, ROLES, menu="coupons"),
    Page("/coupons/{cid}", campaign, ROLES),
]
