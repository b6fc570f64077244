"""The pickup list a guide gets at cutoff: one XLSX sheet, built in memory with openpyxl through
the formula-safe writer (names and pickup tags are what shoppers typed)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from bot import xlsx

from handlers.groupbuy.views import amount_fen, display_name
from store.groupbuy import GroupBuy, Line

HEADER = ("接龙号", "姓名", "提货标记", "数量", "金额(元)", "状态")
STATUS = {"active": "待提货", "collected": "已提货", "waiting": "候补未轮到"}


def filename(gb: GroupBuy) -> str:
    return f"团{gb.id}_{gb.product}_提货单.xlsx"


def build(gb: GroupBuy, lines: list[Line], tz: str = "Asia/Shanghai") -> bytes:
    """Rows for every line that gets goods (in 接龙 order), a total row, then the waiting lines
    for reference. Amounts are numbers (yuan with two decimals) so the sheet can sum them."""
    wb = Workbook()
    ws = wb.active
    ws.title = "提货单"
    cutoff = datetime.fromtimestamp(gb.cutoff, ZoneInfo(tz)).strftime("%m-%d %H:%M")
    xlsx.append(ws, [f"团{gb.id} {gb.product}（{gb.unit}）截单 {cutoff}｜自提：{gb.pickup}"])
    ws["A1"].font = Font(bold=True)
    xlsx.append(ws, list(HEADER))
    for c in ws[2]:
        c.font = Font(bold=True)
        c.alignment = Alignment(horizontal="center")
    getting = [x for x in lines if x.status in ("active", "collected")]
    for x in getting:
        xlsx.append(ws, [x.no, display_name(x), x.tag, x.qty, round(amount_fen(gb, x.qty) / 100, 2), STATUS[x.status]])
    xlsx.append(ws, ["合计", f"{len(getting)}人", "", sum(x.qty for x in getting),
               round(sum(amount_fen(gb, x.qty) for x in getting) / 100, 2), ""])
    for c in ws[ws.max_row]:
        c.font = Font(bold=True)
    waiting = sorted((x for x in lines if x.status == "waiting"), key=lambda x: x.pos or 0)
    if waiting:
        xlsx.append(ws, [])
        xlsx.append(ws, ["候补（未轮到，不提货）"])
        for x in waiting:
            xlsx.append(ws, [x.no, display_name(x), x.tag, x.qty, round(amount_fen(gb, x.qty) / 100, 2),
                             STATUS["waiting"]])
    for col, width in zip("ABCDEF", (8, 18, 14, 8, 10, 10)):
        ws.column_dimensions[col].width = width
    return xlsx.to_bytes(wb)
