"""Admin API for 接龙 group-buys: read-only views of the ledger for other systems and for checks.

    GET /api/groupbuys?status=open&store=S01&limit=100  -> {"groupbuys": [团, ...]} newest first
    GET /api/groupbuys/{id}                             -> {"groupbuy": 团, "lines": [...], "waiting": [no, ...]}
"""
from __future__ import annotations

from aiohttp import web

from bot.api import error, route
from bot.appkeys import STORE


@route("GET", "/api/groupbuys")
async def list_groupbuys(request: web.Request) -> web.Response:
    gbs = request.app[STORE].groupbuys
    q = request.query
    try:
        limit = max(1, min(1000, int(q.get("limit", "100"))))
    except ValueError:
        return error(400, "limit must be a number")
    status, store_id = q.get("status"), q.get("store")
    if status == "open":
        found = await gbs.open_groups(store_id)
    else:
        found = await gbs.many(await gbs.all_ids(limit * 4 if (status or store_id) else limit))
    found = [g for g in found if (not status or g.status == status) and (not store_id or g.store_id == store_id)]
    found.sort(key=lambda g: -g.id)
    return web.json_response({"groupbuys": [g.as_dict() for g in found[:limit]]})


@route("GET", "/api/groupbuys/{id}")
async def get_groupbuy(request: web.Request) -> web.Response:
    gbs = request.app[STORE].groupbuys
    raw = request.match_info["id"]
    if not raw.isdigit():
        return error(400, "id must be the 团 number")
    gb = await gbs.get(int(raw))
    if gb is None:
        return error(404, f"no groupbuy {raw}")
    lines = await gbs.lines(gb.id)
    return web.json_response({"groupbuy": gb.as_dict(), "lines": [x.as_dict() for x in lines],
                              "waiting": await gbs.waiting_order(gb.id)})
