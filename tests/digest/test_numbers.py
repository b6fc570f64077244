"""Every number of the JSON digest against an independent computation over a generated day of
activity in four stores: formed, failed, cancelled and still-open 团, a 团 past its cutoff that
was never closed, early closes, caps with waiting lines, repeated asks by the same shopper, the
same shopper asking in two stores, wish-list terms, per-store stock rows and a store that does
not carry a SKU. Trends come from frozen history (yesterday, last week) and from live reads of
the days in between."""
from __future__ import annotations

import pytest

from handlers.digest.load import freeze_day, load_day
from handlers.digest.model import DayInputs
from handlers.digest.settings import settings
from tests.digest import scenario
from tests.digest.helpers import AUTH, digest_config, start

DAY = "2026-06-13"


@pytest.fixture
async def svc(aiohttp_client, redis, prefix, fake):
    return await start(aiohttp_client, redis, fake, digest_config(prefix, fake.base_url))


@pytest.fixture
async def played(svc):
    sc = scenario.Scenario(seed=11)
    st = settings(svc.config)
    for d in (scenario.day_shift(DAY, -7), scenario.day_shift(DAY, -1), DAY):
        sc.plan_day(d)  # each day is played and then frozen at its cutoff, in order, as in production
        if d == DAY:
            sc.add_open(DAY)
        await sc.play(svc.store)
        assert await freeze_day(svc.store, d, st, scenario.cutoff_ts(d) + 60)
    return sc


async def fetch(svc, **query) -> dict:
    resp = await svc.client.get("/api/digest", params={"date": DAY, **query}, headers=AUTH)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def check(d: dict, exp: dict) -> None:
    for k, v in exp["header"].items():
        assert d["header"][k] == v, k
    assert {r["key"] for r in d["skus"]} == set(exp["skus"])
    for r in d["skus"]:
        e = exp["skus"][r["key"]]
        for f in ("qty", "gap", "case", "suggested", "stock", "entries", "customers", "waiting", "unmet_askers",
                  "qty_yesterday", "qty_last_week", "avg_7d", "change_pct", "spike", "guides"):
            assert r[f] == e[f], (r["key"], f, r[f], e[f])
        assert {x["store"] for x in r["stores"]} == set(e["stores"]), r["key"]
        for x in r["stores"]:
            for f, v in e["stores"][x["store"]].items():
                assert x[f] == v, (r["key"], x["store"], f, x[f], v)
    assert {r["sku"]: r["askers"] for r in d["unmet"]} == {k: v["askers"] for k, v in exp["unmet"].items()}
    for r in d["unmet"]:
        e = exp["unmet"][r["sku"]]
        assert {x["store"]: x["askers"] for x in r["stores"]} == e["stores"]
        assert {x["store"]: x["stock"] for x in r["stores"]} == e["store_stock"]
        for f in ("stock", "suggested", "examples", "guides", "askers_yesterday", "askers_last_week", "askers_avg_7d"):
            assert r[f] == e[f], (r["sku"], f, r[f], e[f])
    assert {r["term"]: r["askers"] for r in d["wishes"]} == {k: v["askers"] for k, v in exp["wishes"].items()}
    for r in d["wishes"]:
        e = exp["wishes"][r["term"]]
        assert {x["store"]: x["askers"] for x in r["stores"]} == e["stores"]
        for f in ("examples", "guides", "askers_yesterday", "askers_last_week", "askers_avg_7d"):
            assert r[f] == e[f], (r["term"], f, r[f], e[f])
    for name in ("failed", "formed"):
        fields = next(iter(exp[name].values()), {})
        assert {r["id"]: {k: r[k] for k in fields} for r in d[name]} == exp[name], name
    got_guides = {g["guide"]: {k: g[k] for k in exp["guides"][g["guide"]]} for g in d["guides"]}
    assert got_guides == exp["guides"]


async def test_every_number_matches_an_independent_computation(svc, played):
    d = await fetch(svc)
    assert d["frozen"] and d["date"] == DAY and d["exceptions"] == []
    check(d, played.expected(DAY))
    # the scenario really exercises what it claims to
    assert d["header"]["tuan_formed"] and d["header"]["tuan_failed"] and d["unmet"] and d["wishes"]
    assert any(r["waiting"] for r in d["formed"] + d["failed"])
    assert any(r["stock"] is None for r in d["unmet"][0]["stores"] + [x for r in d["skus"] for x in r["stores"]])
    assert [t["id"] for t in d["open"]] == [g.gid for g in played.groups if g.fate == "open"]
    assert d["changes_since_freeze"] == []


async def test_store_scope_recomputes_from_that_store_only(svc, played):
    for sid in ("S02", "S03"):
        check(await fetch(svc, store=sid), played.expected(DAY, {sid}))


async def test_live_read_of_an_old_day_equals_its_frozen_snapshot(svc, played):
    """The freeze read the ledger through its recent indexes; a read a long time later goes through
    the creation-time index. Both must find the same 团 with the same numbers."""
    st = settings(svc.config)
    frozen = DayInputs.from_dict(await svc.store.digest.inputs(DAY))
    live = await load_day(svc.store, DAY, st, scenario.cutoff_ts(DAY) + 40 * 86400)
    assert sorted(frozen.tuans, key=lambda t: t.id) == sorted(live.tuans, key=lambda t: t.id)
    assert sorted(frozen.signals, key=lambda s: (s.kind, s.store, s.item)) == \
        sorted(live.signals, key=lambda s: (s.kind, s.store, s.item))


async def test_changes_after_the_freeze_go_to_exceptions_and_leave_the_frozen_numbers(svc, played):
    before = await fetch(svc)
    formed = next(g for g in played.of_day(DAY) if g.formed and g.store == "S01")
    await svc.store.groupbuys.cancel_group(formed.gid, "late-undo", scenario.cutoff_ts(DAY) + 600, by="g1")
    await svc.store.demand.record(DAY, "unmet", "S01", "G002", "wm_late", "花生油还没到吗", "g1")
    after = await fetch(svc)
    assert {k: after[k] for k in ("header", "skus", "unmet", "failed")} == \
        {k: before[k] for k in ("header", "skus", "unmet", "failed")}
    kinds = {(c["kind"], c.get("id") or c.get("item")) for c in after["changes_since_freeze"]}
    assert kinds == {("tuan_cancelled", formed.gid), ("unmet_added", "G002")}

    nxt = scenario.day_shift(DAY, 1)
    assert await freeze_day(svc.store, nxt, settings(svc.config), scenario.cutoff_ts(nxt) + 60)
    resp = await svc.client.get("/api/digest", params={"date": nxt}, headers=AUTH)
    exc = (await resp.json())["exceptions"]
    assert {(c["kind"], c["day"]) for c in exc} == {("tuan_cancelled", DAY), ("unmet_added", DAY)}
    assert next(c for c in exc if c["kind"] == "unmet_added")["askers"] == 1
