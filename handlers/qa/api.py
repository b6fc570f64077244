"""Admin API for the catalog: an ERP uploads the whole catalog (or one store's rows, or the FAQ).

    POST /api/catalog[?store=S01][&kind=faq]
        body: the CSV or XLSX file itself (Content-Type text/csv or the XLSX type; otherwise the
        content decides: a ZIP signature is a workbook, anything else CSV)
        -> 200 {"imported": n, "version": v, "kind": ..., "store": ...}
        -> 422 {"error": "invalid_rows", "errors": [{"line": n, "problem": "..."}]}: nothing imported
        -> 400 unknown_store / unknown_kind / faq_has_no_store, 413 too_large, 415 multipart

The body limit is `[qa] max_import_bytes` (8 MiB by default), read here from the stream: the
app-wide `[server] max_body_bytes` (64 KiB) guards the WeCom callbacks and is not raised for this.
"""
from __future__ import annotations

import asyncio
from typing import Any

from bot.feature import ApiRequest, ApiRoute, BadInput
from handlers.qa.catalog import parse_catalog, parse_faq_csv
from handlers.qa.settings import settings

XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "application/vnd.ms-excel.sheet.macroenabled.12")
ZIP_MAGIC = b"PK\x03\x04"


def is_xlsx(content_type: str, body: bytes) -> bool:
    return content_type in XLSX_TYPES or (content_type not in ("text/csv", "text/plain") and body[:4] == ZIP_MAGIC)


async def import_catalog(req: ApiRequest) -> dict[str, Any]:
    config, store = req.config, req.store
    q = req.query
    kind = q.get("kind", "catalog")
    if kind not in ("catalog", "faq"):
        raise BadInput(400, "unknown_kind", kind=kind[:40], allowed=["catalog", "faq"])
    store_id = q.get("store") or None
    if store_id is not None and store_id not in {s.id for s in config.stores}:
        raise BadInput(400, "unknown_store", store=store_id[:40], configured=[s.id for s in config.stores])
    if kind == "faq" and store_id:
        raise BadInput(400, "faq_has_no_store")  # the FAQ is one for the whole chain
    if req.content_type.startswith("multipart/"):
        raise BadInput(415, "send the file itself as the request body, not a multipart form")
    limit = settings(config).max_import_bytes
    try:
        body = await req.read(limit)
    except BadInput as exc:
        if exc.status == 413:
            raise BadInput(413, "too_large", limit_bytes=limit) from None
        raise BadInput(exc.status, exc.message) from None
    if kind == "faq":
        rows, errors = await asyncio.to_thread(parse_faq_csv, body)
    else:
        name = "upload.xlsx" if is_xlsx(req.content_type, body) else "upload.csv"
        rows, errors = await asyncio.to_thread(parse_catalog, body, name)
    if errors:
        raise BadInput(422, "invalid_rows", errors=[{"line": line, "problem": problem} for line, problem in errors])
    if kind == "faq":
        version = await store.catalog.replace_faq(rows)
    else:
        version = await store.catalog.replace(rows, store=store_id)
    cache = req.deps.get("qa")
    if cache is not None:
        cache.invalidate()
    return {"imported": len(rows), "version": version, "kind": kind, "store": store_id}


ROUTES = [ApiRoute("POST", "/api/catalog", import_catalog)]
