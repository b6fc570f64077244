"""/需求 and /日报 in chat: who sees which stores, dates, the byte limit, the XLSX for buyers."""
from __future__ import annotations

import re
import time

import pytest

from handlers.digest.day import business_day, last_closed_day
from handlers.digest.settings import settings
from tests.digest import scenario
from tests.digest.helpers import AUTH, digest_config, start
from tests.digest.test_delivery import busy_day, clock_spec


@pytest.fixture
async def svc(aiohttp_client, redis, prefix, fake):
    cut, _ = clock_spec(time.time() - 3600)
    cfg = digest_config(prefix, fake.base_url, cutoff=cut, top=4)
    h = await start(aiohttp_client, redis, fake, cfg)
    now = time.time()
    await busy_day(h, now)  # the day that closed an hour ago
    st = settings(cfg)
    today = business_day(now, st.cutoff, st.tz)
    sc = scenario.Scenario(seed=5)
    sc.plan_day(today)
    for g in sc.groups:  # today so far: every 团 ended a minute ago
        g.cutoff = now - 60
    await sc.play(h.store, catalog_too=False)
    return h


async def api(svc, **q) -> dict:
    resp = await svc.client.get("/api/digest", params=q, headers=AUTH)
    assert resp.status == 200
    return await resp.json()


def header_numbers(text: str) -> tuple[int, int]:
    m = re.search(r"成团 <font color=\"info\">(\d+)</font> 个 · 接龙 (\d+) 单", text)
    return int(m.group(1)), int(m.group(2))


async def test_guide_sees_only_their_store_today_so_far(svc):
    st = settings(svc.config)
    today = business_day(time.time(), st.cutoff, st.tz)
    texts = await svc.ask("/需求", user="g2")
    assert texts and all(len(t.encode()) <= 2048 for t in texts)
    assert "范围：五一广场店" in texts[0] and "实时数据" in texts[0]
    assert not any(name in t for t in texts for name in ("梅溪湖店", "河西店", "星沙店"))
    d = await api(svc, date=today, store="S02")
    assert header_numbers(texts[0]) == (d["header"]["tuan_formed"], d["header"]["orders"])
    assert d["header"]["tuan_formed"] + d["header"]["tuan_failed"] > 0


async def test_buyer_gets_the_latest_closed_day_with_the_table(svc):
    st = settings(svc.config)
    day = last_closed_day(time.time(), st.cutoff, st.tz)
    texts = await svc.ask("/日报", user="buyer1")
    assert texts[0].startswith(f"## 采购需求日报 {day[5:]}") and len(texts) >= 2
    assert all(len(t.encode()) <= 2048 for t in texts)
    assert "附件：采购需求日报-" in texts[-1]
    files = [c for c in svc.fake.sent("message/send", ok=True) if (c.body or {}).get("msgtype") == "file"]
    assert len(files) == 1 and files[0].body["touser"] == "buyer1"
    d = await api(svc, date=day)
    assert header_numbers(texts[0]) == (d["header"]["tuan_formed"], d["header"]["orders"])


async def test_dates_and_stores_in_arguments(svc):
    st = settings(svc.config)
    day = last_closed_day(time.time(), st.cutoff, st.tz)
    texts = await svc.ask(f"/日报 {day[5:]} 河西店", user="buyer1")
    assert texts[0].startswith(f"## 采购需求日报 {day[5:]}") and "范围：河西店" in texts[0]
    assert "用法" in (await svc.ask("/日报 13-45", user="buyer1"))[0]
    assert "不是您负责的门店" in (await svc.ask("/需求 梅溪湖店", user="g2"))[0]
    from datetime import datetime
    word = "今天" if day == datetime.now(st.tz).date().isoformat() else "昨天"  # the calendar day that closed
    texts = await svc.ask(f"/日报 {word}", user="g3")
    assert texts[0].startswith(f"## 采购需求日报 {day[5:]}") and "暂无成团" not in texts[0]


async def test_shoppers_may_not_and_unbound_guides_are_told(aiohttp_client, redis, prefix, fake):
    cfg = digest_config(prefix, fake.base_url)
    from dataclasses import replace
    cfg = replace(cfg, roles=replace(cfg.roles, guides=("lonely",)))
    h = await start(aiohttp_client, redis, fake, cfg)
    assert "是门店员工使用的指令" in (await h.ask("/需求", user="wm_shopper"))[0]
    assert "还没有绑定门店" in (await h.ask("/日报", user="lonely"))[0]


async def test_relative_dates_read_on_the_calendar_and_future_days_are_refused(aiohttp_client, redis, prefix, fake):
    from datetime import datetime

    from bot.message import Message
    from bot.render import renderer
    render = renderer()
    from handlers.digest.chat import daily
    h = await start(aiohttp_client, redis, fake, digest_config(prefix, fake.base_url))
    msg = Message(id="m1", channel="app", conversation="buyer1", sender="buyer1")
    at_22 = datetime(2026, 6, 13, 22, 0, tzinfo=scenario.TZ).timestamp()  # after the 21:00 cutoff

    async def first(args: str, now: float) -> str:
        out = await daily(args, msg, h.store, h.config, "buyer", now)
        return render(out[0] if isinstance(out, list) else out)

    assert (await first("今天", at_22)).startswith("## 采购需求日报 06-13")
    assert (await first("昨天", at_22)).startswith("## 采购需求日报 06-12")
    assert (await first("", at_22)).startswith("## 采购需求日报 06-13")
    assert (await first("06-14", at_22)).startswith("## 采购需求日报 06-14")  # the business day now running
    assert "用法" in await first("2026-06-15", at_22)


async def test_api_normalises_the_date_and_checks_the_format(svc):
    st = settings(svc.config)
    day = last_closed_day(time.time(), st.cutoff, st.tz)
    assert (await api(svc, date=day.replace("-", "")))["date"] == day
    for bad in ({"date": "13/06/2026"}, {"date": day, "format": "csv"}):
        resp = await svc.client.get("/api/digest", params=bad, headers=AUTH)
        assert resp.status == 400
    assert (await svc.client.get("/api/digest", params={"date": day})).status == 401
    resp = await svc.client.get("/api/digest", params={"date": day, "format": "xlsx"}, headers=AUTH)
    assert resp.status == 200 and (await resp.read())[:2] == b"PK"


async def test_an_at_bot_question_gets_one_message_within_the_response_url_limit(svc):
    from bot.message import Message
    from bot.render import renderer
    render = renderer()
    from handlers.digest.chat import daily
    msg = Message(id="ab1", channel="aibot", conversation="wrInternal", sender="buyer1", chat_type="group",
                  raw={"response_url": "http://x/resp"})
    out = await daily("", msg, svc.store, svc.config, "buyer", time.time())
    assert len(out) == 1 and out[0].attachment is None
    text = render(out[0])
    assert text.startswith("## 采购需求日报") and len(text.encode()) <= 20480
    assert "二、缺货未满足" in text and "四、未成团" in text  # the sections a 2048-byte part would split off
