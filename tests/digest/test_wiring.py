"""The digest through the real wiring: `handlers.ROUTERS` (the `service` fixture's dispatcher, not
overridden here), `handlers.setup` run by the app, and the digest_tick job from `handlers.JOBS`.

Also the contract with the Q&A handler: demand signals recorded exactly the way it records them
(`store.demand.record(handlers.digest.demand_day(config, now), kind, store_id, sku_or_term,
shopper, example, guide)`) reach the digest under the right day, store, item and guide."""
from __future__ import annotations

import time

import pytest
from aiohttp import web

import handlers
from bot.message import Message
from bot.scheduler import Scheduler
from handlers.digest import UNKNOWN_STORE, demand_day, deliver
from handlers.digest.day import business_day, last_closed_day
from handlers.digest.settings import settings
from tests.digest import scenario
from tests.digest.helpers import AUTH, digest_config
from tests.digest.test_delivery import busy_day, clock_spec, configured_since, digests, recipients, settle

SECRET = "wiring-secret"


class PurchasingSystem:
    def __init__(self) -> None:
        self.keys: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.keys.append(request.headers["Idempotency-Key"])
        return web.json_response({"ok": True}, status=201)


@pytest.fixture
async def po(aiohttp_server):
    system = PurchasingSystem()
    app = web.Application()
    app.router.add_post("/po", system.handle)
    server = await aiohttp_server(app)
    return system, str(server.make_url("/po"))


@pytest.fixture
def service_config(prefix, fake, po):
    """Four stores, cutoff an hour ago, the send time half an hour ago, a purchasing URL."""
    now = time.time()
    cut, _ = clock_spec(now - 3600)
    _, send = clock_spec(now - 1800)
    return digest_config(prefix, fake.base_url, cutoff=cut, send=send, recipients=recipients(), top=4,
                         purchasing_url=po[1], purchasing_secret=SECRET)


@pytest.fixture
async def day(service):
    assert service.worker.dispatcher.routers == handlers.ROUTERS
    return await busy_day(service, time.time())


def kf_message(user: str, text: str) -> Message:
    return Message(id=f"kfw-{user}-{time.time_ns()}", channel="kf", conversation=f"kf:wkS01:{user}", sender=user,
                   sender_kind="customer", text=text, time=int(time.time()))


async def test_guide_and_buyer_get_digests_in_chat(service, day):
    guide = await service.ask("/日报", user="g2")
    assert guide and guide[0].startswith(f"## 采购需求日报 {day[5:]}") and "范围：五一广场店" in guide[0]
    assert not any(n in t for t in guide for n in ("梅溪湖店", "河西店", "星沙店"))
    assert all(len(t.encode()) <= 2048 for t in guide)

    now_texts = await service.ask("/需求", user="g3")
    assert now_texts and "实时数据" in now_texts[0] and "范围：河西店" in now_texts[0]

    buyer = await service.ask("/日报", user="buyer1")
    assert buyer[0].startswith(f"## 采购需求日报 {day[5:]}") and "范围" not in buyer[0]
    assert "附件：采购需求日报-" in buyer[-1]
    files = [c for c in service.fake.sent("message/send", ok=True) if (c.body or {}).get("msgtype") == "file"]
    assert [c.body["touser"] for c in files] == ["buyer1"]  # the guide got no file
    assert (await service.ask("/需求", user="buyer2"))[0].startswith("## 采购需求日报")


async def test_shoppers_are_refused(service, day):
    assert "是门店员工使用的指令" in (await service.ask("/需求", user="wm_not_staff"))[0]
    before = len(service.sent_texts("wmK", path="kf/send_msg"))
    service.fake.kf_push("wkS01", "wmK", "/日报")
    msg = kf_message("wmK", "/日报")
    await service.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    await service.drain()
    out = service.sent_texts("wmK", path="kf/send_msg")[before:]
    assert out and "是门店员工使用的指令" in out[0]
    assert not any("采购需求日报" in t for t in out)


async def test_digest_tick_from_the_real_jobs_delivers_once(service, day, po):
    system, _ = po
    assert "digest_tick" in {j.name for j in handlers.JOBS}
    await configured_since(service, time.time() - 1800 - 120)
    # The service was last up 40 minutes ago (after the cutoff, before the send time).
    await service.store.r.set(service.store.keys.job_last("digest_tick"), int(time.time() - 2400))
    for _ in range(2):  # two replicas start
        await Scheduler(service.config, service.store, handlers.JOBS).catch_up()
        await settle(service)
    for to, limit, files in (("buyer1", 2048, 1), ("buyer2", 2048, 0), ("robot-buyers-S01", 4096, 1)):
        texts, got = digests(service, to)
        heads = [t for t in texts if t.startswith("## 采购需求日报")]
        assert len(heads) == 1 and "补发" in heads[0] and got == files, to
        assert all(len(t.encode()) <= limit for t in texts)
    # the purchasing channel was registered by handlers.setup in the app, not by the test
    assert system.keys == [f"{day}:all"]
    assert set(await service.store.digest.sent_log(day)) == {r["name"] for r in recipients()} | {deliver.PURCHASING}


async def test_demand_recorded_as_the_qa_handler_does_reaches_the_digest(service):
    """What the Q&A side passes: the business day from demand_day, "unmet" with the catalog SKU or
    "wish" with the term, the configured store id, the shopper's external_userid, their words and
    the guide whose group they came from. A repeat by the same shopper counts once; an ask after
    the cutoff counts toward the next business day."""
    cfg, store = service.config, service.store
    st = settings(cfg)
    await store.catalog.replace(scenario.catalog())
    now = time.time()
    today = business_day(now, st.cutoff, st.tz)
    closed = last_closed_day(now, st.cutoff, st.tz)
    rec = store.demand.record
    await rec(demand_day(cfg, now), "unmet", "S01", "F005", "wmA", "阳光玫瑰有货吗", "g1")
    await rec(demand_day(cfg, now), "unmet", "S01", "F005", "wmA", "阳光玫瑰到了吗", "g1")  # again: once
    await rec(demand_day(cfg, now), "unmet", "S02", "F005", "wmB", "葡萄什么时候到", "")  # no known guide
    await rec(demand_day(cfg, now), "wish", "S01", "榴莲", "wmA", "能不能进点榴莲", "g1")
    await rec(demand_day(cfg, now), "wish", "S03", "榴莲", "wmC", "榴莲有吗", "g3")
    # a shopper whose store nothing tells: counted chain-wide, no stock, in no store's scope
    await rec(demand_day(cfg, now), "unmet", UNKNOWN_STORE, "F001", "wmE", "草莓还有吗", "")
    # asked a minute before the cutoff an hour ago: that (closed) day
    await rec(demand_day(cfg, now - 3660), "wish", "S01", "椰青", "wmD", "有椰青吗", "g1")
    assert demand_day(cfg, now) == today and demand_day(cfg, now - 3660) == closed

    resp = await service.client.get("/api/digest", params={"date": today}, headers=AUTH)
    d = await resp.json()
    unmet = {r["sku"]: r for r in d["unmet"]}
    assert [x["store"] for x in unmet.pop("F001")["stores"]] == [UNKNOWN_STORE]
    f001 = next(r for r in d["skus"] if r["key"] == "F001")["stores"]
    assert [(x["store"], x["store_name"], x["stock"], x["gap"]) for x in f001] == [(UNKNOWN_STORE, "", None, 1)]
    assert d["header"]["stores"] == 3 and d["header"]["unmet_askers"] == 3
    assert list(unmet) == ["F005"] and unmet["F005"]["askers"] == 2 and unmet["F005"]["name"] == "阳光玫瑰葡萄"
    assert {x["store"]: x["askers"] for x in unmet["F005"]["stores"]} == {"S01": 1, "S02": 1}
    assert unmet["F005"]["guides"] == {"g1": 1}
    assert unmet["F005"]["examples"] == ["阳光玫瑰有货吗", "葡萄什么时候到"]
    wish = {r["term"]: r for r in d["wishes"]}
    assert list(wish) == ["榴莲"] and wish["榴莲"]["askers"] == 2 and wish["榴莲"]["guides"] == {"g1": 1, "g3": 1}
    sku = next(r for r in d["skus"] if r["key"] == "F005")
    assert sku["unmet_askers"] == 2 and sku["gap"] == 2  # out of stock in both stores: one unit per shopper
    guides = {g["guide"]: g for g in d["guides"]}
    assert guides["g1"]["unmet_askers"] == 1 and guides["g1"]["wish_askers"] == 1

    guide_view = "\n".join(await service.ask("/需求", user="g1"))
    assert "草莓" not in guide_view and "阳光玫瑰" in guide_view

    resp = await service.client.get("/api/digest", params={"date": closed}, headers=AUTH)
    assert [r["term"] for r in (await resp.json())["wishes"]] == ["椰青"]


async def test_shoppers_asking_the_qa_handler_reach_the_digest(service):
    """End to end: shoppers ask in 微信客服, the Q&A handler answers and records demand, a buyer's
    /需求 and the API show it (the real router list records and reads the signals)."""
    await service.store.catalog.replace(scenario.catalog())
    service.fake.add_group("wrS010", "g1", ["wmQ1", "wmQ2"], name="梅溪湖1群")
    for user, text in (("wmQ1", "阳光玫瑰有货吗"), ("wmQ1", "阳光玫瑰葡萄到了没"), ("wmQ2", "阳光玫瑰还有吗"),
                       ("wmQ2", "有没有榴莲")):
        service.fake.kf_push("wkS01", user, text)
        msg = kf_message(user, text)
        await service.store.inbox.put(msg.conversation, msg.id, msg.to_json())
        await service.drain()
    st = settings(service.config)
    today = business_day(time.time(), st.cutoff, st.tz)
    d = await (await service.client.get("/api/digest", params={"date": today}, headers=AUTH)).json()
    unmet = {r["sku"]: r for r in d["unmet"]}
    assert unmet["F005"]["askers"] == 2 and [x["store"] for x in unmet["F005"]["stores"]] == ["S01"]
    assert unmet["F005"]["examples"] == ["阳光玫瑰有货吗", "阳光玫瑰还有吗"]
    assert unmet["F005"]["guides"] == {"g1": 2}  # the owner of the group they are in
    wish = {r["term"]: r for r in d["wishes"]}
    assert wish["榴莲"]["askers"] == 1 and wish["榴莲"]["guides"] == {"g1": 1}
    text = "\n".join(await service.ask("/需求", user="buyer1"))
    assert "阳光玫瑰葡萄 500g：<font color=\"warning\">2人问</font>" in text and "榴莲" in text


async def test_the_job_runs_with_no_buyer_configured(service):
    """A chain that has not named its buyers yet: the job freezes days and sends nothing, every
    minute, without failing (it once raised on an empty HMGET and was dead-lettered each time)."""
    import dataclasses
    from bot.config import Roles
    cfg = dataclasses.replace(service.config, roles=Roles(guides=("xiaowang",)), extra={})
    done = await deliver.tick(service.store, service.worker.emit, cfg, settings(cfg), time.time())
    assert done["sent"] == [] and done["requeued"] == []


async def test_a_past_day_read_later_does_not_list_a_tuan_opened_since(service):
    """/日报 昨天 on a day nobody froze is built from the ledger as it is now; a 团 opened today
    is not yesterday's 接龙中."""
    from handlers.digest.load import load_day
    st = settings(service.config)
    now = time.time()
    today = business_day(now, st.cutoff, st.tz)
    yesterday = last_closed_day(now, st.cutoff, st.tz)
    gid = await service.store.groupbuys.allocate("m-open")
    await service.store.groupbuys.create(gid, {"product": "丹东99草莓", "unit": "盒", "price_fen": 3690,
                                               "cutoff": now + 2 * 86400, "pickup": "服务台", "store_id": "S01",
                                               "guide": "xiaowang", "sku": "F001"}, now)
    assert [t.id for t in (await load_day(service.store, today, st, now, with_open=True)).open] == [gid]
    assert (await load_day(service.store, yesterday, st, now, with_open=True)).open == []
