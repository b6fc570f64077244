"""GET /api/groupbuys and /api/groupbuys/{id}: the 团 and every line, behind the admin token."""
from __future__ import annotations

from tests.groupbuy.helpers import open_group, shop, use_groupbuy

AUTH = {"Authorization": "Bearer test-admin-token"}


async def test_list_and_detail(service):
    use_groupbuy(service)
    gid = await open_group(service)
    await shop(service, "wmA", "+2 3栋502")
    await shop(service, "wmA", "帮我妈也报一份")
    other = await open_group(service, "/开团 手工水饺 30元/份 限3份 截止明天20:00 自提周六服务台")
    await service.ask(f"/撤团 {other}")
    await service.ask("确认")

    resp = await service.client.get("/api/groupbuys", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert [g["id"] for g in body["groupbuys"]] == [other, gid]
    resp = await service.client.get("/api/groupbuys?status=open&store=S01", headers=AUTH)
    assert [g["id"] for g in (await resp.json())["groupbuys"]] == [gid]

    resp = await service.client.get(f"/api/groupbuys/{gid}", headers=AUTH)
    d = await resp.json()
    assert d["groupbuy"]["product"] == "丹东99草莓" and d["groupbuy"]["total"] == 3 and d["groupbuy"]["cap"] == 200
    assert [(x["no"], x["owner"], x["on_behalf_of"], x["qty"], x["tag"], x["status"]) for x in d["lines"]] == [
        (1, "wmA", "", 2, "3栋502", "active"), (2, "wmA", "我妈", 1, "3栋502", "active")]
    assert d["waiting"] == []


async def test_errors_and_auth(service):
    assert (await service.client.get("/api/groupbuys")).status == 401
    assert (await service.client.get("/api/groupbuys/7", headers=AUTH)).status == 404
    assert (await service.client.get("/api/groupbuys/x", headers=AUTH)).status == 400
    assert (await service.client.get("/api/groupbuys?limit=z", headers=AUTH)).status == 400
