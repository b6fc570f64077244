"""The buyers' demand page: the digest of a day (built by handlers/digest/load.py as `qunbot digest`
and /api/digest build it), filtered by store and category, with 7/30-day trend lines from the
digest's own day totals, and an export (XLSX, CSV) of exactly what the filters show."""
from __future__ import annotations

import csv
import io
import time
from collections import OrderedDict
from datetime import date as Date, datetime, timedelta

from bot import xlsx
from bot.feature import BadInput, Page, PageRequest, PageResult
from handlers.digest import sheet
from handlers.digest.day import business_day, last_closed_day, shift
from handlers.digest.load import build_for, day_view, history, load_day
from handlers.digest.model import DayInputs
from handlers.digest.settings import settings

EARLIEST = Date(2000, 1, 1)
ROLES = frozenset({"buyer", "admin"})
SHOWN = 50  # SKU rows on the page (the export has every row)
CSV_HEADER = ("日期", "门店编码", "门店", "商品编码", "商品", "分类", "规格", "单位", "成团数量", "缺货问询人数", "库存",
              "缺口", "建议补货", "7日均")


def _day(req: PageRequest, today: Date, default: str) -> str:
    raw = req.query.get("date", "")
    if not raw:
        return default
    try:
        day = Date.fromisoformat(raw)
    except ValueError:
        raise BadInput(400, "date must be YYYY-MM-DD") from None
    if not EARLIEST <= day <= today + timedelta(days=1):
        raise BadInput(400, "date out of range")
    return day.isoformat()


def _scope(req: PageRequest) -> list[str] | None:
    given = req.query.get("store", "")
    if not given:
        return None if len(req.stores) == len(req.deps["config"].stores) else list(req.stores)
    if given not in req.stores:
        raise BadInput(404, "no such store in your scope")
    return [given]


def filtered(d: dict, category: str) -> dict:
    """The digest with only the SKUs (and their unmet asks) of `category`; "" keeps everything."""
    if not category:
        return d
    skus = [r for r in d["skus"] if r["category"] == category]
    keep = {r["sku"] for r in skus}
    return {**d, "skus": skus, "unmet": [r for r in d["unmet"] if r["sku"] in keep]}


def trends(hist: dict, day: str, today_totals: dict, scope: list[str] | None, keys: list[str], days: int) -> dict:
    """Per day (oldest first): formed quantity chain-wide and per key in `keys`, and unmet askers,
    from the digest's day totals (frozen ones as frozen)."""
    days_list = [shift(day, -i) for i in range(days - 1, 0, -1)]
    inside = (lambda s: True) if scope is None else set(scope).__contains__
    series = {"days": [*days_list, day], "qty": [], "unmet": [], "keys": {k: [] for k in keys}}
    for d in days_list:
        t = hist.get(d)
        qty = {} if t is None else t.qty
        unmet = {} if t is None else t.unmet
        series["qty"].append(sum(n for (s, _), n in qty.items() if inside(s)) if t else None)
        series["unmet"].append(sum(n for (s, _), n in unmet.items() if inside(s)) if t else None)
        for k in keys:
            series["keys"][k].append(sum(n for (s, key), n in qty.items() if key == k and inside(s)) if t else None)
    series["qty"].append(today_totals["qty"])
    series["unmet"].append(today_totals["unmet"])
    for k in keys:
        series["keys"][k].append(today_totals["keys"].get(k, 0))
    return series


_KEPT: OrderedDict[tuple, tuple[float, dict, dict]] = OrderedDict()
KEEP_SECONDS, KEEP_ENTRIES = 300, 8


async def built(store, config, st, day: str, now: float, scope: list[str] | None, span: int) -> tuple[dict, dict]:
    """The digest of `day` for `scope` as `qunbot digest` builds it (load.prepare's steps: the frozen
    snapshot, else the live day; the history read once for the digest and a `span`-day chart).
    What changed since the freeze is a fragment of its own (/console/demand/changes).

    A frozen day's digest is kept in this process for a few minutes: its inputs never change, and
    reading and building a chain's snapshot is most of the page's time (bench/console_render.py).
    A live day is built on every view."""
    key = (store.keys.p, day, span, tuple(scope) if scope is not None else None)
    hit = _KEPT.get(key)
    if hit is not None and hit[0] > time.monotonic():
        _KEPT.move_to_end(key)
        return hit[1], hit[2]
    raw = await store.digest.inputs(day)
    inputs = DayInputs.from_dict(raw) if raw else await load_day(store, day, st, now, with_open=True)
    hist = await history(store, day, st, now, days=max(7, span))
    full = build_for((inputs, hist), config, st, now, scope=scope)
    if inputs.frozen:
        _KEPT[key] = (time.monotonic() + KEEP_SECONDS, full, hist)
        while len(_KEPT) > KEEP_ENTRIES:
            _KEPT.popitem(last=False)
    return full, hist


async def demand(req: PageRequest) -> PageResult:
    config, store, now = req.deps["config"], req.deps["store"], req.deps["now"]
    st = settings(config)
    today = datetime.fromtimestamp(now, st.tz).date()
    # The default is the last day the digest went out for (frozen at its cutoff, so the page reads
    # one snapshot); today, still moving, is read live when asked for.
    day = _day(req, today, last_closed_day(now, st.cutoff, st.tz))
    scope = _scope(req)
    category = req.query.get("category", "")[:40]
    fmt = req.query.get("format", "html")
    span = req.query.get("days", "7")
    if fmt not in ("html", "csv", "xlsx"):
        raise BadInput(400, "format must be html, csv or xlsx")
    if span not in ("7", "30"):
        raise BadInput(400, "days must be 7 or 30")
    full, hist = await built(store, config, st, day, now, scope, int(span))
    d = filtered(full, category)
    if fmt == "xlsx":
        return PageResult("", body=sheet.build(d), filename=sheet.filename(day),
                          content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if fmt == "csv":
        return PageResult("", body=to_csv(d), filename=f"采购需求-{day}.csv", content_type="text/csv; charset=utf-8")
    top = [r["key"] for r in d["skus"][:3]]
    today_totals = {"qty": full["header"]["qty"],
                    "unmet": sum(x["askers"] for r in full["unmet"] for x in r["stores"]),
                    "keys": {r["key"]: r["qty"] for r in d["skus"][:3]}}
    chart = trends(hist, day, today_totals, scope, top, int(span))
    chart["names"] = {r["key"]: r["name"] for r in d["skus"][:3]}
    categories = sorted({r["category"] for r in full["skus"] if r["category"]})
    return PageResult("demand.html", {"d": d, "shown": d["skus"][:SHOWN], "more": max(0, len(d["skus"]) - SHOWN),
                                      "chart": chart, "categories": categories, "span": span,
                                      "today": business_day(now, st.cutoff, st.tz),
                                      "filters": {"date": day, "store": req.query.get("store", ""),
                                                  "category": category}})


async def changes(req: PageRequest) -> PageResult:
    """What changed for a frozen day after its freeze (the list /api/digest adds), in scope."""
    config, store, now = req.deps["config"], req.deps["store"], req.deps["now"]
    st = settings(config)
    today = datetime.fromtimestamp(now, st.tz).date()
    day = _day(req, today, last_closed_day(now, st.cutoff, st.tz))
    scope = _scope(req)
    _, found = await day_view(store, day, st, now)
    inside = (lambda s: True) if scope is None else set(scope).__contains__
    return PageResult("demand_changes.html", {"changes": [c for c in found or [] if inside(c.get("store", ""))],
                                              "frozen": found is not None})


def to_csv(d: dict) -> bytes:
    """One row per SKU and store, as the page's table; UTF-8 with a BOM so Excel reads the Chinese,
    and shoppers' words made formula-safe like the XLSX."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_HEADER)
    for r in d["skus"]:
        for x in r["stores"]:
            row = [d["date"], x["store"], x["store_name"], r["sku"], r["name"], r["category"], r["spec"], r["unit"],
                   x["qty"], x["unmet_askers"], "" if x["stock"] is None else x["stock"], x["gap"], x["suggested"],
                   "" if x["avg_7d"] is None else x["avg_7d"]]
            w.writerow(["'" + v if isinstance(v, str) and xlsx.is_risky(v) else v for v in row])
    return ("\ufeff" + out.getvalue()).encode()


PAGES = [Page("/demand", demand, ROLES, menu="demand"), Page("/demand/changes", changes, ROLES)]
