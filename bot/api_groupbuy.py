"""Admin API for 接龙 group-buys: read-only views of the ledger for other systems and for checks.

    GET /api/groupbuys?status=open&store=S01&limit=100  -> {"groupbuys": [团, ...]} newest first
    GET /api/groupbuys/{id}                             -> {"groupbuy": 团, "lines": [...], "waiting": [no, ...]}
"""
from __future__ import annotations

from aiohttp import web

from bot.api import error, path_id, query_int, reply, route
from bot.appkeys import CONFIG, STORE

STATUSES = ("open", "closed", "cancelled")


@route("GET", "/api/groupbuys")
async def list_groupbuys(request: web.Request) -> web.Response:
    gbs = request.app[STORE].groupbuys
    q = request.query
    limit = query_int(request, "limit", 100, 1, 1000)
    status, store_id = q.get("status"), q.get("store")
    if status is not None and status not in STATUSES:
        return error(400, "unknown status", status=status[:40], allowed=list(STATUSES))
    if store_id is not None and store_id not in {s.id for s in request.app[CONFIG].stores}:
        return error(400, "unknown store", store=store_id[:40])
    if status == "open":
        found = await gbs.open_groups(store_id)
    else:
        found = await gbs.many(await gbs.all_ids(limit * 4 if (status or store_id) else limit))
    found = [g for g in found if (not status or g.status == status) and (not store_id or g.store_id == store_id)]
    found.sort(key=lambda g: -g.id)
    return reply({"groupbuys": [g.as_dict() for g in found[:limit]]})


@route("GET", "/api/groupbuys/{id}")
async def get_groupbuy(request: web.Request) -> web.Response:
    gbs = request.app[STORE].groupbuys
    gid = path_id(request)  # the 团 number
    gb = await gbs.get(gid)
    if gb is None:
        return error(404, f"no groupbuy {gid}")
    lines = await gbs.lines(gb.id)
    return reply({"groupbuy": gb.as_dict(), "lines": [x.as_dict() for x in lines],
                              "waiting": await gbs.waiting_order(gb.id)})
