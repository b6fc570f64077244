"""Every XLSX qunbot writes goes through `append`, so no text a shopper typed becomes a formula.

openpyxl stores a string that starts with "=" as a formula: a WeChat nickname =HYPERLINK(...) in a
pickup sheet would be a live link (or worse) in the guide's Excel. Strings that start with = + - @,
a tab or a carriage return are what spreadsheets (and their CSV exports) may evaluate, so they are
written as string cells with Excel's quote prefix: shown exactly as typed, still text when edited.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell import Cell
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
    if not any(is_risky(v) for v in row):
        ws.append(row)
        return
    if isinstance(ws, WriteOnlyWorksheet):
        # A write-only sheet reuses the last Cell object for the values after it, styles and all:
        # give every value of this row its own cell.
        ws.append([_text_cell(ws, v) if is_risky(v) else (None if v is None else Cell(ws, row=1, column=1, value=v))
                   for v in row])
    else:
        ws.append([_text_cell(ws, v) if is_risky(v) else v for v in row])


def sheet(wb: Workbook, title: str, header: tuple[str, ...] | list[str] = ()):
    """A new sheet in `wb`, with `header` as its first row when given."""
    ws = wb.create_sheet(title)
    if header:
        append(ws, list(header))
    return ws


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
