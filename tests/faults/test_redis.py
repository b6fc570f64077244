"""Redis failing under real processes: stopped and started again with its data, then
restarted empty (no persistence); every acked question must be answered exactly once. The long
version (down 10 s at 20 msg/s) is in bench/faults.py.
"""
from __future__ import annotations

import asyncio

import pytest

from tests.faults.helpers import finish, load

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_redis_down_and_back_with_its_data(cluster):
    lo = load(cluster, "RDown")
    run = asyncio.create_task(lo.run(40))
    await asyncio.sleep(0.5)
    await cluster.stop_redis()
    await asyncio.sleep(3)
    await cluster.start_redis()
    await run
    report, why = await finish(cluster, lo, "redis down 3 s")
    assert report.acked == 40 and report.lost == 0 and report.duplicates == 0, why


async def test_redis_restarted_empty(cluster):
    """Last: everything the earlier tests left in Redis is gone, as after a restart without
    persistence (consumer groups, leases, kf cursors, dedupe marks; the catalog is imported again).
    App callbacks acked before the restart and not yet handled went with the data; every callback
    acked after it, and every kf question (they wait at WeCom), must be answered once."""
    lo = load(cluster, "REmpty")
    run = asyncio.create_task(lo.run(60))
    await asyncio.sleep(0.5)
    await cluster.stop_redis()
    await cluster.start_redis(empty=True)
    await run
    report, why = await finish(cluster, lo, "redis restarted empty")
    assert report.acked >= 45 and report.lost == 0 and report.duplicates == 0, why
