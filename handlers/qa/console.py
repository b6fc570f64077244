"""Catalog import from the console: upload a CSV or XLSX, see every row's problem (the same parser
as /api/catalog), and only then import. Nothing is written until the previewed file is confirmed;
the file rides in the confirmation form, signed, so no upload is kept on the server."""
from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import hmac

from bot.feature import BadInput, Page, PageRequest, PageResult
from handlers.qa.catalog import parse_catalog, parse_faq_csv
from handlers.qa.settings import settings

ROLES = frozenset({"guide", "admin"})
SAMPLE = 20  # rows shown of a clean file


def _target(req: PageRequest, fields) -> tuple[str, str | None]:
    """(kind, store): guides import their own store's rows only; the chain catalog and the FAQ are the admin's."""
    kind = fields.get("kind", "catalog")
    if kind not in ("catalog", "faq"):
        raise BadInput(400, "kind must be catalog or faq")
    store = fields.get("store", "") or None
    if req.role != "admin":
        if kind == "faq":
            raise BadInput(403, "the FAQ is imported by an admin")
        if store is None and len(req.stores) == 1:
            store = req.stores[0]
        if store is None:
            raise BadInput(400, "choose one of your stores")
    if store is not None and store not in req.stores:
        raise BadInput(404, "no such store in your scope")
    if kind == "faq" and store:
        raise BadInput(400, "the FAQ is one for the whole chain")
    return kind, store


def _signature(req: PageRequest, body: bytes, kind: str, store: str | None, name: str) -> str:
    msg = f"catalog-import\0{hashlib.sha256(body).hexdigest()}\0{kind}\0{store or ''}\0{name}\0{req.user}"
    return req.deps["sign"](msg.encode())


async def _parse(kind: str, body: bytes, name: str):
    if kind == "faq":
        return await asyncio.to_thread(parse_faq_csv, body)
    return await asyncio.to_thread(parse_catalog, body, name)


async def form(req: PageRequest) -> PageResult:
    return PageResult("catalog.html", {"done": req.query.get("done", "")[:12], "count": req.query.get("n", "")[:9]})


async def preview(req: PageRequest) -> PageResult:
    kind, store = _target(req, req.form)
    upload = req.deps.get("files", {}).get("file")
    if upload is None or not upload[1]:
        raise BadInput(400, "choose a file")
    name, body = upload
    limit = settings(req.deps["config"]).max_import_bytes
    if len(body) > limit:
        raise BadInput(413, f"file larger than {limit} bytes")
    rows, errors = await _parse(kind, body, name)
    sample = [dataclasses.asdict(r) for r in rows[:SAMPLE]]
    columns = ["id", "keywords", "answer"] if kind == "faq" else ["sku", "name", "category", "spec", "unit",
                                                                  "price_fen", "stock", "stores"]
    return PageResult("catalog_preview.html", {
        "kind": kind, "store": store or "", "filename": name, "rows": len(rows), "sample": sample, "columns": columns,
        "errors": [{"line": line, "problem": problem} for line, problem in errors],
        "file_b64": base64.b64encode(body).decode() if not errors else "",
        "signature": _signature(req, body, kind, store, name) if not errors else ""})


async def do_import(req: PageRequest) -> PageResult:
    kind, store = _target(req, req.form)
    name = req.form.get("filename", "")[:200]
    try:
        body = base64.b64decode(req.form.get("file_b64", ""), validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(400, "the previewed file is damaged") from None
    if not hmac.compare_digest(req.form.get("signature", ""), _signature(req, body, kind, store, name)):
        raise BadInput(400, "this file was not previewed here: upload it again")
    rows, errors = await _parse(kind, body, name)
    if errors:  # cannot happen for a signed preview; the parser stays the judge
        raise BadInput(422, "the file has problems: upload it again to see them")
    cat = req.deps["store"].catalog
    await (cat.replace_faq(rows) if kind == "faq" else cat.replace(rows, store=store))
    cache = req.deps.get("qa")
    if cache is not None:
        cache.invalidate()
    return PageResult("", redirect=f"/console/catalog?done={kind}&n={len(rows)}")


PAGES = [
    Page("/catalog", form, ROLES, menu="catalog"),
    Page("/catalog/preview", preview, ROLES, methods=("POST",)),
    Page("/catalog/import", do_import, ROLES, methods=("POST",)),
]
