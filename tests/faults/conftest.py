"""A real web + 2 workers per test module (bench/faultlab.py): their own redis-server on a free port,
the fake WeCom with fault modes in the test process. Timings are shortened through the config
(leases, reclaim, sender backoff) so each module runs in well under half a minute."""
from __future__ import annotations

import pytest_asyncio

from bench.faultlab import Cluster

FAST = dict(worker={"lease_ms": 2000, "retry_after_ms": 2000},
            sender={"timeout_seconds": 2.0, "retry_base_seconds": 0.2, "retry_first_seconds": 1.0,
                    "retry_max_seconds": 2.0, "retry_poll_seconds": 0.2})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("faults"), **FAST)
    await c.start()
    yield c
    await c.close()
