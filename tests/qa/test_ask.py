import io
import json
from pathlib import Path

from openpyxl import Workbook

from handlers.qa.ask import run_ask

DATA = Path(__file__).resolve().parents[2] / "data"
KEYS = ["q", "intent", "sku", "candidates", "faq", "term", "reply"]


def run(lines, catalog=DATA / "catalog.csv", faq=DATA / "faq.csv"):
    out, err = io.StringIO(), io.StringIO()
    code = run_ask(catalog, faq, io.StringIO("".join(line + "\n" for line in lines)), out, err)
    return code, [json.loads(x) for x in out.getvalue().splitlines()], err.getvalue()


def test_one_json_object_per_input_line_with_the_agreed_keys():
    code, rows, _ = run(["草莓多少钱一盒", "", "油多少钱一桶", "几点关门", "有没有牛油果", "谢谢老板", "今天有什么特价"])
    assert code == 0 and len(rows) == 7
    assert all(list(r) == KEYS for r in rows)
    assert (rows[0]["intent"], rows[0]["sku"]) == ("product", "F001") and "39.9元/盒" in rows[0]["reply"]
    assert rows[1] == {"q": "", "intent": "none", "sku": None, "candidates": [], "faq": None, "term": None, "reply": None}
    assert rows[2]["intent"] == "clarify" and set(rows[2]["candidates"]) == {"G003", "G004"} and rows[2]["sku"] is None
    assert (rows[3]["intent"], rows[3]["faq"]) == ("faq", "hours")
    assert (rows[4]["intent"], rows[4]["term"]) == ("unknown_product", "牛油果")
    assert rows[5]["intent"] == "none" and rows[5]["reply"] is None
    assert rows[6]["intent"] == "promo_list" and rows[6]["candidates"] == []


def test_xlsx_catalog_is_accepted(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["sku", "name", "aliases", "unit", "price", "stock"])
    ws.append(["A1", "丹东草莓", "草莓", "盒", 39.9, 5])
    path = tmp_path / "catalog.xlsx"
    wb.save(path)
    code, rows, _ = run(["草莓多少钱"], catalog=path, faq=None)
    assert code == 0 and rows[0]["sku"] == "A1" and "39.9元/盒" in rows[0]["reply"]


def test_bad_catalog_rows_stop_the_run_with_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("sku,name,price,stock\nA1,x,1,1\nA2,y,abc,1\n", encoding="utf-8")
    code, rows, err = run(["草莓多少钱"], catalog=path)
    assert code == 2 and rows == []
    assert f"{path}:3:" in err and "价格" in err
