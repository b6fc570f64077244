"""A day of store activity played into the real ledger, demand store and catalog, with an
independent expectation of every number the digest must show.

The expectation is computed from the generated events (who joined what, how many, which 团
formed), written from the rules in handlers/digest/build.py's docstring, not from its code.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.qa.catalog import Product

TZ = ZoneInfo("Asia/Shanghai")
CUTOFF = time(21, 0)
STORES = {"S01": ("梅溪湖店", "g1", 2), "S02": ("五一广场店", "g2", 1), "S03": ("河西店", "g3", 3),
          "S04": ("星沙店", "g4", 1)}
CASES = {"F001": 20, "D001": 6}
SKUS = {  # sku: (name, spec, unit, all-stores stock)
    "F001": ("丹东99草莓", "500g/盒", "盒", 40), "F002": ("智利车厘子", "2.5kg/箱", "箱", 5),
    "F004": ("赣南脐橙", "5kg/箱", "箱", 0), "F005": ("阳光玫瑰葡萄", "500g", "盒", 0),
    "D001": ("蒙牛纯牛奶", "250ml×16", "箱", 12), "G002": ("鲁花花生油", "5L", "桶", 0),
    "M003": ("五花肉", "500g", "斤", 30),
}
STORE_STOCK = {("S02", "F001"): 0, ("S03", "F005"): 6, ("S04", "D001"): 100}  # per-store rows
NOT_CARRIED = {("S04", "F002")}  # S04's own F002 row is missing and there is no all-stores F002? see catalog()
WISHES = ["榴莲", "三元牛奶", "椰青"]


def cutoff_ts(day: str) -> float:
    return datetime.combine(date.fromisoformat(day), CUTOFF, TZ).timestamp()


def day_shift(day: str, n: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=n)).isoformat()


def catalog() -> list[Product]:
    out = [Product(sku, name, spec=spec, unit=unit, stock=stock, category="测试", price_fen=1000)
           for sku, (name, spec, unit, stock) in SKUS.items() if sku != "F002"]
    # F002 is carried by S01-S03 only (one row listing them): S04 does not carry it.
    n, spec, unit, stock = SKUS["F002"]
    out.append(Product("F002", n, spec=spec, unit=unit, stock=stock, stores=("S01", "S02", "S03")))
    for (store, sku), stock in STORE_STOCK.items():
        n, spec, unit, _ = SKUS[sku]
        out.append(Product(sku, n, spec=spec, unit=unit, stock=stock, stores=(store,)))
    return out


def stock_of(store: str, sku: str) -> int | None:
    if sku not in SKUS:
        return None
    if (store, sku) in STORE_STOCK:
        return STORE_STOCK[(store, sku)]
    if sku == "F002":
        return None if store == "S04" else SKUS["F002"][3]
    return SKUS[sku][3]


@dataclass
class G:
    """One 团 as generated."""
    gid: int
    store: str
    sku: str
    product: str
    unit: str
    min_to_form: int
    cutoff: float
    guide: str
    cap: int = 0
    price_fen: int = 1000
    joins: dict[str, int] = field(default_factory=dict)  # owner -> live qty (insertion = 接龙 order)
    fate: str = "close"  # close | close_early | due (left open past cutoff) | cancel | open (future)
    day: str = ""  # business day it belongs to ("" = none)

    def active(self) -> dict[str, int]:
        """Owner -> qty of lines that get goods, by the cap rule (whole lines, in order, joins only)."""
        if not self.cap:
            return dict(self.joins)
        out, total, blocked = {}, 0, False
        for owner, q in self.joins.items():
            if not blocked and total + q <= self.cap:
                out[owner] = q
                total += q
            else:
                blocked = True
        return out

    @property
    def qty(self) -> int:
        return sum(self.active().values())

    @property
    def waiting(self) -> int:
        return sum(self.joins.values()) - self.qty

    @property
    def formed(self) -> bool:
        return self.qty >= self.min_to_form

    @property
    def key(self) -> str:
        return self.sku or f"~{self.product}"


@dataclass
class Ask:
    day: str
    kind: str
    store: str
    item: str
    shopper: str
    example: str
    guide: str


class Scenario:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.groups: list[G] = []
        self.asks: list[Ask] = []
        self._msg = itertools.count(1)
        self._asked = 0

    def mid(self) -> str:
        return f"m{next(self._msg)}"

    # -- generation ----------------------------------------------------------------------------
    def plan_day(self, day: str, busy: float = 1.0) -> None:
        """Several 团 per store with mixed fates, and demand asks including repeats."""
        rng, end = self.rng, cutoff_ts(day)
        shoppers = [f"wm{i:02d}" for i in range(30)]
        for store, (_, guide, _) in STORES.items():
            for _ in range(max(1, round(rng.randint(2, 4) * busy))):
                sku = rng.choice(list(SKUS) + [""])
                name = SKUS[sku][0] if sku else rng.choice(["手工水饺", "农家土鸡蛋"])
                unit = SKUS[sku][2] if sku else "份"
                fate = rng.choice(["close", "close", "close_early", "due"])
                g = G(0, store, sku, name, unit, rng.randint(3, 25), end - rng.randint(600, 5 * 3600), guide,
                      cap=rng.choice([0, 0, 12]), fate=fate, day=day)
                for who in rng.sample(shoppers, rng.randint(1, 9)):
                    g.joins[who] = rng.randint(1, 6)
                self.groups.append(g)
            # never counted for `day`: a 团 cut off after the day's cutoff, a 撤团, one still open
            self.groups.append(G(0, store, "M003", "五花肉", "斤", 1, end + 1800, guide, fate="close",
                                 joins={"wm01": 2}, day=day_shift(day, 1)))
            self.groups.append(G(0, store, "F001", "丹东99草莓", "盒", 1, end - 3600, guide, fate="cancel",
                                 joins={"wm02": 3}, day=day))
            for _ in range(rng.randint(3, 8)):
                who = rng.choice(shoppers)
                sku = rng.choice(["F004", "F005", "G002", "F002"])
                for _ in range(rng.choice([1, 1, 2, 3])):  # the same shopper asking again counts once
                    self.asks.append(Ask(day, "unmet", store, sku, who, f"{SKUS[sku][0]}有货吗", guide))
            for _ in range(rng.randint(1, 4)):
                who, term = rng.choice(shoppers), rng.choice(WISHES)
                self.asks.append(Ask(day, "wish", store, term, who, f"能不能进点{term}", guide))
        # one shopper asks in two stores: one person chain-wide
        for store in ("S01", "S02"):
            self.asks.append(Ask(day, "unmet", store, "G002", "wm29", "花生油什么时候到", STORES[store][1]))

    def add_open(self, day: str) -> None:
        self.groups.append(G(0, "S01", "F001", "丹东99草莓", "盒", 10, cutoff_ts(day) + 2 * 86400, "g1",
                             fate="open", joins={"wm05": 2}))

    # -- playing into Redis ----------------------------------------------------------------------
    async def play(self, store, catalog_too: bool = True) -> None:
        if catalog_too:
            await store.catalog.replace(catalog())
        gbs = store.groupbuys
        for g in self.groups:
            if g.gid:
                continue
            # A 团 still open was opened before the day's end (its cutoff is two days after it).
            created = g.cutoff - (3 if g.fate == "open" else 1) * 86400
            g.gid = await gbs.allocate(self.mid())
            await gbs.create(g.gid, {"product": g.product, "unit": g.unit, "price_fen": g.price_fen,
                                     "cutoff": g.cutoff, "pickup": "服务台", "store_id": g.store, "guide": g.guide,
                                     "sku": g.sku, "cap": g.cap, "per_person": 0, "min_to_form": g.min_to_form},
                             created)
            t = created + 60
            for owner, qty in g.joins.items():
                # join with a different quantity first, then change it: the ledger keeps the last
                await gbs.join(g.gid, self.mid(), t, owner, qty + 1)
                await gbs.set_qty(g.gid, self.mid(), t + 1, owner, qty)
                t += 5
            await gbs.join(g.gid, self.mid(), t, "wm_gone", 2)  # a shopper who cancels again
            await gbs.cancel(g.gid, self.mid(), t + 1, "wm_gone")
            if g.fate == "close":
                await gbs.close(g.gid, self.mid(), g.cutoff + 20, reason="cutoff")
                await gbs.retire(await gbs.get(g.gid), g.cutoff + 25)
            elif g.fate == "close_early":
                g.cutoff_early = g.cutoff - 1200
                await gbs.close(g.gid, self.mid(), g.cutoff - 1200, reason="guide", by=g.guide)
            elif g.fate == "cancel":
                await gbs.cancel_group(g.gid, self.mid(), g.cutoff - 100, by=g.guide)
        for a in self.asks[self._asked:]:
            await store.demand.record(a.day, a.kind, a.store, a.item, a.shopper, example=a.example, guide=a.guide)
        self._asked = len(self.asks)

    # -- the expectation -------------------------------------------------------------------------
    def of_day(self, day: str) -> list[G]:
        return [g for g in self.groups if g.day == day and g.fate not in ("cancel", "open")]

    def asks_of(self, day: str, kind: str) -> dict[tuple[str, str], dict]:
        """(store, item) -> {shoppers (unique), examples (first three distinct per store), guides}"""
        out: dict[tuple[str, str], dict] = {}
        for a in self.asks:
            if a.day == day and a.kind == kind:
                e = out.setdefault((a.store, a.item), {"shoppers": [], "examples": [], "guides": {}})
                if a.shopper in e["shoppers"]:
                    continue
                e["shoppers"].append(a.shopper)
                if len(e["examples"]) < 3:
                    e["examples"].append(a.example)
                e["guides"][a.guide] = e["guides"].get(a.guide, 0) + 1
        return out

    def qty_by(self, day: str, stores=None) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for g in self.of_day(day):
            if g.formed and (stores is None or g.store in stores):
                out[(g.store, g.key)] = out.get((g.store, g.key), 0) + g.qty
        return out

    def askers_by(self, day: str, kind: str, stores=None) -> dict[str, int]:
        """item -> shoppers summed over stores (one per store and day): what the trend compares."""
        out: dict[str, int] = {}
        for (store, item), v in self.asks_of(day, kind).items():
            if stores is None or store in stores:
                out[item] = out.get(item, 0) + len(v["shoppers"])
        return out

    def expected(self, day: str, stores=None) -> dict:
        keep = (lambda s: True) if stores is None else (lambda s: s in stores)
        gs = [g for g in self.of_day(day) if keep(g.store)]
        formed = [g for g in gs if g.formed]
        unmet = {k: v for k, v in self.asks_of(day, "unmet").items() if keep(k[0])}
        wish = {k: v for k, v in self.asks_of(day, "wish").items() if keep(k[0])}
        past = [day_shift(day, -i) for i in range(1, 8)]
        hist = {d: self.qty_by(d, stores) for d in past}

        def trend(kind: str, item: str) -> dict:
            n = [self.askers_by(d, kind, stores).get(item, 0) for d in past]
            return {"askers_yesterday": n[0], "askers_last_week": n[6], "askers_avg_7d": round(sum(n) / 7, 1)}

        def examples(sigs: dict, item: str) -> list[str]:
            # the stores in id order, each with its first distinct examples; two in all
            out: list[str] = []
            for (store, it) in sorted(sigs):
                if it == item:
                    for e in sigs[(store, it)]["examples"]:
                        if e not in out:
                            out.append(e)
            return out[:2]

        def credit(sigs: dict, item: str) -> dict[str, int]:
            out: dict[str, int] = {}
            for (store, it), v in sigs.items():
                if it == item:
                    for guide, n in v["guides"].items():
                        out[guide] = out.get(guide, 0) + n
            return out

        def by_guide(gs: list[G]) -> dict[str, int]:
            out: dict[str, int] = {}
            for g in gs:
                out[g.guide] = out.get(g.guide, 0) + g.qty
            return out

        def tuan_row(g: G) -> dict:
            active = g.active()
            return {"store": g.store, "guide": g.guide, "sku": g.sku, "qty": g.qty, "min_to_form": g.min_to_form,
                    "shortfall": max(0, g.min_to_form - g.qty), "entries": len(active), "customers": len(active),
                    "waiting": g.waiting, "amount_fen": g.qty * g.price_fen,
                    "result": "formed" if g.formed else "failed"}
        keys = {g.key for g in formed} | {sku for _, sku in unmet}
        skus = {}
        for key in keys:
            sku = "" if key.startswith("~") else key
            rows = {}
            for store in STORES:
                qty = sum(g.qty for g in formed if g.key == key and g.store == store)
                u = unmet.get((store, sku), {"shoppers": []})["shoppers"] if sku else []
                if not qty and not u:
                    continue
                st = stock_of(store, sku) if sku else None
                gap = max(0, qty + len(u) - max(st or 0, 0))
                hq = [hist[d].get((store, key), 0) for d in hist]
                rows[store] = {"qty": qty, "unmet_askers": len(u), "stock": st, "gap": gap, "suggested": gap,
                               "entries": sum(len(g.active()) for g in formed if g.key == key and g.store == store),
                               "customers": len({o for g in formed if g.key == key and g.store == store
                                                 for o in g.active()}),
                               "waiting": sum(g.waiting for g in formed if g.key == key and g.store == store),
                               "qty_yesterday": hq[0], "qty_last_week": hq[6], "avg_7d": round(sum(hq) / 7, 1),
                               "tuans": sorted(g.gid for g in formed if g.key == key and g.store == store),
                               "guides": by_guide([g for g in formed if g.key == key and g.store == store])}
            gap = sum(r["gap"] for r in rows.values())
            case = CASES.get(sku, 1)
            total = sum(r["qty"] for r in rows.values())
            hq = [sum(n for (s, k), n in hist[d].items() if k == key) for d in hist]
            stocks = [r["stock"] for r in rows.values() if r["stock"] is not None]
            skus[key] = {"qty": total, "gap": gap, "case": case, "suggested": math.ceil(gap / case) * case,
                         "stock": sum(stocks) if stocks else None,
                         "entries": sum(r["entries"] for r in rows.values()),
                         "waiting": sum(r["waiting"] for r in rows.values()),
                         "guides": by_guide([g for g in formed if g.key == key]),
                         "customers": len({o for g in formed if g.key == key for o in g.active()}),
                         "unmet_askers": len({w for (s, k), v in unmet.items() if k == sku for w in v["shoppers"]}),
                         "qty_yesterday": hq[0], "qty_last_week": hq[6], "avg_7d": round(sum(hq) / 7, 1),
                         "change_pct": round((total - hq[0]) * 100 / hq[0]) if hq[0] else None,
                         "spike": bool(sum(hq) and total > 1.5 * round(sum(hq) / 7, 1)), "stores": rows}
        unmet_out = {}
        for (store, sku), v in unmet.items():
            e = unmet_out.setdefault(sku, {"who": set(), "stores": {}})
            e["who"] |= set(v["shoppers"])
            e["stores"][store] = len(v["shoppers"])
        wish_out = {}
        for (store, term), v in wish.items():
            e = wish_out.setdefault(term, {"who": set(), "stores": {}})
            e["who"] |= set(v["shoppers"])
            e["stores"][store] = len(v["shoppers"])
        guides: dict[str, dict] = {}
        for g in gs:
            r = guides.setdefault(g.guide, {"tuan_formed": 0, "tuan_failed": 0, "qty": 0, "amount_fen": 0,
                                            "customers": set(), "unmet_askers": 0, "wish_askers": 0})
            if g.formed:
                r["tuan_formed"] += 1
                r["qty"] += g.qty
                r["amount_fen"] += g.qty * g.price_fen
                r["customers"] |= set(g.active())
            else:
                r["tuan_failed"] += 1
        for kind, sigs in (("unmet_askers", unmet), ("wish_askers", wish)):
            for (store, _), v in sigs.items():
                for guide, n in v["guides"].items():
                    r = guides.setdefault(guide, {"tuan_formed": 0, "tuan_failed": 0, "qty": 0, "amount_fen": 0,
                                                  "customers": set(), "unmet_askers": 0, "wish_askers": 0})
                    r[kind] += n
        stores_of: dict[str, list[str]] = {}
        for guide, store in {(g.guide, g.store) for g in gs} | {(guide, s) for sigs in (unmet, wish)
                                                                for (s, _), v in sigs.items() for guide in v["guides"]}:
            stores_of.setdefault(guide, []).append(store)
        stores_of = {k: sorted(v) for k, v in stores_of.items()}
        active = {g.store for g in gs} | {s for s, _ in unmet} | {s for s, _ in wish}
        in_scope = [s for s in STORES if keep(s)]
        return {
            "header": {"stores": len(active), "groups": sum(STORES[s][2] for s in active),
                       "stores_in_scope": len(in_scope),
                       "tuan_cancelled": sum(1 for g in self.groups if g.day == day and g.fate == "cancel"
                                             and keep(g.store)),
                       "open": sum(1 for g in self.groups if g.fate == "open" and keep(g.store)),
                       "exceptions": 0,
                       "tuan_formed": len(formed), "tuan_failed": len(gs) - len(formed),
                       "orders": sum(len(g.active()) for g in formed),
                       "customers": len({o for g in formed for o in g.active()}),
                       "qty": sum(g.qty for g in formed), "amount_fen": sum(g.qty * g.price_fen for g in formed),
                       "unmet_askers": len({w for v in unmet.values() for w in v["shoppers"]}),
                       "wish_askers": len({w for v in wish.values() for w in v["shoppers"]})},
            "skus": skus,
            "unmet": {k: {"askers": len(v["who"]), "stores": v["stores"], "stock": skus[k]["stock"],
                          "suggested": skus[k]["suggested"], "examples": examples(unmet, k),
                          "guides": credit(unmet, k), **trend("unmet", k),
                          "store_stock": {s: stock_of(s, k) for s in v["stores"]}}
                      for k, v in unmet_out.items()},
            "wishes": {k: {"askers": len(v["who"]), "stores": v["stores"], "examples": examples(wish, k),
                           "guides": credit(wish, k), **trend("wish", k)} for k, v in wish_out.items()},
            "failed": {g.gid: tuan_row(g) for g in gs if not g.formed},
            "formed": {g.gid: tuan_row(g) for g in formed},
            "guides": {k: {**v, "customers": len(v["customers"]), "stores": stores_of[k]} for k, v in guides.items()},
        }
