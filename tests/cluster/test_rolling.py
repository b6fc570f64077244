"""A rolling deploy under load: every process (2 webs, 2 workers) gets SIGTERM and a successor,
one after another, while questions keep coming. A web stops accepting before it stops acking (the
other web takes the callbacks), a worker drains and hands its partitions over at once; nothing
acked is lost and no answer takes more than a few seconds."""
from __future__ import annotations

import asyncio
import os

from bench.faultlab import check, settle
from tests.cluster.figures import report as say
from tests.faults.helpers import load


async def test_every_process_restarted_one_by_one_under_load(deployment):
    kind = os.environ["QB_TOPOLOGY"]
    warm = load(deployment, "RWarm", rate=20)
    await warm.run(10)
    await warm.finish()
    await settle(deployment, warm, quiet_s=10, cap_s=20)

    lo = load(deployment, "Rolling", rate=20)
    run = asyncio.create_task(lo.run(240))  # 12 s of load
    exits = []
    for proc in [p for p in deployment.procs if p.popen.poll() is None]:
        await asyncio.sleep(1.0)
        took, _ = await deployment.restart(proc)
        exits.append(f"{proc.role} {took:.1f}s")
    await run
    await lo.finish()
    await settle(deployment, lo, quiet_s=20, cap_s=40)
    report = check(deployment, lo, f"rolling restart on {kind}")
    say(f"[{kind} rolling] drained and exited: {', '.join(exits)}; callbacks {dict(lo.callbacks)}")
    for line in report.lines():
        say(f"[{kind} rolling] {line}")
    why = "\n".join(report.lines()) + f"\nunanswered: {report.lost_examples}\n" + deployment.logs(2000)
    assert lo.callbacks.get("app dropped", 0) == 0 and lo.callbacks.get("kf dropped", 0) == 0, why
    assert report.acked == report.answered == len(lo.asked), why
    assert report.duplicates == 0 and report.app[3] == 0, why
    assert report.max_delay < 5.0, why  # "a few seconds": no answer waited for a lease to expire
