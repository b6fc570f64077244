"""A Redis failover under load: a cluster master killed (its replica promoted) or the Sentinel
master killed (Sentinel promotes the replica), while web + 2 workers answer questions.

Every question acked by the web must be answered, once. The figures are printed (run with -s,
as make test-cluster does) for the README's scaling section.
"""
from __future__ import annotations

import asyncio
import os
import time

from bench.faultlab import check, settle
from bot.redis_server import LocalCluster
from redis.crc import key_slot
from store.keys import spread_tag
from tests.cluster.figures import report as say
from tests.faults.helpers import load


def _victim(topology) -> int:
    """The master to kill: on a cluster, the one serving the most inbox partitions."""
    if not isinstance(topology, LocalCluster):
        return topology.current_master()
    counts: dict[int, int] = {}
    for part in range(4):
        port = topology.master_of(key_slot(spread_tag("inbox", part, 4).encode()))
        counts[port] = counts.get(port, 0) + 1
    return max(counts, key=counts.get)


async def test_master_killed_under_load(topology, deployment):
    kind = os.environ["QB_TOPOLOGY"]
    warm = load(deployment, "Warm", rate=20)
    await warm.run(10)
    await warm.finish()
    await settle(deployment, warm, quiet_s=10, cap_s=20)

    lo = load(deployment, "Failover", rate=20)
    run = asyncio.create_task(lo.run(120))  # 6 s of load
    await asyncio.sleep(2.0)
    victim = _victim(topology)
    killed_at = time.monotonic()
    await asyncio.to_thread(topology.kill, victim)
    if isinstance(topology, LocalCluster):
        while victim in await asyncio.to_thread(topology.masters):  # until its replica serves its slots
            await asyncio.sleep(0.1)
        await asyncio.to_thread(topology.wait_ok, 30)
    else:
        while await asyncio.to_thread(topology.current_master) == victim:
            await asyncio.sleep(0.1)
    promoted_s = time.monotonic() - killed_at
    await run
    await lo.finish()
    await settle(deployment, lo, quiet_s=20, cap_s=40)
    report = check(deployment, lo, f"{kind} master killed")
    say(f"[{kind} failover] new master serving after {promoted_s:.1f}s; callbacks {dict(lo.callbacks)}")
    for line in report.lines():
        say(f"[{kind} failover] {line}")
    why = "\n".join(report.lines()) + f"\nunanswered: {report.lost_examples}\n" + deployment.logs(2000)
    assert report.acked > 0
    assert report.acked == report.answered, why
    assert report.duplicates == 0 and report.app[3] == 0, why
