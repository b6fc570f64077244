"""Admin API for 接龙 group-buys: read-only views of the ledger for other systems and for checks.

    GET /api/groupbuys?status=open&store=S01&limit=100  -> {"groupbuys": [团, ...]} newest first
    GET /api/groupbuys/{id}                             -> {"groupbuy": 团, "lines": [...], "waiting": [no, ...]}
"""
from __future__ import annotations

from typing import Any

from bot.feature import ApiRequest, ApiRoute, BadInput

STATUSES = ("open", "closed", "cancelled")


async def list_groupbuys(req: ApiRequest) -> dict[str, Any]:
    gbs = req.store.groupbuys
    q = req.query
    limit = req.query_int("limit", 100, 1, 1000)
    status, store_id = q.get("status"), q.get("store")
    if status is not None and status not in STATUSES:
        raise BadInput(400, "unknown status", status=status[:40], allowed=list(STATUSES))
    if store_id is not None and store_id not in {s.id for s in req.config.stores}:
        raise BadInput(400, "unknown store", store=store_id[:40])
    if status == "open":
        found = await gbs.open_groups(store_id)
    else:
        found = await gbs.many(await gbs.all_ids(limit * 4 if (status or store_id) else limit))
    found = [g for g in found if (not status or g.status == status) and (not store_id or g.store_id == store_id)]
    found.sort(key=lambda g: -g.id)
    return {"groupbuys": [g.as_dict() for g in found[:limit]]}


async def get_groupbuy(req: ApiRequest) -> dict[str, Any]:
    gbs = req.store.groupbuys
    gid = req.path_id()  # the 团 number
    gb = await gbs.get(gid)
    if gb is None:
        raise BadInput(404, f"no groupbuy {gid}")
    lines = await gbs.lines(gb.id)
    return {"groupbuy": gb.as_dict(), "lines": [x.as_dict() for x in lines], "waiting": await gbs.waiting_order(gb.id)}


ROUTES = [
    ApiRoute("GET", "/api/groupbuys", list_groupbuys),
    ApiRoute("GET", "/api/groupbuys/{id}", get_groupbuy),
]
