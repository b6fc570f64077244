"""POST /api/catalog: CSV or XLSX, all or nothing, its own body limit (the callbacks keep theirs)."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from tests.harness import Harness
from tests.qa.conftest import DATA, qa_config
from tests.qa.helpers import shopper_says

AUTH = {"Authorization": "Bearer test-admin-token"}
HEADER = "sku,name,aliases,category,spec,unit,price,stock,origin,shelf_life_days,promo\n"


def big_csv(rows: int) -> bytes:
    lines = [f"X{i:05d},测试商品{i},别名{i},杂货,500g/袋,袋,{1 + i % 90}.90,{i % 7},湖南,30,\n" for i in range(rows)]
    return (HEADER + "".join(lines)).encode()


def xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def post(h, body: bytes, query: str = "", content_type: str = "text/csv", headers=AUTH):
    return await h.client.post(f"/api/catalog{query}", data=body, headers={**headers, "Content-Type": content_type})


async def test_a_catalog_larger_than_the_callback_limit_imports(service):
    body = big_csv(2000)
    assert len(body) > service.config.server.max_body_bytes  # 64 KiB would refuse it
    resp = await post(service, body)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["imported"] == 2000 and data["version"] == await service.store.catalog.version()
    _, products, _ = await service.store.catalog.load()
    assert len(products) == 2000  # replaced, not merged with the demo catalog
    out = await shopper_says(service, "wm1", "测试商品17多少钱")
    assert "测试商品17 18.9元/袋" in out[0]


async def test_any_bad_row_is_422_with_every_error_and_nothing_imported(service):
    before = await service.store.catalog.version()
    body = (HEADER + "A1,苹果,,,,个,abc,1,,,\n"
            "A2,梨,,,,个,3.5,-2,,,\n"
            "A3,桃,,,,个,4.0,5,,,\n"
            ",无名,,,,个,1,1,,,\n").encode()
    resp = await post(service, body)
    assert resp.status == 422
    data = await resp.json()
    assert data["error"] == "invalid_rows"
    assert [e["line"] for e in data["errors"]] == [2, 3, 5]
    assert "价格格式错误" in data["errors"][0]["problem"] and "库存不能为负" in data["errors"][1]["problem"]
    assert await service.store.catalog.version() == before


async def test_a_header_alone_would_empty_the_catalog_and_is_refused(service):
    resp = await post(service, HEADER.encode())
    assert resp.status == 422 and (await resp.json())["errors"][0]["line"] == 1


async def test_xlsx_by_content_type_and_by_sniffing(service):
    book = xlsx([["sku", "name", "aliases", "unit", "price", "stock"], ["K1", "沃柑", "沃柑", "斤", 6.8, 30]])
    typed = await post(service, book, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sniffed = await post(service, book, content_type="application/octet-stream")
    assert typed.status == sniffed.status == 200
    assert (await sniffed.json())["imported"] == 1


async def test_store_rows_replace_only_that_store(service):
    resp = await post(service, (HEADER + "F001,丹东99草莓,草莓,水果,500g/盒,盒,29.90,50,辽宁丹东,5,\n").encode(),
                      query="?store=S02")
    assert resp.status == 200 and (await resp.json())["store"] == "S02"
    s02 = await shopper_says(service, "wm9", "草莓多少钱", kf="wkS02")
    s01 = await shopper_says(service, "wm1", "草莓多少钱")
    assert "29.9元/盒" in s02[0] and "39.9元/盒" in s01[0]


async def test_faq_upload(service):
    body = "id,keywords,answer\nhours,几点关门|营业时间,门店营业时间：每天 7:30-23:00。\n".encode()
    resp = await post(service, body, query="?kind=faq")
    assert resp.status == 200 and (await resp.json())["imported"] == 1
    assert (await shopper_says(service, "wm1", "几点关门"))[0] == "门店营业时间：每天 7:30-23:00。"
    bad = await post(service, b"id,keywords,answer\n,x,\n", query="?kind=faq")
    assert bad.status == 422 and (await bad.json())["errors"][0]["line"] == 2


@pytest.mark.parametrize("query, code", [("?store=S99", "unknown_store"), ("?kind=prices", "unknown_kind"),
                                         ("?kind=faq&store=S01", "faq_has_no_store")])
async def test_bad_query_is_400(service, query, code):
    resp = await post(service, big_csv(1), query=query)
    assert resp.status == 400 and (await resp.json())["error"] == code


async def test_without_the_token_401(service):
    before = await service.store.catalog.version()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        resp = await post(service, big_csv(1), headers=headers)
        assert resp.status == 401
    assert await service.store.catalog.version() == before


async def test_multipart_is_refused_with_what_to_do(service):
    resp = await post(service, b"--x\r\n", content_type="multipart/form-data; boundary=x")
    assert resp.status == 415


async def test_oversized_body_is_413_and_nothing_imported(aiohttp_client, redis, prefix, fake):
    h = await Harness.start(aiohttp_client, redis, qa_config(prefix, fake.base_url, max_import_bytes=100_000), fake)
    before = await h.store.catalog.version()
    resp = await post(h, big_csv(3000))
    assert resp.status == 413 and (await resp.json())["limit_bytes"] == 100_000
    # Streamed without a Content-Length, it is cut off at the limit just the same.
    async def chunks():
        body = big_csv(3000)
        for i in range(0, len(body), 8192):
            yield body[i:i + 8192]
    streamed = await h.client.post("/api/catalog", data=chunks(), headers={**AUTH, "Content-Type": "text/csv"})
    assert streamed.status == 413
    assert await h.store.catalog.version() == before


async def test_the_callback_limit_is_unchanged(service):
    resp = await service.client.post("/wecom/app?msg_signature=a&timestamp=1&nonce=2", data=b"x" * (70 * 1024))
    assert resp.status == 413


def test_demo_catalog_file_is_what_the_api_takes():
    assert (DATA / "catalog.csv").read_text(encoding="utf-8").startswith(HEADER.strip())
