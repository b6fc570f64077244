"""`qunbot catalog import` against a real Redis, and `qunbot ask` as a real process (the pinned
JSON-lines contract)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from handlers.qa.catalog_io import catalog_import
from store import Store
from tests.conftest import make_config
from tests.qa.conftest import DATA, STORES

ROOT = Path(__file__).resolve().parents[2]
HEADER = "sku,name,aliases,category,spec,unit,price,stock,origin,shelf_life_days,promo\n"


def cli_config(redis_url: str, prefix: str):
    return make_config(prefix, "http://127.0.0.1:1", redis={"url": redis_url, "prefix": prefix}, stores=STORES)


async def test_import_reports_every_bad_row_by_line_and_imports_nothing(redis_url, redis, prefix, tmp_path, capsys):
    path = tmp_path / "catalog.csv"
    path.write_text(HEADER + "A1,苹果,,,,个,3.5,1,,,\nA2,梨,,,,个,abc,1,,,\nA3,桃,,,,个,4,x,,,\nA1,苹果2,,,,个,1,1,,,\n",
                    encoding="utf-8")
    code = await catalog_import(cli_config(redis_url, prefix), str(path), None)
    err = capsys.readouterr().err
    assert code == 1
    assert [line.split(":")[0] for line in err.splitlines()[:3]] == ["line 3", "line 4", "line 5"]
    assert "SKU重复：A1（与第2行）" in err and "3 bad row(s); nothing imported" in err
    assert await Store(redis, prefix=prefix).catalog.version() == 0


async def test_import_all_stores_then_one_store(redis_url, redis, prefix, capsys):
    cfg = cli_config(redis_url, prefix)
    out = io.StringIO()
    assert await catalog_import(cfg, str(DATA / "catalog.csv"), None, out=out) == 0
    assert "imported 114 products for all stores (catalog version 1)" in out.getvalue()
    assert await catalog_import(cfg, str(DATA / "catalog.csv"), "S02", out=out) == 0
    _, products, _ = await Store(redis, prefix=prefix).catalog.load()
    assert len(products) == 228 and sum(p.stores == ("S02",) for p in products) == 114


async def test_import_refuses_an_unknown_store_or_file(redis_url, prefix, capsys):
    cfg = cli_config(redis_url, prefix)
    assert await catalog_import(cfg, str(DATA / "catalog.csv"), "S99") == 2
    assert await catalog_import(cfg, "/nonexistent.csv", None) == 2
    err = capsys.readouterr().err
    assert "unknown store 'S99'; configured: S01, S02" in err and "no such file" in err


def test_qunbot_ask_process_writes_the_pinned_json_lines():
    questions = "草莓多少钱一盒\n牛奶多少钱\n几点关门\n有没有牛油果\n今天有什么特价\n谢谢老板\n"
    proc = subprocess.run([sys.executable, "-m", "bot", "ask", "--catalog", str(DATA / "catalog.csv"),
                           "--faq", str(DATA / "faq.csv")], input=questions, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [list(r) for r in rows] == [["q", "intent", "sku", "candidates", "faq", "term", "reply"]] * 6
    assert [r["intent"] for r in rows] == ["product", "clarify", "faq", "unknown_product", "promo_list", "none"]
    assert rows[0]["sku"] == "F001" and len(rows[1]["candidates"]) >= 2 and rows[2]["faq"] == "hours"
    assert rows[3]["term"] == "牛油果" and rows[5]["reply"] is None
    assert all(isinstance(r["reply"], str) for r in rows[:5])


def test_qunbot_ask_with_a_bad_catalog_says_where_and_exits_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,price\nA1,苹果,abc\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot", "ask", "--catalog", str(bad), "--faq", str(DATA / "faq.csv")],
                          input="苹果多少钱\n", capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"{bad}:2:" in proc.stderr
