"""The topology make test-cluster started (REDIS_URL), as the service sees it through store.connect."""
from __future__ import annotations

import asyncio
import os

import pytest
from redis.asyncio import RedisCluster

from store import Store, connect

CLUSTER = os.environ.get("QB_TOPOLOGY") == "cluster"


@pytest.mark.parametrize("partitions", [3, 4, 8])
async def test_partitions_spread_over_every_master(redis, prefix, partitions):
    if not CLUSTER:
        assert not isinstance(redis, RedisCluster)
        return
    store = Store(redis, prefix=prefix, partitions=partitions)
    owner = {}
    for stream in (store.inbox, store.outbox):
        await stream.ensure_groups()
        for part in range(partitions):
            node = redis.get_node_from_key(stream.key(part))
            owner[(stream.name, part)] = node.name
    masters = {n.name for n in redis.get_primaries()}
    assert len(masters) == 3
    for name in ("inbox", "outbox"):
        used = [owner[(name, p)] for p in range(partitions)]
        assert set(used) == masters, (name, used)  # every master gets partitions
        assert max(used.count(m) for m in masters) - min(used.count(m) for m in masters) <= 1


async def test_group_commit_across_partitions_and_masters(redis, prefix):
    store = Store(redis, prefix=prefix, partitions=4)
    await store.inbox.ensure_groups()
    ids = await asyncio.gather(*(store.inbox.put_batched(f"conv{i}", f"m{i}", f"d{i}") for i in range(200)))
    assert all(ids)
    again = await asyncio.gather(*(store.inbox.put_batched(f"conv{i}", f"m{i}", "x") for i in range(200)))
    assert again == [None] * 200  # deduped, on whichever node each partition lives
    got = []
    for part in range(4):
        got += [e.data for e in await store.inbox.read_new(part, "c", 500)]
    assert sorted(got) == sorted(f"d{i}" for i in range(200))


async def test_script_cache_lost_by_a_node_is_reloaded(redis, prefix):
    """A promoted replica has no scripts cached: the group commit's EVALSHA gets NOSCRIPT and loads it."""
    store = Store(redis, prefix=prefix, partitions=4)
    await store.inbox.ensure_groups()
    await store.inbox.put_batched("a", "1", "x")
    if CLUSTER:
        for node in redis.get_primaries():
            await redis.execute_command("SCRIPT", "FLUSH", target_nodes=node)
    else:
        await redis.script_flush()
    ids = await asyncio.gather(*(store.inbox.put_batched(f"c{i}", f"n{i}", "y") for i in range(20)))
    assert all(ids)


async def test_connect_reaches_the_current_master(redis_url):
    client = connect(redis_url)
    try:
        info = await client.info("replication")
        assert info["role"] == "master"
    finally:
        await client.aclose()
