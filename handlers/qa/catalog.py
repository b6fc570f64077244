"""Catalog and FAQ records, and their import from CSV / XLSX with row-level validation.

Import is all or nothing: every bad row is reported with its line number (the header is line 1,
as a spreadsheet shows it) and, when any row is bad, no product is returned. Pure: bytes in,
records out; storing them is the caller's business.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import Iterable, Iterator

from bot.limits import DEFAULT as DEFAULT_LIMITS
from store.catalog import FaqEntry, Product

REQUIRED = ("sku", "name", "price")
# Header spellings seen in shop spreadsheets, mapped to our column names.
HEADER_ALIASES = {
    "编码": "sku", "商品编码": "sku", "货号": "sku", "名称": "name", "商品名称": "name", "品名": "name",
    "别名": "aliases", "分类": "category", "类别": "category", "规格": "spec", "单位": "unit",
    "价格": "price", "售价": "price", "库存": "stock", "产地": "origin", "保质期": "shelf_life_days",
    "保质期天数": "shelf_life_days", "促销": "promo", "活动": "promo", "门店": "stores",
}
MAX_PRICE_FEN = DEFAULT_LIMITS.max_price_fen  # a typo above it (fen typed as yuan); see bot/limits.py


def _split_list(value: str) -> tuple[str, ...]:
    parts = value.replace("｜", "|").replace("，", "|").replace(",", "|").replace("、", "|").split("|")
    seen: dict[str, None] = {}
    for p in parts:
        p = p.strip()
        if p:
            seen.setdefault(p, None)
    return tuple(seen)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    for enc in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def parse_yuan(raw: str) -> int:
    """"35.9", "¥35.90", "35.9元" -> 3590 fen. Raises ValueError or InvalidOperation."""
    text = raw.replace("¥", "").replace("￥", "").replace("元", "").strip()
    value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise ValueError
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError
    return int(fen)


def parse_count(raw: str) -> int:
    """A whole number ("12", "12.0"). Raises ValueError or InvalidOperation."""
    value = Decimal(raw.strip())
    if value != value.to_integral_value():
        raise ValueError
    return int(value)


def _header(cells: list[str]) -> list[str]:
    names = []
    for c in cells:
        k = c.strip().lower().replace(" ", "_")
        names.append(HEADER_ALIASES.get(c.strip(), k))
    return names


def _validate_rows(header: list[str], rows: Iterable[tuple[int, list[str]]]
                   ) -> tuple[list[Product], list[tuple[int, str]]]:
    errors: list[tuple[int, str]] = []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [(1, f"表头缺少列：{'、'.join(missing)}")]
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        return [], [(1, f"表头列重复：{'、'.join(dupes)}")]
    products: list[Product] = []
    # sku -> (line of its all-stores row or None, store -> line of the row carrying it, first line):
    # a lookup per row, so a chain's SKU with a row per store (thousands of them) stays linear.
    seen: dict[str, tuple[int | None, dict[str, int], int]] = {}
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        rec = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}
        problems: list[str] = []
        sku = rec.get("sku", "")
        name = rec.get("name", "")
        if not sku:
            problems.append("缺少SKU")
        if not name:
            problems.append("缺少商品名称")
        price_fen = 0
        try:
            price_fen = parse_yuan(rec.get("price", ""))
            if price_fen == 0 or price_fen > MAX_PRICE_FEN:
                problems.append(f"价格不合理：{rec.get('price')}")
        except (InvalidOperation, ValueError):
            problems.append(f"价格格式错误：{rec.get('price') or '(空)'}")
        stock = 0
        if rec.get("stock"):
            try:
                stock = parse_count(rec["stock"])
                if stock < 0:
                    problems.append(f"库存不能为负：{rec['stock']}")
            except (InvalidOperation, ValueError):
                problems.append(f"库存必须是整数：{rec['stock']}")
        shelf: int | None = None
        if rec.get("shelf_life_days"):
            try:
                shelf = parse_count(rec["shelf_life_days"])
                if shelf < 0:
                    problems.append(f"保质期天数不能为负：{rec['shelf_life_days']}")
            except (InvalidOperation, ValueError):
                problems.append(f"保质期天数必须是整数：{rec['shelf_life_days']}")
        stores = _split_list(rec.get("stores", ""))
        if sku:
            # One SKU may repeat only as per-store variants whose store lists do not overlap.
            if sku in seen:
                all_line, by_store, first = seen[sku]
                # The earliest earlier row it clashes with: any row when this one is for every store.
                clashes = [first] if not stores else [by_store[s] for s in stores if s in by_store]
                if all_line is not None:
                    clashes.append(all_line)
                if clashes:
                    problems.append(f"SKU重复：{sku}（与第{min(clashes)}行）")
                if not stores and all_line is None:
                    seen[sku] = (line, by_store, first)
            else:
                seen[sku] = (None if stores else line, {}, line)
            for s in stores:
                seen[sku][1].setdefault(s, line)
        if problems:
            errors.append((line, "；".join(problems)))
            continue
        aliases = tuple(a for a in _split_list(rec.get("aliases", "")) if a != name)
        products.append(Product(
            sku=sku, name=name, aliases=aliases, category=rec.get("category", ""),
            spec=rec.get("spec", ""), unit=rec.get("unit", ""), price_fen=price_fen, stock=stock,
            origin=rec.get("origin", ""), shelf_life_days=shelf, promo=rec.get("promo", ""),
            stores=stores,
        ))
    if errors:
        return [], errors
    if not products:  # importing nothing would empty the catalog: a header alone is a mistake
        return [], [(1, "文件里没有商品行")]
    return products, []


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def parse_catalog_csv(data: bytes | str) -> tuple[list[Product], list[tuple[int, str]]]:
    """Products from CSV text or bytes (UTF-8, UTF-8 BOM or GBK). Errors are (line, message)."""
    rows = _csv_rows(_decode(data))
    first = next(rows, None)
    if first is None:
        return [], [(1, "文件为空")]
    return _validate_rows(_header(first[1]), rows)


def parse_catalog_xlsx(data: bytes) -> tuple[list[Product], list[tuple[int, str]]]:
    """Products from the first sheet of an .xlsx workbook; line numbers are spreadsheet rows."""
    from openpyxl import load_workbook  # imported here: only imports need it

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        return [], [(0, f"无法读取Excel文件：{type(exc).__name__}")]
    try:
        ws = wb.worksheets[0]
        rows = ((i, [_cell(v) for v in row]) for i, row in enumerate(ws.iter_rows(values_only=True), 1))
        first = next(rows, None)
        if first is None:
            return [], [(1, "文件为空")]
        return _validate_rows(_header(first[1]), rows)
    finally:
        wb.close()


def parse_catalog(data: bytes, filename: str) -> tuple[list[Product], list[tuple[int, str]]]:
    """Dispatch on the file name: .xlsx is a workbook, anything else is CSV."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        return parse_catalog_xlsx(data)
    return parse_catalog_csv(data)


def parse_faq_csv(data: bytes | str) -> tuple[list[FaqEntry], list[tuple[int, str]]]:
    """FAQ entries from CSV with columns id, keywords (| separated), answer."""
    rows = _csv_rows(_decode(data))
    first = next(rows, None)
    if first is None:
        return [], [(1, "文件为空")]
    header = [c.strip().lower() for c in first[1]]
    missing = [c for c in ("id", "keywords", "answer") if c not in header]
    if missing:
        return [], [(1, f"表头缺少列：{'、'.join(missing)}")]
    entries: list[FaqEntry] = []
    errors: list[tuple[int, str]] = []
    ids: dict[str, int] = {}
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        rec = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        problems = []
        if not rec["id"]:
            problems.append("缺少id")
        elif rec["id"] in ids:
            problems.append(f"id重复：{rec['id']}（与第{ids[rec['id']]}行）")
        else:
            ids[rec["id"]] = line
        keywords = _split_list(rec["keywords"])
        if not keywords:
            problems.append("缺少关键词")
        if not rec["answer"]:
            problems.append("缺少答案")
        if problems:
            errors.append((line, "；".join(problems)))
        else:
            entries.append(FaqEntry(rec["id"], keywords, rec["answer"]))
    if errors:
        return [], errors
    return entries, []
