"""`make test-cluster`: start a 3-master/3-replica Redis Cluster and a master/replica/3-Sentinel
group from the embedded Redis's redis-server, on free ports in temp dirs, and run the pipeline,
coupon, 接龙 and digest suites plus tests/cluster/ against each (REDIS_URL is the topology's URL,
which the conftest `redis` fixture and the app open through store.connect). Every server is
killed and its directory removed at the end, whatever happens.

    python -m tests.cluster.run [cluster|sentinel ...] [-- extra pytest args]
    QB_SUITES="tests/cluster/test_rolling.py" python -m tests.cluster.run sentinel   # some tests only
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from bot.redis_server import LocalCluster, LocalSentinel

SUITES = ["tests/test_streams.py", "tests/test_consumer.py", "tests/test_worker.py", "tests/test_delivery.py",
          "tests/coupons", "tests/groupbuy", "tests/digest", "tests/test_leases.py"]
TOPOLOGIES = {"cluster": LocalCluster, "sentinel": LocalSentinel}
# Counts a single node's round trips; on a cluster a pipeline costs one per node it touches (sent in
# parallel), so the sender's gate (outbox partition + the shopper's reply slot) is 2 there, not 1.
NOT_ON = {"cluster": ["tests/test_delivery.py::test_a_single_part_send_costs_two_redis_round_trips"]}


def run(topology: str, extra: list[str]) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"qb-{topology}-") as root:
        nodes = TOPOLOGIES[topology](root)
        try:
            url = nodes.start()
            print(f"== {topology}: {url} (up in {time.monotonic() - started:.1f}s)", flush=True)
            env = {**os.environ, "REDIS_URL": url, "QB_TOPOLOGY": topology}
            suites = os.environ.get("QB_SUITES", "").split() or [*SUITES, "tests/cluster"]
            skip = [f"--deselect={t}" for t in NOT_ON.get(topology, [])]
            cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *suites, *skip, *extra]
            rc = subprocess.call(cmd, env=env)
        finally:
            nodes.stop()
    print(f"== {topology}: exit {rc} in {time.monotonic() - started:.0f}s", flush=True)
    return rc


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    names = [a for a in (argv[:argv.index("--")] if "--" in argv else argv)] or list(TOPOLOGIES)
    started = time.monotonic()
    results = {name: run(name, extra) for name in names}
    print(f"== test-cluster: {results} in {time.monotonic() - started:.0f}s", flush=True)
    return max(results.values())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
