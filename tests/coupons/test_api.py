"""Admin API: campaigns by rule text or fields, listing, stop, POS redemption with distinct errors."""
from __future__ import annotations

import asyncio

from handlers.coupons import service
from handlers.coupons.codes import format_code, new_code
from handlers.coupons.shopper import contact_shopper

AUTH = {"Authorization": "Bearer test-admin-token"}


async def post(shop, path: str, body: dict):
    resp = await shop.client.post(path, json=body, headers=AUTH)
    return resp.status, await resp.json()


async def get(shop, path: str):
    resp = await shop.client.get(path, headers=AUTH)
    return resp.status, await resp.json()


async def issue(shop, cid: str, who: str) -> str:
    report = await service.claim(shop.store, shop.config, contact_shopper("S01", who), msg_id=f"api-{who}",
                                 now=shop.fake.now(), cids=[cid])
    return report.issued[0]["code"]


async def test_create_by_text_and_by_fields_then_list_and_stop(shop):
    status, body = await post(shop, "/api/coupons/campaigns",
                              {"text": "新人券 满50减10 100张 每人1张 有效3天", "store_id": "S01"})
    assert status == 201
    c = body["campaign"]
    assert (c["state"], c["name"], c["rule"], c["total"], c["left"]) == ("live", "新人券", "满50减10", 100, 100)
    status, body = await post(shop, "/api/coupons/campaigns",
                              {"kind": "percent", "percent": 90, "threshold_fen": 3000, "max_discount_fen": 2000,
                               "total": 50, "valid_days": 7, "stores": "all", "store_id": "S02", "draft": True})
    assert status == 201 and body["campaign"]["state"] == "draft" and body["campaign"]["rule"] == "满30享9折"
    pct = body["campaign"]["id"]
    status, body = await post(shop, f"/api/coupons/campaigns/{pct}/confirm", {})
    assert (status, body["status"], body["campaign"]["state"]) == (200, "live", "live")
    status, body = await get(shop, "/api/coupons/campaigns?store_id=S01")
    assert [x["name"] for x in body["campaigns"]] == ["新人券", "满30享9折"]  # the all-store one shows too
    status, body = await get(shop, "/api/coupons/campaigns")
    assert len(body["campaigns"]) == 2
    status, body = await post(shop, f"/api/coupons/campaigns/{pct}/stop", {})
    assert (status, body["status"], body["campaign"]["state"]) == (200, "live", "stopped")
    assert (await post(shop, "/api/coupons/campaigns/C404/stop", {}))[0] == 404


async def test_create_errors_name_the_problems(shop):
    status, body = await post(shop, "/api/coupons/campaigns", {"text": "满50减10 有效3天 什么", "store_id": "S01"})
    assert status == 400 and body["error"] == "invalid_campaign"
    assert set(body["problems"]) == {"missing_total", "unknown_token:什么"}
    status, body = await post(shop, "/api/coupons/campaigns", {"kind": "threshold", "amount_fen": 1000, "total": 5,
                                                               "valid_days": 3, "store_id": "S01"})
    assert status == 400 and "bad_field:threshold_fen" in body["problems"]
    assert (await post(shop, "/api/coupons/campaigns", {"text": "无门槛5元 5张 有效3天"}))[1]["error"] \
        == "store_id_required"  # two stores configured
    assert (await post(shop, "/api/coupons/campaigns", {"text": "无门槛5元 5张 有效3天", "store_id": "S9"}))[1]["error"] \
        == "unknown_store"
    resp = await shop.client.post("/api/coupons/campaigns", json={"text": "无门槛5元 5张 有效3天"})
    assert resp.status == 401


async def test_pos_redeem_distinct_errors(shop):
    _, body = await post(shop, "/api/coupons/campaigns", {"text": "满50减10 100张 有效3天", "store_id": "S01"})
    cid = body["campaign"]["id"]
    code = await issue(shop, cid, "wmA")
    ok = await post(shop, "/api/coupons/redeem", {"code": format_code(code), "store_id": "S01", "order_no": "A1"})
    assert ok[0] == 200 and ok[1]["ok"] and not ok[1]["repeat"] and ok[1]["campaign"]["amount_fen"] == 1000
    again = await post(shop, "/api/coupons/redeem", {"code": code.lower(), "store_id": "S01", "order_no": "A1"})
    assert again[0] == 200 and again[1]["repeat"] and again[1]["redeemed_at"] == ok[1]["redeemed_at"]
    other = await post(shop, "/api/coupons/redeem", {"code": code, "store_id": "S01", "order_no": "B2"})
    assert other[0] == 409 and other[1]["error"] == "already_redeemed" and other[1]["order_no"] == "A1"

    code2 = await issue(shop, cid, "wmB")
    wrong = await post(shop, "/api/coupons/redeem", {"code": code2, "store_id": "S02", "order_no": "C1"})
    assert (wrong[0], wrong[1]["error"]) == (409, "wrong_store")
    typo = code2[:-1] + next(ch for ch in "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" if ch != code2[-1])
    assert (await post(shop, "/api/coupons/redeem", {"code": typo, "store_id": "S01", "order_no": "C1"}))[1]["error"] \
        == "bad_check"
    bad = await post(shop, "/api/coupons/redeem", {"code": "I" + code2[1:], "store_id": "S01", "order_no": "C1"})
    assert (bad[0], bad[1]["error"], bad[1]["bad_chars"]) == (400, "malformed", "I")
    unknown = await post(shop, "/api/coupons/redeem", {"code": new_code(), "store_id": "S01", "order_no": "C1"})
    assert (unknown[0], unknown[1]["error"]) == (404, "unknown")
    assert (await post(shop, "/api/coupons/redeem", {"code": code2, "store_id": "S01"}))[1]["error"] \
        == "order_no_required"
    await shop.redis.hset(shop.store.keys.coupon_code(cid, code2), "expires_at", int(shop.fake.now()) - 1)
    exp = await post(shop, "/api/coupons/redeem", {"code": code2, "store_id": "S01", "order_no": "C1"})
    assert (exp[0], exp[1]["error"], exp[1]["expires_at"]) == (409, "expired", int(shop.fake.now()) - 1)
    code3 = await issue(shop, cid, "wmC")
    await post(shop, f"/api/coupons/campaigns/{cid}/stop", {})
    stopped = await post(shop, "/api/coupons/redeem", {"code": code3, "store_id": "S01", "order_no": "D1"})
    assert (stopped[0], stopped[1]["error"]) == (409, "stopped")

    status, info = await get(shop, f"/api/coupons/codes/{format_code(code)}")
    assert status == 200 and info["record"]["state"] == "redeemed" and info["record"]["order_no"] == "A1"
    assert info["record"]["holder"] == "wmA" and info["campaign"]["redeemed"] == 1
    assert (await get(shop, f"/api/coupons/codes/{typo}"))[1]["error"] == "bad_check"
    status, log = await get(shop, f"/api/coupons/campaigns/{cid}/log")
    events = [(e["ev"], e.get("code", ""), e["who"]) for e in log["events"]]
    assert events[0] == ("live", "", "api") and events[-1] == ("stop", "", "api")
    assert ("issue", code, "wmA") in events and ("redeem", code, "pos:S01") in events
    assert all(e["at"].isdigit() for e in log["events"])
    assert (await get(shop, "/api/coupons/campaigns/C404/log"))[0] == 404
    assert (await get(shop, f"/api/coupons/codes/{new_code()}"))[0] == 404


async def test_two_tills_redeem_at_once_over_http(shop):
    _, body = await post(shop, "/api/coupons/campaigns", {"text": "无门槛5元 10张 有效3天", "store_id": "S01"})
    code = await issue(shop, body["campaign"]["id"], "wmA")
    results = await asyncio.gather(*(post(shop, "/api/coupons/redeem",
                                          {"code": code, "store_id": "S01", "order_no": f"till-{i}"})
                                     for i in range(6)))
    winners = [b for s, b in results if s == 200]
    assert len(winners) == 1
    losers = [b for s, b in results if s != 200]
    assert {b["error"] for b in losers} == {"already_redeemed"}
    assert {b["order_no"] for b in losers} == {winners[0]["order_no"]}


async def test_welcome_coupon_over_the_api(shop):
    assert await get(shop, "/api/coupons/welcome?store_id=S01") == (200, {"store_id": "S01", "campaign": None})
    _, body = await post(shop, "/api/coupons/campaigns", {"text": "见面礼 无门槛5元 50张 有效7天", "store_id": "S01"})
    cid = body["campaign"]["id"]
    status, body = await post(shop, "/api/coupons/welcome", {"store_id": "S01", "campaign": cid.lower()})
    assert (status, body["status"], body["campaign"]["id"]) == (200, "set", cid)
    assert (await get(shop, "/api/coupons/welcome?store_id=S01"))[1]["campaign"]["id"] == cid
    assert await service.welcome_code_for(shop.store, shop.config, "S01", "wmNew", msg_id="contact:x") is not None
    status, body = await post(shop, "/api/coupons/welcome", {"store_id": "S02", "campaign": cid})
    assert (status, body["error"]) == (409, "not_this_store")
    assert (await post(shop, "/api/coupons/welcome", {"store_id": "S01", "campaign": "C404"}))[0] == 404
    _, body = await post(shop, "/api/coupons/campaigns", {"text": "草稿礼 无门槛3元 5张 有效7天", "store_id": "S01",
                                                          "draft": True})
    draft = body["campaign"]["id"]
    assert (await post(shop, "/api/coupons/welcome", {"store_id": "S01", "campaign": draft}))[1]["status"] == "pending"
    await post(shop, f"/api/coupons/campaigns/{draft}/confirm", {})
    assert (await get(shop, "/api/coupons/welcome?store_id=S01"))[1]["campaign"]["id"] == draft
    await post(shop, f"/api/coupons/campaigns/{cid}/stop", {})
    status, body = await post(shop, "/api/coupons/welcome", {"store_id": "S01", "campaign": cid})
    assert (status, body["error"]) == (409, "stopped")
    status, body = await post(shop, "/api/coupons/welcome", {"store_id": "S01", "campaign": None})
    assert (status, body["status"]) == (200, "cleared")
    assert (await get(shop, "/api/coupons/welcome?store_id=S01"))[1]["campaign"] is None
