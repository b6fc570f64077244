import io

import pytest
from openpyxl import Workbook

from handlers.qa.catalog import FaqEntry, Product, parse_catalog, parse_catalog_csv, parse_catalog_xlsx, parse_faq_csv

HEADER = "sku,name,aliases,category,spec,unit,price,stock,origin,shelf_life_days,promo\n"


def test_demo_catalog_imports_every_row_with_typed_fields(products):
    assert len(products) == 114
    f001 = products[0]
    assert f001 == Product(sku="F001", name="丹东99草莓", aliases=("草莓", "99草莓", "红颜草莓", "牛奶草莓"),
                           category="水果", spec="500g/盒", unit="盒", price_fen=3990, stock=120,
                           origin="辽宁丹东", shelf_life_days=5, promo="第二盒半价")
    assert {p.sku for p in products if p.stock == 0} == {"F008"}


def test_price_in_yuan_becomes_integer_fen_without_float_error():
    products, errors = parse_catalog_csv(HEADER + "A1,x,,,,,0.29,1,,,\nA2,y,,,,,19.9,1,,,\nA3,z,,,,,¥5,1,,,\n")
    assert errors == []
    assert [p.price_fen for p in products] == [29, 1990, 500]


def test_every_bad_row_is_reported_by_line_and_nothing_is_imported():
    text = HEADER + (
        "A1,好的,,,,,1.00,5,,,\n"
        ",缺SKU,,,,,1.00,5,,,\n"
        "A1,重复,,,,,1.00,5,,,\n"
        "A4,价格错,,,,,abc,5,,,\n"
        "A5,负库存,,,,,1.00,-2,,,\n"
        "A6,小数库存,,,,,1.00,2.5,,,\n"
        "A7,三位小数,,,,,1.234,2,,,\n"
        "A8,,,,,,1.00,2,,,\n"
        "A9,保质期,,,,,1.00,2,,x,\n"
    )
    products, errors = parse_catalog_csv(text)
    assert products == []
    lines = [line for line, _ in errors]
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10]
    messages = dict(errors)
    assert "SKU" in messages[3]
    assert "重复" in messages[4] and "第2行" in messages[4]
    assert "价格" in messages[5]
    assert "库存" in messages[6] and "负" in messages[6]
    assert "整数" in messages[7]
    assert "价格" in messages[8]
    assert "名称" in messages[9]
    assert "保质期" in messages[10]


def test_one_row_can_have_several_problems_in_one_message():
    _, errors = parse_catalog_csv(HEADER + ",,,,,,,-1,,,\n")
    assert len(errors) == 1
    line, message = errors[0]
    assert line == 2 and "SKU" in message and "名称" in message and "价格" in message and "库存" in message


def test_missing_required_column_is_a_header_error():
    products, errors = parse_catalog_csv("sku,name\nA1,x\n")
    assert products == [] and errors[0][0] == 1 and "price" in errors[0][1]


def test_line_numbers_count_physical_lines_when_a_field_spans_two():
    text = HEADER + 'A1,"两行\n的名字",,,,,1,1,,,\nA2,x,,,,,bad,1,,,\n'
    _, errors = parse_catalog_csv(text)
    assert errors[0][0] == 4


def test_blank_rows_are_skipped_not_reported():
    products, errors = parse_catalog_csv(HEADER + "A1,x,,,,,1,1,,,\n,,,,,,,,,,\n\nA2,y,,,,,2,1,,,\n")
    assert errors == [] and [p.sku for p in products] == ["A1", "A2"]


def test_gbk_and_bom_encoded_files_are_read():
    row = "A1,草莓,莓子|红颜,水果,500g/盒,盒,39.9,3,丹东,5,\n"
    for data in ((HEADER + row).encode("gb18030"), (HEADER + row).encode("utf-8-sig")):
        products, errors = parse_catalog_csv(data)
        assert errors == [] and products[0].name == "草莓" and products[0].aliases == ("莓子", "红颜")


def test_chinese_headers_are_understood():
    products, errors = parse_catalog_csv("编码,名称,别名,售价,库存\nA1,草莓,莓子,39.9,3\n")
    assert errors == [] and products[0].price_fen == 3990 and products[0].aliases == ("莓子",)


def test_a_sku_may_repeat_only_as_per_store_rows_with_disjoint_stores():
    head = "sku,name,price,stock,stores\n"
    ok, errors = parse_catalog_csv(head + "A1,草莓,39.9,3,S01\nA1,草莓,35.9,0,S02|S03\n")
    assert errors == [] and [p.stores for p in ok] == [("S01",), ("S02", "S03")]
    _, errors = parse_catalog_csv(head + "A1,草莓,39.9,3,S01\nA1,草莓,35.9,0,S01\n")
    assert errors and errors[0][0] == 3
    _, errors = parse_catalog_csv(head + "A1,草莓,39.9,3,\nA1,草莓,35.9,0,S02\n")
    assert errors and errors[0][0] == 3


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_with_numeric_cells_imports_like_csv():
    data = _xlsx([HEADER.strip().split(","), ["F001", "丹东99草莓", "草莓|99草莓", "水果", "500g/盒", "盒", 39.9, 120,
                                               "辽宁丹东", 5, "第二盒半价"], [1002, "数字SKU", None, None, None, "个", 2, 3.0, None, None, None]])
    products, errors = parse_catalog_xlsx(data)
    assert errors == []
    assert products[0].price_fen == 3990 and products[0].stock == 120 and products[0].aliases == ("草莓", "99草莓")
    assert products[1].sku == "1002" and products[1].stock == 3


def test_xlsx_bad_rows_are_reported_by_spreadsheet_row():
    data = _xlsx([["sku", "name", "price", "stock"], ["A1", "好", 1, 1], ["A2", "坏", "abc", -1]])
    products, errors = parse_catalog_xlsx(data)
    assert products == [] and errors[0][0] == 3 and "价格" in errors[0][1] and "库存" in errors[0][1]


def test_not_a_workbook_is_an_error_not_a_crash():
    products, errors = parse_catalog_xlsx(b"not a zip file")
    assert products == [] and errors and errors[0][0] == 0


@pytest.mark.parametrize("name", ["c.xlsx", "C.XLSX"])
def test_parse_catalog_dispatches_on_extension(name):
    data = _xlsx([["sku", "name", "price"], ["A1", "x", 1]])
    assert parse_catalog(data, name)[0][0].sku == "A1"
    assert parse_catalog(b"sku,name,price\nA1,x,1\n", "c.csv")[0][0].sku == "A1"


def test_faq_file_parses_and_validates(faqs):
    assert [f.id for f in faqs] == ["hours", "delivery", "pickup", "returns", "payment", "member", "address"]
    assert faqs[0] == FaqEntry("hours", ("营业时间", "几点开门", "几点关门", "开到几点", "几点下班", "营业到几点", "开门"),
                               "门店营业时间：每天 8:00-22:00，节假日照常营业。")
    entries, errors = parse_faq_csv("id,keywords,answer\na,x|y,答\na,z,答\nb,,答\nc,k,\n")
    assert entries == [] and [line for line, _ in errors] == [3, 4, 5]
