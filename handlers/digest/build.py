"""The digest itself: a pure function from one day's inputs and the history to a JSON-ready dict.

No I/O, so it is fast, testable and benchmarkable (bench/digest_scale.py). Rules:

- Demand for a SKU in a store = the quantity of its 团 that formed (failed and cancelled 团 count
  nothing) + one unit per shopper who asked for it while it was out of stock (a floor: an ask
  carries no quantity). Unmet asks are unique per shopper, store and day (the Demand store
  dedupes); across stores the same shopper counts once.
- Gap per store = max(0, demand − stock of that store); stock not carried counts as 0.
  Suggested order for a SKU = the sum of its store gaps, rounded up to the supplier case size
  (`[digest.case_sizes]`, else one unit): cases are bought chain-wide and split at the DC, so
  only the chain line is rounded. Store rows show their own gap in units.
- Trend: the same numbers from the frozen history of yesterday and of the same weekday last week;
  avg_7d averages the days of the last seven that have history (missing days are unknown, not
  zero); a spike is more than +50 % over avg_7d. History keeps askers per store, so an asker trend
  counts a shopper who asked in two stores twice (today's askers count them once).
- Demand of unknown store (UNKNOWN_STORE) counts toward the chain's totals with no stock, and in
  no store's scope or store count.
- A 团 is "outsized" when one shopper holds at least half of it and it has at least 10 units.
"""
from __future__ import annotations

import gc
from collections.abc import Collection, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from math import ceil

from handlers.digest.day import shift, weekday_name
from handlers.digest.model import UNKNOWN_STORE, DayInputs, DayTotals, Tuan

SPIKE = 1.5
OUTSIZED_SHARE, OUTSIZED_MIN = 0.5, 10
OFF_UNIT = "@"  # F001@串: a 团 of F001 counted in 串 while the catalog sells it by the 斤


@dataclass(frozen=True)
class StoreFacts:
    id: str
    name: str
    groups: int = 0


def _pct(now: int, before: int | None) -> int | None:
    return round((now - before) * 100 / before) if before else None


def round_up(qty: int, case: int) -> int:
    """Never negative; up to a whole number of cases."""
    if qty <= 0:
        return 0
    return ceil(qty / case) * case if case > 1 else qty


def _history_sums(history: Mapping[str, DayTotals], days: list[str], in_scope) -> dict[str, dict[str, dict]]:
    """day -> {"qty": {key: n}, "unmet": {sku: n}, "wish": {term: n}, "qty_store": {(store, key): n}}."""
    out = {}
    for d in days:
        t = history.get(d)
        if t is None:
            continue
        sums: dict[str, dict] = {"qty": {}, "unmet": {}, "wish": {}, "qty_store": {}}
        for name in ("qty", "unmet", "wish"):
            acc = sums[name]
            for (store, key), n in getattr(t, name).items():
                if in_scope(store):
                    acc[key] = acc.get(key, 0) + n
        sums["qty_store"] = {k: n for k, n in t.qty.items() if in_scope(k[0])}
        out[d] = sums
    return out


class _Trend:
    """yesterday / same weekday last week / 7-day average of one field, for many keys."""

    __slots__ = ("y", "w", "have")

    def __init__(self, sums: dict[str, dict], field: str, yesterday: str, last_week: str, week: list[str]) -> None:
        self.y = sums[yesterday][field] if yesterday in sums else None
        self.w = sums[last_week][field] if last_week in sums else None
        self.have = [sums[d][field] for d in week if d in sums]

    def of(self, key) -> dict:
        have = self.have
        return {"yesterday": None if self.y is None else self.y.get(key, 0),
                "last_week": None if self.w is None else self.w.get(key, 0),
                "avg_7d": round(sum(d.get(key, 0) for d in have) / len(have), 1) if have else None}


class _Cell:
    __slots__ = ("qty", "entries", "waiting", "owners", "unmet", "tuans", "guides", "outsized")

    def __init__(self) -> None:
        self.qty = self.entries = self.waiting = 0
        self.owners: set[str] = set()
        self.unmet: set[str] = set()
        self.tuans: list[int] = []
        self.guides: dict[str, int] = {}
        self.outsized: list[int] = []


@contextmanager
def _no_gc():
    """A chain-wide build allocates about a million small containers and frees none of them until
    it returns; the cyclic collector would rescan the growing heap dozens of times (a third of the
    run). The function is synchronous, so nothing else runs while collection is paused."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def build_digest(inputs: DayInputs, history: Mapping[str, DayTotals], *,
                 stores: Mapping[str, StoreFacts] | None = None, scope: Collection[str] | None = None,
                 case_sizes: Mapping[str, int] | None = None, cutoff: str = "", late: bool = False,
                 generated_at: float | None = None, changes_since_freeze: list[dict] | None = None) -> dict:
    """The digest of `inputs.day` for the stores in `scope` (None: all), as a JSON-ready dict.
    `history` maps earlier days to their totals; only the seven days before are read. `stores`
    gives names and group counts, `case_sizes` SKU -> units per case, `cutoff` the "HH:MM" shown."""
    with _no_gc():
        return _build(inputs, history, stores or {}, scope, case_sizes or {}, cutoff, late, generated_at,
                      changes_since_freeze)


def _build(inputs: DayInputs, history: Mapping[str, DayTotals], stores: Mapping[str, StoreFacts],
           scope: Collection[str] | None, case_sizes: Mapping[str, int], cutoff: str, late: bool,
           generated_at: float | None, changes_since_freeze: list[dict] | None) -> dict:
    scope_set = frozenset(scope) if scope is not None else None
    in_scope = (lambda s: True) if scope_set is None else scope_set.__contains__
    day = inputs.day
    yesterday, last_week = shift(day, -1), shift(day, -7)
    week = [shift(day, -i) for i in range(1, 8)]
    sums = _history_sums(history, week, in_scope)
    def name_of(s: str) -> str:
        """The store's name; "" for demand of unknown store (the templates say so)."""
        return "" if s == UNKNOWN_STORE else stores[s].name if s in stores and stores[s].name else s

    tuans = [t for t in inputs.tuans if in_scope(t.store)]
    counted = [t for t in tuans if t.status != "cancelled"]
    formed = [t for t in counted if t.result == "formed"]
    failed = [t for t in counted if t.result == "failed"]
    signals = [s for s in inputs.signals if in_scope(s.store)]

    # -- per (key, store) cells ----------------------------------------------------------------
    cells: dict[str, dict[str, _Cell]] = {}
    by_key_tuan: dict[str, Tuan] = {}

    def cell(key: str, store: str) -> _Cell:
        per = cells.get(key)
        if per is None:
            per = cells[key] = {}
        c = per.get(store)
        if c is None:
            c = per[store] = _Cell()
        return c

    def key_of(t: Tuan) -> str:
        """A 团 counted in another unit than its catalog row (串 of a product sold by the 斤) gets a
        row of its own: its quantities never add to, or compare with, the catalog's units."""
        info = inputs.products.get(t.sku) if t.sku else None
        if info and info.unit and t.unit and t.unit != info.unit:
            return f"{t.key}{OFF_UNIT}{t.unit}"
        return t.key

    for t in formed:
        key = key_of(t)
        c = cell(key, t.store)
        c.qty += t.qty
        c.entries += t.entries
        c.waiting += t.waiting
        c.owners.update(t.owners)
        c.tuans.append(t.id)
        if t.guide:
            c.guides[t.guide] = c.guides.get(t.guide, 0) + t.qty
        if t.qty >= OUTSIZED_MIN and t.top_qty >= OUTSIZED_SHARE * t.qty:
            c.outsized.append(t.id)
        by_key_tuan.setdefault(key, t)
    unmet_sig: dict[str, list] = {}
    wish_sig: dict[str, list] = {}
    for s in signals:
        if s.kind == "unmet":
            cell(s.item, s.store).unmet.update(s.shoppers)
            unmet_sig.setdefault(s.item, []).append(s)
        else:
            wish_sig.setdefault(s.item, []).append(s)

    # -- SKU rows ----------------------------------------------------------------------------
    store_trend = _Trend(sums, "qty_store", yesterday, last_week, week)
    sku_trend = _Trend(sums, "qty", yesterday, last_week, week)
    unmet_trend = _Trend(sums, "unmet", yesterday, last_week, week)
    wish_trend = _Trend(sums, "wish", yesterday, last_week, week)
    skus = []
    for key, per in cells.items():
        sku = "" if key.startswith("~") else key.split(OFF_UNIT)[0]
        off_unit = OFF_UNIT in key
        info = inputs.products.get(sku)
        sample = by_key_tuan.get(key)
        unit = sample.unit if off_unit else (info.unit if info and info.unit else (sample.unit if sample else ""))
        notes = []
        if sample and info and info.unit and sample.unit and sample.unit != info.unit:
            notes.append(f"团单位{sample.unit}≠商品单位{info.unit}")
        if not sku:
            notes.append("未关联商品编码")
        case = 1 if off_unit else case_sizes.get(sku, 1)
        rows, owners, askers = [], set(), set()
        tot = {"qty": 0, "entries": 0, "waiting": 0, "gap": 0, "stock": None, "outsized": []}
        guides: dict[str, int] = {}
        for store in sorted(per):
            c = per[store]
            stock = inputs.stock.get((store, sku)) if sku and not off_unit else None  # stock is in catalog units
            have = max(stock or 0, 0)
            unmet = len(c.unmet)
            gap = max(0, c.qty + unmet - have)
            tr = store_trend.of((store, key))
            rows.append({"store": store, "store_name": name_of(store), "qty": c.qty, "entries": c.entries,
                         "customers": len(c.owners), "waiting": c.waiting, "unmet_askers": unmet,
                         "stock": stock, "gap": gap, "suggested": gap, "qty_yesterday": tr["yesterday"],
                         "qty_last_week": tr["last_week"], "avg_7d": tr["avg_7d"], "tuans": sorted(c.tuans),
                         "guides": dict(sorted(c.guides.items()))})
            owners |= c.owners
            askers |= c.unmet
            for f in ("qty", "entries", "waiting", "gap"):
                tot[f] += rows[-1][f]
            if stock is not None:
                tot["stock"] = (tot["stock"] or 0) + stock
            tot["outsized"] += c.outsized
            for g, n in c.guides.items():
                guides[g] = guides.get(g, 0) + n
        tr = sku_trend.of(key)
        avg = tr["avg_7d"]
        if tot["outsized"]:
            notes.append("单人占比高：" + "、".join(f"团{i}" for i in sorted(tot["outsized"])))
        rows.sort(key=lambda r: (-r["qty"], -r["unmet_askers"], r["store"]))
        skus.append({"key": key, "sku": sku, "name": info.name if info else (sample.product if sample else key),
                     "spec": info.spec if info else "", "unit": unit, "category": info.category if info else "",
                     "qty": tot["qty"], "entries": tot["entries"], "customers": len(owners), "waiting": tot["waiting"],
                     "unmet_askers": len(askers), "stock": tot["stock"], "gap": tot["gap"], "case": case,
                     "suggested": round_up(tot["gap"], case), "qty_yesterday": tr["yesterday"],
                     "qty_last_week": tr["last_week"], "avg_7d": avg, "change_pct": _pct(tot["qty"], tr["yesterday"]),
                     "spike": bool(avg and tot["qty"] > SPIKE * avg), "guides": dict(sorted(guides.items())),
                     "stores": rows, "notes": notes})
    skus.sort(key=lambda r: (-r["qty"], -r["unmet_askers"], r["key"]))
    sku_row = {r["key"]: r for r in skus}

    # -- unmet and wish lists -------------------------------------------------------------------
    def _examples(sigs) -> list[str]:
        seen: dict[str, None] = {}
        for s in sigs:
            for e in s.examples:
                if e:
                    seen.setdefault(e, None)
        return list(seen)[:2]

    def _sources(sigs) -> dict[str, int]:
        """Askers by where they asked (kf 1:1 or heard in a customer group)."""
        out: dict[str, int] = {}
        for s in sigs:
            for src, n in s.sources.items():
                out[src] = out.get(src, 0) + n
        return dict(sorted(out.items()))

    def _guides(sigs) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in sigs:
            for g, n in s.guides.items():
                out[g] = out.get(g, 0) + n
        return dict(sorted(out.items()))

    unmet = []
    for sku, sigs in unmet_sig.items():
        row = sku_row[sku]
        who = set().union(*(s.shoppers for s in sigs))
        unmet.append({"sku": sku, "name": row["name"], "spec": row["spec"], "unit": row["unit"], "askers": len(who),
                      "stores": [{"store": s.store, "store_name": name_of(s.store), "askers": s.askers,
                                  "stock": inputs.stock.get((s.store, sku))}
                                 for s in sorted(sigs, key=lambda s: (-s.askers, s.store))],
                      "stock": row["stock"], "suggested": row["suggested"], "examples": _examples(sigs),
                      "guides": _guides(sigs), "sources": _sources(sigs), **{f"askers_{k}": v for k, v in
                                                                             unmet_trend.of(sku).items()}})
    unmet.sort(key=lambda r: (-r["askers"], r["sku"]))
    wishes = []
    for term, sigs in wish_sig.items():
        who = set().union(*(s.shoppers for s in sigs))
        wishes.append({"term": term, "askers": len(who),
                       "stores": [{"store": s.store, "store_name": name_of(s.store), "askers": s.askers}
                                  for s in sorted(sigs, key=lambda s: (-s.askers, s.store))],
                       "examples": _examples(sigs), "guides": _guides(sigs), "sources": _sources(sigs),
                       **{f"askers_{k}": v for k, v in wish_trend.of(term).items()}})
    wishes.sort(key=lambda r: (-r["askers"], r["term"]))

    # -- 团 lists, guides, header -----------------------------------------------------------------
    def _tuan_row(t: Tuan) -> dict:
        info = inputs.products.get(t.sku)
        return {"id": t.id, "product": t.product, "sku": t.sku, "spec": info.spec if info else "", "unit": t.unit,
                "store": t.store, "store_name": name_of(t.store), "guide": t.guide, "qty": t.qty,
                "min_to_form": t.min_to_form, "shortfall": t.shortfall, "entries": t.entries,
                "customers": len(t.owners), "waiting": t.waiting, "amount_fen": t.amount_fen, "result": t.result,
                "status": t.status, "end": t.end, "cutoff": t.cutoff}

    guide_rows: dict[str, dict] = {}

    def g_row(g: str) -> dict:
        r = guide_rows.get(g)
        if r is None:
            r = guide_rows[g] = {"guide": g, "stores": set(), "tuan_formed": 0, "tuan_failed": 0, "qty": 0,
                                 "amount_fen": 0, "customers": set(), "unmet_askers": 0, "wish_askers": 0}
        return r

    for t in counted:
        if not t.guide:
            continue
        r = g_row(t.guide)
        r["stores"].add(t.store)
        if t.result == "formed":
            r["tuan_formed"] += 1
            r["qty"] += t.qty
            r["amount_fen"] += t.amount_fen
            r["customers"].update(t.owners)
        else:
            r["tuan_failed"] += 1
    for s in signals:
        for g, n in s.guides.items():
            r = g_row(g)
            r["stores"].add(s.store)
            r["unmet_askers" if s.kind == "unmet" else "wish_askers"] += n
    guides_out = [{**r, "stores": sorted(r["stores"]), "customers": len(r["customers"])}
                  for r in guide_rows.values()]
    guides_out.sort(key=lambda r: (-r["amount_fen"], -r["qty"], r["guide"]))

    # Every store the digest says something about, open 团 and late changes included: a header of
    # "0店" above a list of 接龙 reads as a bug.
    active = ({t.store for t in counted} | {s.store for s in signals} | {t.store for t in inputs.open if in_scope(t.store)}
              | {e.get("store", "") for e in inputs.exceptions if in_scope(e.get("store", ""))}) - {UNKNOWN_STORE, ""}
    all_owners = set().union(*(t.owners for t in formed)) if formed else set()
    unmet_who = set().union(*(s.shoppers for s in signals if s.kind == "unmet")) if signals else set()
    wish_who = set().union(*(s.shoppers for s in signals if s.kind == "wish")) if signals else set()
    exceptions = [e for e in inputs.exceptions if in_scope(e.get("store", ""))]
    header = {"stores": len(active), "stores_in_scope": len(scope_set) if scope_set is not None else len(stores),
              "groups": sum(stores[s].groups for s in active if s in stores),
              "tuan_formed": len(formed), "tuan_failed": len(failed),
              "tuan_cancelled": sum(1 for t in tuans if t.status == "cancelled"),
              "orders": sum(t.entries for t in formed), "customers": len(all_owners),
              "qty": sum(t.qty for t in formed), "amount_fen": sum(t.amount_fen for t in formed),
              "unmet_askers": len(unmet_who), "wish_askers": len(wish_who), "exceptions": len(exceptions),
              "open": sum(1 for t in inputs.open if in_scope(t.store))}
    out = {"date": day, "weekday": weekday_name(day), "last_week_day": last_week, "cutoff": cutoff,
           "window": [inputs.start, inputs.end], "frozen": inputs.frozen, "taken_at": inputs.taken_at,
           "late": late, "generated_at": generated_at if generated_at is not None else inputs.taken_at,
           "catalog_version": inputs.catalog_version, "scope": sorted(scope_set) if scope_set is not None else "all",
           "history_days": sorted(sums), "header": header, "skus": skus, "unmet": unmet, "wishes": wishes,
           "failed": sorted((_tuan_row(t) for t in failed), key=lambda r: (-r["shortfall"], r["store"], r["id"])),
           "formed": sorted((_tuan_row(t) for t in formed), key=lambda r: (r["store"], r["id"])),
           "open": sorted((_tuan_row(t) for t in inputs.open if in_scope(t.store)),
                          key=lambda r: (r["cutoff"], r["id"])),
           "guides": guides_out, "exceptions": exceptions}
    if changes_since_freeze is not None:
        out["changes_since_freeze"] = [e for e in changes_since_freeze if in_scope(e.get("store", ""))]
    return out


def late_changes(frozen: DayInputs, live: DayInputs) -> list[dict]:
    """What changed for `frozen.day` after it was frozen: 团 that appeared, vanished, were cancelled
    or changed quantity or result, and shoppers who asked after the freeze. Each item names the
    day, store and what it was and is now; the next digest lists them as exceptions."""
    out: list[dict] = []
    before = {t.id: t for t in frozen.tuans}
    after = {t.id: t for t in live.tuans}
    for gid in sorted(before.keys() | after.keys()):
        a, b = before.get(gid), after.get(gid)
        t = b or a
        base = {"day": frozen.day, "store": t.store, "id": gid, "product": t.product, "unit": t.unit}
        if a is None:
            if b.status != "cancelled":
                out.append({**base, "kind": "tuan_added", "result": b.result, "qty": b.qty})
        elif b is None:
            out.append({**base, "kind": "tuan_gone", "result": a.result, "qty": a.qty})
        elif b.status == "cancelled" and a.status != "cancelled":
            out.append({**base, "kind": "tuan_cancelled", "result": a.result, "qty": a.qty})
        elif (a.qty, a.result) != (b.qty, b.result) and b.status != "cancelled":
            out.append({**base, "kind": "tuan_changed", "before": a.qty, "after": b.qty,
                        "result_before": a.result, "result": b.result})
    seen = {(s.kind, s.store, s.item): s for s in frozen.signals}
    for s in live.signals:
        old = seen.get((s.kind, s.store, s.item))
        new = len(set(s.shoppers) - set(old.shoppers)) if old else s.askers
        if new > 0:
            info = (live.products.get(s.item) or frozen.products.get(s.item)) if s.kind == "unmet" else None
            out.append({"day": frozen.day, "store": s.store, "kind": f"{s.kind}_added", "item": s.item,
                        "name": info.name if info else s.item, "askers": new})
    return out
