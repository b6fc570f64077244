"""Each page against the admin API's JSON for the same data (demo activity in the real stores)."""
from __future__ import annotations

import csv
import io
import re
import time

import pytest
from openpyxl import load_workbook

from tests.console.helpers import AUTH, console_config, csrf_of, seeded, sign_in, start


@pytest.fixture
async def chain(aiohttp_client, redis, prefix, fake):
    config = console_config(prefix, fake.base_url)
    client, store, deps = await start(aiohttp_client, redis, fake, config)
    await seeded(store, config)
    return client, store, deps


def _figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'<b data-k="(\w+)">([^<]*)</b>', html))


async def test_demand_page_shows_the_digest(chain, fake):
    client, *_ = chain
    await sign_in(client, fake, "buyer1")
    html = await (await client.get("/console/demand")).text()
    day = re.search(r'name="date" value="([0-9-]+)"', html).group(1)  # the last day the digest went out for
    api = await (await client.get(f"/api/digest?date={day}", headers=AUTH)).json()
    assert api["frozen"]
    figures = _figures(html)
    h = api["header"]
    assert h["tuan_formed"] > 0 and h["unmet_askers"] > 0
    assert figures["tuan_formed"] == str(h["tuan_formed"]) and figures["qty"] == str(h["qty"])
    assert figures["unmet_askers"] == str(h["unmet_askers"]) and figures["open"] == str(h["open"])
    for r in api["skus"][:5]:
        row = html.split(f'<tr data-sku="{r["key"]}"', 1)[1].split("<tr data-sku=", 1)[0].split("</tbody>")[-2 if False else 0]
        assert f'<td data-k="qty">{r["qty"]}</td>' in row and f'<td data-k="gap">{r["gap"]}</td>' in row
    for r in api["unmet"]:
        assert f'data-sku="{r["sku"]}"' in html and all(e in html for e in r["examples"])
    # today, live, on request
    today = await (await client.get("/api/digest", headers=AUTH)).json()
    html = await (await client.get(f"/console/demand?date={today['date']}")).text()
    assert _figures(html)["qty"] == str(today["header"]["qty"]) and _figures(html)["open"] == str(today["header"]["open"])
    html = await (await client.get(f"/console/demand/changes?date={day}")).text()
    assert 'id="changes-list"' in html


async def test_filters_and_exports_match_the_api(chain, fake):
    client, *_ = chain
    await sign_in(client, fake, "buyer1")
    html = await (await client.get("/console/demand?store=S02&days=30")).text()
    day = re.search(r'name="date" value="([0-9-]+)"', html).group(1)
    api = await (await client.get(f"/api/digest?store=S02&date={day}", headers=AUTH)).json()
    assert _figures(html)["qty"] == str(api["header"]["qty"])
    assert html.count("<tr><td>") >= 30  # thirty days of trend rows
    r = await client.get(f"/console/demand?store=S02&format=csv&date={day}")
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert rows[0][0] == "日期"
    expected = sorted((x["store"], r["sku"], x["qty"]) for r in api["skus"] for x in r["stores"])
    assert sorted((row[1], row[3], int(row[8])) for row in rows[1:]) == expected
    r = await client.get(f"/console/demand?store=S02&format=xlsx&date={day}")
    wb = load_workbook(io.BytesIO(await r.read()), read_only=True)
    assert sum(1 for _ in wb["需求明细"].iter_rows()) == len(expected) + 1
    categories = sorted({r["category"] for r in api["skus"] if r["category"]})
    if categories:
        c = categories[0]
        r = await client.get("/console/demand", params={"store": "S02", "category": c, "format": "csv",
                                                           "date": day})
        rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
        assert rows[1:] and all(row[5] == c for row in rows[1:])


async def test_guide_sees_only_own_stores_ledger(chain, fake):
    client, store, _ = chain
    api = await (await client.get("/api/groupbuys?status=open&store=S01", headers=AUTH)).json()
    assert api["groupbuys"]
    await sign_in(client, fake, "xiaowang")
    html = await (await client.get("/console/tuans")).text()
    ids = set(map(int, re.findall(r'<li data-id="(\d+)"', html)))
    assert ids == {g["id"] for g in api["groupbuys"]}
    other = await (await client.get("/api/groupbuys?status=open&store=S02", headers=AUTH)).json()
    assert (await client.get(f"/console/tuans/{other['groupbuys'][0]['id']}")).status == 404
    gid = api["groupbuys"][0]["id"]
    detail = await (await client.get(f"/api/groupbuys/{gid}", headers=AUTH)).json()
    html = await (await client.get(f"/console/tuans/{gid}")).text()
    for line in detail["lines"]:
        if line["status"] == "active":
            assert f'<tr data-no="{line["no"]}">' in html
    assert _figures(html)["total"] == str(detail["groupbuy"]["total"])


async def test_close_needs_a_fresh_preview_and_acts_once(chain, fake):
    client, store, deps = chain
    api = await (await client.get("/api/groupbuys?status=open&store=S01", headers=AUTH)).json()
    gid = api["groupbuys"][0]["id"]
    await sign_in(client, fake, "xiaowang")
    page = await (await client.get(f"/console/tuans/{gid}/confirm?action=close")).text()
    previewed = re.search(r'name="previewed" value="(\d+)"', page).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    stale = str(int(time.time()) - 3600)
    r = await client.post(f"/console/tuans/{gid}/confirm", data={"csrf": csrf, "action": "close", "previewed": stale},
                          allow_redirects=False)
    assert "expired=1" in r.headers["Location"]
    assert (await store.groupbuys.get(gid)).status == "open"
    for _ in range(2):  # sent twice: one close
        r = await client.post(f"/console/tuans/{gid}/confirm",
                              data={"csrf": csrf, "action": "close", "previewed": previewed}, allow_redirects=False)
        assert r.status == 303
    after = await (await client.get(f"/api/groupbuys/{gid}", headers=AUTH)).json()
    assert after["groupbuy"]["status"] == "closed"
    # the guide's result (with the 提货单) and each participant's notice are queued, once
    gb = await store.groupbuys.get(gid)
    assert "closed" in gb.announced and gid not in await store.groupbuys.open_ids()
    queued = sum((await store.outbox.lag()).values())
    reached = re.search(r'data-k="reached">(\d+)<', page).group(1)
    assert queued == int(reached) + 1  # every participant and the guide
    r = await client.get(f"/console/tuans/{gid}/sheet?format=xlsx")
    assert r.status == 200 and (await r.read())[:2] == b"PK"


async def test_coupon_page_counts_match_the_log(chain, fake):
    client, *_ = chain
    api = await (await client.get("/api/coupons/campaigns?store_id=S01", headers=AUTH)).json()
    c = api["campaigns"][0]
    log = await (await client.get(f"/api/coupons/campaigns/{c['id']}/log", headers=AUTH)).json()
    await sign_in(client, fake, "xiaowang")
    html = await (await client.get("/console/coupons")).text()
    assert f'data-id="{c["id"]}"' in html
    html = await (await client.get(f"/console/coupons/{c['id']}")).text()
    issued = sum(1 for e in log["events"] if e["ev"] == "issue")
    redeemed = sum(1 for e in log["events"] if e["ev"] == "redeem")
    assert issued == c["issued"] > 0 and redeemed == c["redeemed"] > 0
    assert f'data-k="issued-total">{issued}<' in html and f'data-k="redeemed-total">{redeemed}<' in html


async def test_catalog_preview_writes_nothing_until_confirmed(chain, fake):
    client, store, _ = chain
    version, before, _ = await store.catalog.load()
    await sign_in(client, fake, "xiaowang")
    csrf = await csrf_of(client, "/console/catalog")
    bad = "sku,name,price,stock\nA1,苹果,abc,5\n,香蕉,3,1\n".encode()
    import aiohttp
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("store", "S01")
    form.add_field("file", bad, filename="bad.csv", content_type="text/csv")
    html = await (await client.post("/console/catalog/preview", data=form)).text()
    assert 'data-errors="0"' not in html and '<tr data-line="2">' in html and '<tr data-line="3">' in html
    assert (await store.catalog.load())[0] == version
    good = "sku,name,price,stock\nA1,苹果,3.5,5\nA2,香蕉,2,1\n".encode()
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("store", "S01")
    form.add_field("file", good, filename="good.csv", content_type="text/csv")
    html = await (await client.post("/console/catalog/preview", data=form)).text()
    assert 'data-errors="0"' in html and (await store.catalog.load())[0] == version
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', html))
    tampered = {**fields, "store": "S01", "filename": "other.csv"}
    assert (await client.post("/console/catalog/import", data=tampered)).status == 400
    assert (await client.post("/console/catalog/import", data={**fields, "store": "S02"})).status == 404
    r = await client.post("/console/catalog/import", data=fields, allow_redirects=False)
    assert r.status == 303 and "n=2" in r.headers["Location"]
    _, after, _ = await store.catalog.load()
    assert {p.sku for p in after if "S01" in p.stores} >= {"A1", "A2"}


async def test_engineer_pages_match_health_and_dead_letters(chain, fake):
    client, store, _ = chain
    health = await (await client.get("/healthz")).json()
    await sign_in(client, fake, "boss")
    html = await (await client.get("/console/engineer/health")).text()
    assert f'data-ok="{1 if health["ok"] else 0}"' in html
    for name in health["checks"]:
        assert f'data-check="{name}"' in html
    await store.r.xadd(store.keys.dead("outbox"), {"d": '{"channel": "app", "to": "xiaowang", "content": "你好"}',
                                                    "reason": "errcode 81013", "from": "1-1", "k": "app:xiaowang"})
    html = await (await client.get("/console/engineer/dead")).text()
    dead_id = re.search(r'<li data-id="([\d-]+)" data-stream="outbox"', html).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    r = await client.post("/console/engineer/dead/replay", data={"csrf": csrf, "stream": "outbox", "id": dead_id},
                          allow_redirects=False)
    assert "done=replayed" in r.headers["Location"]
    assert await store.r.xlen(store.keys.dead("outbox")) == 0
    html = await (await client.get("/console/engineer/check")).text()
    assert "access token fetched" in html
