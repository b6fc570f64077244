"""Admin API for the buyers' digest.

    GET /api/digest?date=YYYY-MM-DD&store=S01&format=json|xlsx
        -> the digest of that business day (default: today), from its frozen snapshot when it
           has one (with `changes_since_freeze`), else built live; format=xlsx returns the workbook.
"""
from __future__ import annotations

import time
from datetime import date as Date, datetime, timedelta

from aiohttp import web

from bot.api import error, reply, route
from bot.appkeys import CONFIG, STORE

EARLIEST = Date(2000, 1, 1)


@route("GET", "/api/digest")
async def get_digest(request: web.Request) -> web.StreamResponse:
    from handlers.digest import sheet
    from handlers.digest.load import digest_for
    from handlers.digest.settings import settings

    config, store = request.app[CONFIG], request.app[STORE]
    st = settings(config)
    now = time.time()
    q = request.query
    today = datetime.fromtimestamp(now, st.tz).date()
    try:
        # normalised: the day names Redis keys, so "20260613" must mean the same day as "2026-06-13"
        day = Date.fromisoformat(q["date"]) if q.get("date") else today
    except ValueError:
        return error(400, "date must be YYYY-MM-DD", got=q["date"][:40])
    # The digest compares with a week earlier; days before 2000 or after tomorrow have no business data.
    if not EARLIEST <= day <= today + timedelta(days=1):
        return error(400, "date out of range", got=day.isoformat(), earliest=EARLIEST.isoformat(),
                     latest=(today + timedelta(days=1)).isoformat())
    day = day.isoformat()
    fmt = q.get("format", "json")
    if fmt not in ("json", "xlsx"):
        return error(400, "format must be json or xlsx")
    scope = None
    if q.get("store"):
        if q["store"] not in {s.id for s in config.stores}:
            return error(404, f"no store {q['store'][:40]}")
        scope = [q["store"]]
    d = await digest_for(store, config, st, day, now, scope=scope)
    if fmt == "xlsx":
        return web.Response(body=sheet.build(d), headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f"attachment; filename=digest-{day}.xlsx"})
    return reply(d)
