"""Every registered /api/ route under hostile input: a clear 4xx (JSON, never a 500).

The routes are read from the application's router, so an endpoint added later is covered without
touching this file: each {placeholder} in its path, each query parameter any endpoint reads, and
each body shape is tried with values a confused or malicious client sends.
"""
from __future__ import annotations

import asyncio
import json
import re

import pytest

AUTH = {"Authorization": "Bearer test-admin-token"}

PATH_VALUES = ["²", "9" * 5000, "-1", "0", "%FF%FE", "x" * 300, "C" + "9" * 40, "%00", "..", "１２", "C1"]
QUERIES = [
    "limit=²", "limit=" + "9" * 5000, "limit=-5", "limit=1e9", "status=%FF", "store=%FF%FE", "store=" + "S" * 500,
    "store_id=%00", "store_id[]=S01", "date=0001-01-01", "date=9999-12-31", "date=2026-02-30", "date=%FF",
    "date=" + "1" * 5000, "format=pdf", "kind=%FF", "kind=faq&store=S01", "store=S01&store=S02",
]
JSON_BODIES = [
    None, [], "text", 5, 1e308, True, {"text": 5}, {"text": ["x"]}, {"store_id": []}, {"store_id": {"a": 1}},
    {"campaign": 5}, {"campaign": []}, {"campaign": "C" + "9" * 5000}, {"code": 5, "order_no": "1"},
    {"code": "x" * 10000, "order_no": "1"}, {"code": "ABCD", "order_no": ["1"]}, {"code": "ABCD", "order_no": 7},
    {"kind": "percent", "percent": "90", "total": 1e400}, {"kind": ["threshold"], "total": -1},
    {"kind": "threshold", "threshold_fen": 10 ** 40, "amount_fen": 10 ** 40, "total": 10 ** 40, "valid_days": 3},
    {"ends_on": "0001-01-01", "kind": "no_threshold", "amount_fen": 100, "total": 1, "valid_days": 1},
    {"ends_on": 5}, {"stores": 5}, {"stores": [1, 2]}, {"stores": "x" * 5000}, {"by": {"x": 1}, "text": "无门槛5元 5张 有效3天"},
    {"draft": "yes", "welcome": [], "text": "无门槛5元 5张 有效3天", "store_id": "S01"},
]
RAW_BODIES = [
    (b"\xff\xfe\x00garbage" * 50, "application/json"),
    (b"{" * 5000, "application/json"),
    (b'{"a": ' * 2000 + b"1" + b"}" * 2000, "application/json"),  # nesting deep enough to break a recursive parser
    (b"PK\x03\x04" + b"\x00junk" * 200, "application/octet-stream"),  # a ZIP signature, not a workbook
    (b"PK\x03\x04" + b"\x00junk" * 200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"\xff\xfe\xfd\n\x00\x01,\x02\n" * 100, "text/csv"),
    (("问题,答案\n" * 3 + "\x00\x00").encode("utf-16"), "text/csv"),
    (b"a" * (70 * 1024), "application/json"),  # past the 64 KiB body limit
    (b"--x\r\nContent-Disposition: form-data\r\n\r\nx\r\n--x--", "multipart/form-data; boundary=x"),
]


def api_routes(app) -> list[tuple[str, str]]:
    out = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/") and route.method != "*":
            out.append((route.method, path))
    return sorted(set(out))


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


async def problem(resp, what: str, line_too_long: bool = False) -> str | None:
    """What is wrong with the answer to one hostile request, or None. A request line past aiohttp's
    8,190-byte limit is refused by its HTTP parser (plain 400) before any code of ours runs."""
    body = await resp.text()
    if resp.status >= 500:
        return f"{what} -> {resp.status}: {body[:200]}"
    if resp.status >= 400 and not (line_too_long and resp.status == 400):
        try:
            if not json.loads(body).get("error"):
                raise ValueError
        except ValueError:
            return f"{what} -> {resp.status} without a JSON error: {body[:100]}"
    return None


async def test_every_api_route_answers_hostile_input_with_a_clear_4xx(service, caplog):
    routes = api_routes(service.app)
    assert len(routes) >= 12, routes  # the enumeration found the registered endpoints
    client = service.client
    problems: list[str | None] = []
    for method, path in routes:
        paths = [fill(path, v) for v in PATH_VALUES] if "{" in path else [path]
        for p in paths:
            for q in [""] + QUERIES:
                url = f"{p}?{q}" if q else p
                resp = await client.request(method, url, headers=AUTH, skip_auto_headers=("Content-Type",))
                problems.append(await problem(resp, f"{method} {url[:80]}", line_too_long=len(url) > 8100))
        if method in ("POST", "PUT", "PATCH"):
            p = paths[-1]
            for body in JSON_BODIES:
                resp = await client.request(method, p, headers={**AUTH, "Content-Type": "application/json"},
                                            data=json.dumps(body))
                problems.append(await problem(resp, f"{method} {p[:60]} json={str(body)[:60]}"))
            for raw, ctype in RAW_BODIES:
                for q in ("", "kind=faq"):
                    resp = await client.request(method, f"{p}?{q}", headers={**AUTH, "Content-Type": ctype}, data=raw)
                    problems.append(await problem(resp, f"{method} {p[:60]}?{q} raw={raw[:20]!r}"))
    problems = [p for p in problems if p]
    assert not problems, f"{len(problems)} unclear answers:\n" + "\n".join(problems[:60])
    ours = [r for r in caplog.records if r.exc_info and r.name.split(".")[0] in ("bot", "handlers", "store")]
    assert not ours, "a hostile input reached an unexpected exception"


@pytest.mark.parametrize("auth", [b"Bearer \xff\xfe\xfd", b"Bearer t\xc3\x28", b"\x80\x81", b"Bearer " + b"\xe4" * 3000])
async def test_non_utf8_bearer_is_401_without_a_traceback(service, caplog, auth):
    port = service.client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: " + auth + b"\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), head[:100]
    assert json.loads(body)["error"] == "unauthorized"
    assert not [r for r in caplog.records if r.exc_info]
    assert any("refused" in r.getMessage() for r in caplog.records)  # one log line says why


async def test_api_errors_keep_chinese_readable(service):
    resp = await service.client.get("/api/coupons/welcome", params={"store_id": "梅溪湖"}, headers=AUTH)
    assert resp.status == 400
    text = await resp.text()
    assert "\\u" not in text and "梅溪湖" in text  # ensure_ascii=False: the answer reads as written
    resp = await service.client.get("/api/groupbuys/²", headers=AUTH)
    assert resp.status == 400 and "id must be a number" in (await resp.json())["error"]
