"""Admin API for the buyers' digest.

    GET /api/digest?date=YYYY-MM-DD&store=S01&format=json|xlsx
        -> the digest of that business day (default: today), from its frozen snapshot when it
           has one (with `changes_since_freeze`), else built live; format=xlsx returns the workbook.
"""
from __future__ import annotations

import time
from datetime import date as Date, datetime

from aiohttp import web

from bot.api import error, route
from bot.appkeys import CONFIG, STORE


@route("GET", "/api/digest")
async def get_digest(request: web.Request) -> web.StreamResponse:
    from handlers.digest import sheet
    from handlers.digest.load import digest_for
    from handlers.digest.settings import settings

    config, store = request.app[CONFIG], request.app[STORE]
    st = settings(config)
    now = time.time()
    q = request.query
    try:
        # normalised: the day names Redis keys, so "20260613" must mean the same day as "2026-06-13"
        day = Date.fromisoformat(q["date"]).isoformat() if q.get("date") else \
            datetime.fromtimestamp(now, st.tz).date().isoformat()
    except ValueError:
        return error(400, "date must be YYYY-MM-DD")
    fmt = q.get("format", "json")
    if fmt not in ("json", "xlsx"):
        return error(400, "format must be json or xlsx")
    scope = None
    if q.get("store"):
        if q["store"] not in {s.id for s in config.stores}:
            return error(404, f"no store {q['store']}")
        scope = [q["store"]]
    d = await digest_for(store, config, st, day, now, scope=scope)
    if fmt == "xlsx":
        return web.Response(body=sheet.build(d), headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f"attachment; filename=digest-{day}.xlsx"})
    return web.json_response(d, dumps=_dumps)


def _dumps(obj) -> str:
    import json
    return json.dumps(obj, ensure_ascii=False)
