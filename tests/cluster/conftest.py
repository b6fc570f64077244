"""Tests that need a real Redis Cluster or Sentinel group: only under `make test-cluster`
(tests/cluster/run.py starts the topologies and sets QB_TOPOLOGY and REDIS_URL); `make test`
does not collect them.

The failover and rolling-restart tests run a real deployment (bench/faultlab.py: `qunbot serve`
web and worker processes, the fake WeCom in this process) on a topology of their own, so killing
a master there leaves the suites' topology alone."""
from __future__ import annotations

import os

import pytest_asyncio

from bench.faultlab import Cluster
from bot.redis_server import LocalCluster, LocalSentinel

def pytest_terminal_summary(terminalreporter) -> None:
    from tests.cluster.figures import LINES
    for line in LINES:
        terminalreporter.write_line(line)


collect_ignore_glob = [] if os.environ.get("QB_TOPOLOGY") else ["test_*.py"]

# Short leases and retries, as in tests/faults: a takeover or a retry costs seconds, not tens.
FAST = dict(worker={"lease_ms": 2000, "retry_after_ms": 2000},
            sender={"timeout_seconds": 2.0, "retry_base_seconds": 0.2, "retry_first_seconds": 1.0,
                    "retry_max_seconds": 2.0, "retry_poll_seconds": 0.2})


@pytest_asyncio.fixture
async def topology(tmp_path_factory):
    """A fresh Cluster or Sentinel group (the kind make test-cluster is running), killed after."""
    kind = os.environ["QB_TOPOLOGY"]
    nodes = (LocalCluster if kind == "cluster" else LocalSentinel)(tmp_path_factory.mktemp(kind))
    import asyncio
    await asyncio.to_thread(nodes.start)
    yield nodes
    nodes.stop()


@pytest_asyncio.fixture
async def deployment(topology, tmp_path_factory):
    """web + 2 workers on `topology` (two webs: the rolling restart keeps one listening)."""
    c = Cluster(tmp_path_factory.mktemp("deploy"), redis_url=topology.url, webs=2, partitions=4, **FAST)
    await c.start()
    for port in c.web_ports:
        await c.wait_healthy(port=port)
    yield c
    await c.close()
