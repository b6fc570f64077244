"""`qunbot digest`: markdown, JSON and XLSX output; --dry-run freezes and sends nothing; a real
run freezes a closed day and queues its due deliveries once."""
from __future__ import annotations

import io
import json
import time

from openpyxl import load_workbook

import handlers  # noqa: F401  (the store <-> handlers import cycle)
from handlers.digest.cli import digest
from handlers.digest.day import last_closed_day
from handlers.digest.settings import settings
from store import Store
from tests.digest import scenario
from tests.digest.helpers import digest_config
from tests.digest.test_delivery import clock_spec


async def setup_day(redis, redis_url, prefix, **digest):
    now = time.time()
    cut, _ = clock_spec(now - 3600)
    _, send = clock_spec(now - 1800)
    cfg = digest_config(prefix, "http://127.0.0.1:9", cutoff=cut, send=send, **digest)
    from dataclasses import replace
    cfg = replace(cfg, redis=replace(cfg.redis, url=redis_url, prefix=prefix))
    store = Store(redis, prefix=prefix, partitions=cfg.worker.partitions)
    st = settings(cfg)
    day = last_closed_day(now, st.cutoff, st.tz)
    sc = scenario.Scenario(seed=9)
    sc.plan_day(day)
    for g in sc.groups:
        g.cutoff = min(g.cutoff, now - 3700)
        g.day = day
    await sc.play(store)
    await store.r.hset(store.keys.digest_seen(), mapping={"buyer1": now - 86400, "buyer2": now - 86400})
    return cfg, store, day


async def outbox_entries(store) -> int:
    return sum([await store.r.xlen(store.keys.stream("outbox", p)) for p in range(store.outbox.n)])


async def test_dry_run_prints_and_changes_nothing(redis, redis_url, prefix):
    cfg, store, day = await setup_day(redis, redis_url, prefix)
    out = io.StringIO()
    assert await digest(cfg, date=day, dry_run=True, fmt="md", out=None, stdout=out) == 0
    text = out.getvalue()
    assert text.startswith(f"## 采购需求日报 {day[5:]}") and "实时数据" in text
    assert "其余" not in text  # the CLI prints every item
    assert await store.digest.frozen([day]) == set() and await store.digest.sent_log(day) == {}
    assert await outbox_entries(store) == 0

    out = io.StringIO()
    assert await digest(cfg, date=day, dry_run=True, fmt="json", out=None, stdout=out) == 0
    d = json.loads(out.getvalue())
    assert d["date"] == day and not d["frozen"] and d["header"]["tuan_formed"] + d["header"]["tuan_failed"] > 0


async def test_run_freezes_queues_once_and_writes_xlsx(redis, redis_url, prefix, tmp_path):
    cfg, store, day = await setup_day(redis, redis_url, prefix)
    path = tmp_path / "d.xlsx"
    counts = []
    for _ in range(2):
        assert await digest(cfg, date=day, dry_run=False, fmt="xlsx", out=str(path), stdout=io.StringIO()) == 0
        counts.append(await outbox_entries(store))
    assert await store.digest.frozen([day]) == {day}
    assert set(await store.digest.sent_log(day)) == {"buyer1", "buyer2"}
    assert counts[0] >= 4 and counts[1] == counts[0]  # two buyers, several parts each; the second run adds none
    wb = load_workbook(path)
    assert wb.sheetnames == ["需求明细", "SKU汇总", "缺货未满足", "心愿单", "未成团", "成团明细", "导购", "异常"]
    assert wb["需求明细"].max_row > 1 and wb["未成团"].max_row > 1


async def test_bad_date_is_refused(redis, redis_url, prefix):
    cfg, _, _ = await setup_day(redis, redis_url, prefix)
    assert await digest(cfg, date="13/06/2026", dry_run=True, fmt="md", out=None, stdout=io.StringIO()) == 2


async def test_run_queues_unaccepted_purchasing_requests_again(redis, redis_url, prefix):
    cfg, store, day = await setup_day(redis, redis_url, prefix, purchasing_url="http://127.0.0.1:9/po",
                                      purchasing_secret="x")
    await store.r.hset(store.keys.digest_seen(), "@purchasing", time.time() - 86400)
    counts = []
    for _ in range(2):
        assert await digest(cfg, date=day, dry_run=True, fmt="json", out=None, stdout=io.StringIO()) == 0
        assert await digest(cfg, date=day, dry_run=False, fmt="json", out=None, stdout=io.StringIO()) == 0
        counts.append(await outbox_entries(store))
    assert await store.digest.request_scopes(day) == ["all"]
    assert counts[1] == counts[0] + 1  # the request again (never accepted); the buyers' digests not
    await store.digest.settle(day, "all", time.time(), 201)
    assert await digest(cfg, date=day, dry_run=False, fmt="json", out=None, stdout=io.StringIO()) == 0
    assert await outbox_entries(store) == counts[1]
