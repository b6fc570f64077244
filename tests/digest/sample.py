"""A small hand-made day (two stores) used by the template samples and the pure tests."""
from __future__ import annotations

from handlers.digest.build import StoreFacts, build_digest
from handlers.digest.model import DayInputs, DayTotals, ProductInfo, Signal, Tuan

DAY = "2026-06-13"
STORES = {"S01": StoreFacts("S01", "梅溪湖店", 2), "S02": StoreFacts("S02", "五一广场店", 1)}


def tuan(gid, store, sku, product, unit, qty, min_to_form, owners, result="formed", status="closed", guide="xiaowang",
         **kw) -> Tuan:
    return Tuan(gid, store, guide, sku, product, unit, status, result, 100.0, qty=qty, min_to_form=min_to_form,
                entries=len(owners), owners=tuple(owners), top_qty=kw.pop("top_qty", 1),
                amount_fen=kw.pop("amount_fen", qty * 3690), **kw)


def inputs(**kw) -> DayInputs:
    tuans = [tuan(1, "S01", "F001", "丹东99草莓", "盒", 30, 20, "abcde", top_qty=20),
             tuan(2, "S02", "F001", "丹东99草莓", "盒", 12, 10, "cd", guide="xiaoli"),
             tuan(3, "S01", "F004", "赣南脐橙", "箱", 12, 20, "a", result="failed")]
    signals = [Signal("unmet", "S01", "F005", ("a", "b")),
               Signal("unmet", "S02", "F005", ("b", "z"), ("阳光玫瑰有吗",), {"xiaoli": 2}),
               Signal("wish", "S01", "榴莲", ("q",), ("能不能进点榴莲，想团一个",), {"xiaowang": 1})]
    products = {"F001": ProductInfo("F001", "丹东99草莓", "500g/盒", "盒", "水果"),
                "F005": ProductInfo("F005", "阳光玫瑰葡萄", "500g", "盒", "水果")}
    stock = {("S01", "F001"): 10, ("S02", "F001"): 0, ("S01", "F005"): 0, ("S02", "F005"): 0,
             ("S01", "F004"): 5}
    base = dict(day=DAY, start=0.0, end=100.0, taken_at=100.0, frozen=True, tuans=tuans, signals=signals,
                products=products, stock=stock)
    return DayInputs(**{**base, **kw})


HISTORY = {"2026-06-12": DayTotals({("S01", "F001"): 20}), "2026-06-06": DayTotals({("S01", "F001"): 25})}


def digest(**kw) -> dict:
    return build_digest(inputs(), HISTORY, stores=STORES, case_sizes={"F001": 20}, cutoff="21:00", **kw)


def busy_digest() -> dict:
    """Every section present: exceptions, changes since freeze, 团 still open, a late delivery."""
    inp = inputs(open=[tuan(9, "S02", "F001", "丹东99草莓", "盒", 4, 10, "xy", status="open", cutoff=1_781_300_000)],
                 exceptions=[{"day": "2026-06-12", "store": "S01", "kind": "tuan_cancelled", "id": 7,
                              "product": "手工水饺", "unit": "份", "result": "formed", "qty": 25},
                             {"day": "2026-06-12", "store": "S02", "kind": "unmet_added", "item": "F005",
                              "name": "阳光玫瑰葡萄", "askers": 3}])
    changes = [{"day": DAY, "store": "S01", "kind": "tuan_changed", "id": 1, "product": "丹东99草莓", "unit": "盒",
                "before": 30, "after": 28, "result_before": "formed", "result": "formed"},
               {"day": DAY, "store": "S01", "kind": "wish_added", "item": "榴莲", "name": "榴莲", "askers": 1},
               {"day": DAY, "store": "*", "kind": "unmet_added", "item": "F005", "name": "阳光玫瑰葡萄", "askers": 1},
               {"day": DAY, "store": "S02", "kind": "tuan_added", "id": 8, "product": "五花肉", "unit": "斤",
                "result": "failed", "qty": 3},
               {"day": DAY, "store": "S02", "kind": "tuan_gone", "id": 6, "product": "五花肉", "unit": "斤",
                "result": "formed", "qty": 3}]
    return build_digest(inp, HISTORY, stores=STORES, case_sizes={"F001": 20}, cutoff="21:00", late=True,
                        changes_since_freeze=changes)
