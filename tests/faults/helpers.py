"""What each fault test does around its fault: a load of its own users, then the check."""
from __future__ import annotations

from bench.faultlab import Cluster, Load, check, settle


def load(cluster: Cluster, name: str, rate: float = 20.0) -> Load:
    """Questions from this test's own shoppers (and the guides), each callback retried like WeCom
    does: 3 times, 5 s apart (a refused callback only costs time when a fault is on)."""
    return Load(cluster, rate=rate, shoppers=15, prefix=f"wm{name}", retry_s=5.0)


async def finish(cluster: Cluster, lo: Load, name: str, cap_s: float = 25):
    """Wait for the answers; the report and, for a failure message, what was lost and the logs."""
    await lo.finish()
    await settle(cluster, lo, quiet_s=cap_s, cap_s=cap_s, wiped_at=cluster.wiped_at)
    report = check(cluster, lo, name, cluster.wiped_at)
    return report, "\n".join(report.lines()) + f"\nunanswered: {report.lost_examples}\n" + cluster.logs(1500)
