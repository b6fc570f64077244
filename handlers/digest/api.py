"""Admin API for the buyers' digest.

    GET /api/digest?date=YYYY-MM-DD&store=S01&format=json|xlsx
        -> the digest of that business day (default: today), from its frozen snapshot when it
           has one (with `changes_since_freeze`), else built live; format=xlsx returns the workbook.
"""
from __future__ import annotations

import time
from datetime import date as Date, datetime, timedelta
from typing import Any

from bot.feature import ApiRequest, ApiResponse, ApiRoute, BadInput
from handlers.digest import sheet
from handlers.digest.load import digest_for
from handlers.digest.settings import settings

EARLIEST = Date(2000, 1, 1)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def get_digest(req: ApiRequest) -> Any:
    config = req.config
    st = settings(config)
    now = time.time()
    q = req.query
    today = datetime.fromtimestamp(now, st.tz).date()
    try:
        # normalised: the day names Redis keys, so "20260613" must mean the same day as "2026-06-13"
        day = Date.fromisoformat(q["date"]) if q.get("date") else today
    except ValueError:
        raise BadInput(400, "date must be YYYY-MM-DD", got=q["date"][:40]) from None
    # The digest compares with a week earlier; days before 2000 or after tomorrow have no business data.
    if not EARLIEST <= day <= today + timedelta(days=1):
        raise BadInput(400, "date out of range", got=day.isoformat(), earliest=EARLIEST.isoformat(),
                       latest=(today + timedelta(days=1)).isoformat())
    day = day.isoformat()
    fmt = q.get("format", "json")
    if fmt not in ("json", "xlsx"):
        raise BadInput(400, "format must be json or xlsx")
    scope = None
    if q.get("store"):
        if q["store"] not in {s.id for s in config.stores}:
            raise BadInput(404, f"no store {q['store'][:40]}")
        scope = [q["store"]]
    d = await digest_for(req.store, config, st, day, now, scope=scope)
    if fmt == "xlsx":
        return ApiResponse(body=sheet.build(d), content_type=XLSX, filename=f"digest-{day}.xlsx")
    return d


ROUTES = [ApiRoute("GET", "/api/digest", get_digest)]
