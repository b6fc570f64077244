"""Every XLSX qunbot writes goes through `append`, so no text a shopper typed becomes a formula.

openpyxl stores a string that starts with "=" as a formula: a WeChat nickname =HYPERLINK(...) in a
pickup sheet would be a live link (or worse) in the guide's Excel. Strings that start with = + - @,
a tab or a carriage return are what spreadsheets (and their CSV exports) may evaluate, so they are
written as string cells with Excel's quote prefix: shown exactly as typed, still text when edited.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_risky(value: object) -> bool:
    return isinstance(value, str) and value.startswith(RISKY_STARTS)


def _text_cell(ws, value: str) -> Cell:
    cell = Cell(ws, row=1, column=1, value=value)
    cell.data_type = "s"  # openpyxl made "=..." a formula; it is text
    cell.quotePrefix = True
    return cell


def append(ws, row: list) -> None:
    """ws.append(row) with risky strings as quoted text cells (normal and write-only sheets)."""
    if not any(is_risky(v) or isinstance(v, Cell) for v in row):
        ws.append(row)
        return
    if isinstance(ws, WriteOnlyWorksheet):
        # A write-only sheet reuses the last Cell object for the values after it, styles and all:
        # give every value of this row its own cell.
        ws.append([v if isinstance(v, Cell) else _text_cell(ws, v) if is_risky(v)
                   else (None if v is None else Cell(ws, row=1, column=1, value=v)) for v in row])
    else:
        ws.append([_text_cell(ws, v) if is_risky(v) else v for v in row])


def sheet(wb: Workbook, title: str, header: tuple[str, ...] | list[str] = ()):
    """A new sheet in `wb`, with `header` as its first row when given: bold, frozen while scrolling,
    with filters, and columns as wide as their titles (CJK counts double). Set before any row, so
    write-only sheets (the digest) take them too; `finish` sets the filter's extent."""
    ws = wb.create_sheet(title)
    if header:
        for i, name in enumerate(header, 1):
            ws.column_dimensions[get_column_letter(i)].width = max(8, min(40, _width(name) + 4))
        ws.freeze_panes = "A2"
        bold = [_styled(ws, name, Font(bold=True)) for name in header]
        ws.append(bold)
    return ws


def money(ws, value: float | int | None):
    """A yuan amount shown with two decimals (still a number the sheet can sum)."""
    if value is None:
        return None
    cell = Cell(ws, row=1, column=1, value=value) if not isinstance(ws, WriteOnlyWorksheet) else WriteOnlyCell(
        ws, value=value)
    cell.number_format = "#,##0.00"
    return cell


def finish(ws, columns: int, rows: int) -> None:
    """Filters over the header and the `rows` data rows below it."""
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{rows + 1}"


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text))


def _styled(ws, value, font: Font):
    cell = WriteOnlyCell(ws, value=value) if isinstance(ws, WriteOnlyWorksheet) else Cell(ws, row=1, column=1,
                                                                                          value=value)
    cell.font = font
    return cell


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
