"""The full digest as an XLSX workbook (openpyxl, write-only mode so 1,000 stores stay fast).

Sheets: 需求明细 (one row per SKU and store, the DETAIL columns below), SKU汇总, 缺货未满足,
心愿单, 未成团, 成团明细 (every formed 团 with its guide), 导购, 异常. Quantities are numbers so the
buyer can sort and sum; amounts are yuan with two decimals.
"""
from __future__ import annotations

from openpyxl import Workbook

from bot import xlsx

DETAIL = ("日期", "门店编码", "门店", "商品编码", "商品", "规格", "单位", "成团数量", "接龙单数", "客户数", "候补数量",
          "缺货问询人数", "库存", "缺口", "建议补货", "昨日", "上周同日", "7日均", "团号", "导购", "备注")
SKUS = ("商品编码", "商品", "规格", "单位", "分类", "成团数量", "接龙单数", "客户数", "缺货问询人数", "库存", "缺口",
        "箱规", "建议补货(按箱)", "昨日", "较昨日%", "上周同日", "7日均", "激增", "门店数", "备注")
UNMET = ("商品编码", "商品", "规格", "问询人数", "门店数", "各店(人数/库存)", "库存", "建议补货", "昨日人数", "原话")
WISH = ("心愿词", "人数", "门店数", "各店(人数)", "昨日人数", "原话1", "原话2", "导购")
TUANS = ("团号", "门店编码", "门店", "商品", "商品编码", "单位", "数量", "成团数", "差额", "接龙单数", "客户数", "候补数量",
         "金额(元)", "导购", "结果", "状态")
GUIDES = ("导购", "门店", "成团", "未成团", "数量", "金额(元)", "客户数", "缺货问询人数", "心愿人数")
CHANGES = ("日期", "门店", "类型", "团号/商品", "说明")
KIND = {"tuan_cancelled": "截单后撤团", "tuan_added": "截单后结算", "tuan_gone": "已不在当日", "tuan_changed": "数量变化",
        "unmet_added": "截单后缺货问询", "wish_added": "截单后心愿"}


STATUS = {"open": "接龙中", "closed": "已截单", "cancelled": "已撤团"}
UNKNOWN = "门店未知"  # the store name of demand whose store nothing tells


class _Sheet:
    """A write-only sheet whose rows go through the formula-safe writer: quotes and wish terms
    are shoppers' words."""

    def __init__(self, wb: Workbook, title: str, header: tuple[str, ...]) -> None:
        self.ws = xlsx.sheet(wb, title, header)
        self.columns, self.rows = len(header), 0
        # Amount columns ("金额(元)") show two decimals; the cells stay numbers the buyer can sum.
        self.money = {i for i, name in enumerate(header) if "(元)" in name}
        xlsx.finish(self.ws, self.columns, 0)

    def append(self, row: list) -> None:
        if self.money:
            row = [xlsx.money(self.ws, v) if i in self.money and isinstance(v, (int, float)) else v
                   for i, v in enumerate(row)]
        xlsx.append(self.ws, row)
        self.rows += 1
        xlsx.finish(self.ws, self.columns, self.rows)


def _blank(v):
    return "" if v is None else v


def filename(day: str) -> str:
    return f"采购需求日报-{day}.xlsx"


def build(d: dict) -> bytes:
    wb = Workbook(write_only=True)
    ws = _Sheet(wb, "需求明细", DETAIL)
    for r in d["skus"]:
        for x in r["stores"]:
            ws.append([d["date"], x["store"], x["store_name"] or UNKNOWN, r["sku"], r["name"], r["spec"], r["unit"], x["qty"],
                       x["entries"], x["customers"], x["waiting"], x["unmet_askers"], _blank(x["stock"]), x["gap"],
                       x["suggested"], _blank(x["qty_yesterday"]), _blank(x["qty_last_week"]), _blank(x["avg_7d"]),
                       ",".join(f"团{i}" for i in x["tuans"]), ",".join(x["guides"]), "；".join(r["notes"])])
    ws = _Sheet(wb, "SKU汇总", SKUS)
    for r in d["skus"]:
        ws.append([r["sku"], r["name"], r["spec"], r["unit"], r["category"], r["qty"], r["entries"], r["customers"],
                   r["unmet_askers"], _blank(r["stock"]), r["gap"], r["case"], r["suggested"],
                   _blank(r["qty_yesterday"]), _blank(r["change_pct"]), _blank(r["qty_last_week"]),
                   _blank(r["avg_7d"]), "是" if r["spike"] else "", len(r["stores"]), "；".join(r["notes"])])
    ws = _Sheet(wb, "缺货未满足", UNMET)
    for r in d["unmet"]:
        ws.append([r["sku"], r["name"], r["spec"], r["askers"], len(r["stores"]),
                   "、".join(f"{x['store_name'] or UNKNOWN}{x['askers']}/{_blank(x['stock'])}" for x in r["stores"]),
                   _blank(r["stock"]), r["suggested"], _blank(r["askers_yesterday"]), " | ".join(r["examples"])])
    ws = _Sheet(wb, "心愿单", WISH)
    for r in d["wishes"]:
        ex = r["examples"] + ["", ""]
        ws.append([r["term"], r["askers"], len(r["stores"]),
                   "、".join(f"{x['store_name'] or UNKNOWN}{x['askers']}" for x in r["stores"]), _blank(r["askers_yesterday"]),
                   ex[0], ex[1], ",".join(r["guides"])])
    for title, rows in (("未成团", d["failed"]), ("成团明细", d["formed"])):
        ws = _Sheet(wb, title, TUANS)
        for t in rows:
            ws.append([t["id"], t["store"], t["store_name"], t["product"], t["sku"], t["unit"], t["qty"],
                       t["min_to_form"], t["shortfall"], t["entries"], t["customers"], t["waiting"],
                       round(t["amount_fen"] / 100, 2), t["guide"], "成团" if t["result"] == "formed" else "未成团",
                       STATUS.get(t["status"], t["status"])])
    ws = _Sheet(wb, "导购", GUIDES)
    for g in d["guides"]:
        ws.append([g["guide"], ",".join(g["stores"]), g["tuan_formed"], g["tuan_failed"], g["qty"],
                   round(g["amount_fen"] / 100, 2), g["customers"], g["unmet_askers"], g["wish_askers"]])
    ws = _Sheet(wb, "异常", CHANGES)
    for c in d["exceptions"] + d.get("changes_since_freeze", []):
        what = f"团{c['id']} {c['product']}" if "id" in c else c.get("name", c.get("item", ""))
        detail = {k: v for k, v in c.items() if k not in ("day", "store", "kind", "id", "product", "name", "item")}
        ws.append([c["day"], c["store"], KIND.get(c["kind"], c["kind"]), what,
                   " ".join(f"{k}={v}" for k, v in detail.items())])
    return xlsx.to_bytes(wb)
