"""Short faults against real processes: a cold start, WeCom failing (-1, HTTP 5xx,
answering after the client timeout) and workers killed with -9, each mid-load on one shared
cluster (tests/faults/conftest.py); every acked question must be answered exactly once.
The long versions (WeCom down 5 min, 5 restarts, the soak) are in bench/faults.py.
"""
from __future__ import annotations

import asyncio

import pytest

from tests.faults.helpers import finish, load

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_fresh_workers_answer_every_question(cluster):
    """The first questions race the cold Q&A cache in both workers: none may be dropped."""
    lo = load(cluster, "Cold", rate=40)
    await lo.run(20)
    report, why = await finish(cluster, lo, "fresh start")
    assert (report.acked, report.lost, report.duplicates) == (20, 0, 0), why


async def test_wecom_busy_then_back(cluster):
    lo = load(cluster, "Busy")
    cluster.faults.set("busy", paths=["kf/send_msg", "message/send"], for_seconds=4)
    await lo.run(30)
    report, why = await finish(cluster, lo, "WeCom -1 for 4 s")
    assert cluster.faults.current.hits > 0
    assert report.lost == 0 and report.duplicates == 0, why


async def test_wecom_http_errors_then_back(cluster):
    lo = load(cluster, "H503")
    cluster.faults.set("http5xx", status=502, for_seconds=4)  # every path, gettoken and sync_msg too
    await lo.run(30)
    report, why = await finish(cluster, lo, "WeCom 502 for 4 s")
    assert cluster.faults.current.hits > 0
    assert report.lost == 0 and report.duplicates == 0, why


async def test_wecom_slower_than_the_client_timeout_sends_nothing_twice(cluster):
    """WeCom delivers a send it answers too late; the retry must not reach the shopper again."""
    lo = load(cluster, "Slow")
    lo.app_share = 0  # app messages carry WeCom's own duplicate check; kf is where it matters
    cluster.faults.set("hang", paths=["kf/send_msg"], seconds=2.5, for_seconds=4)  # client timeout 2 s
    await lo.run(20)
    report, why = await finish(cluster, lo, "kf sends 0.5 s past the timeout")
    assert cluster.faults.current.hits > 0
    assert report.lost == 0 and report.duplicates == 0, why


async def test_worker_killed_twice_under_load(cluster):
    lo = load(cluster, "Kill")
    run = asyncio.create_task(lo.run(60))
    for _ in range(2):
        await asyncio.sleep(1.0)
        await cluster.kill_worker()
    await run
    report, why = await finish(cluster, lo, "2 × kill -9")
    assert report.acked == 60 and report.lost == 0 and report.duplicates == 0, why
