"""store.connect's URL forms and the spread of stream partitions over a cluster's slot space."""
from __future__ import annotations

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.crc import key_slot

from store import Store, connect
from store.keys import Keys, spread_tag


async def test_cluster_url_gives_a_cluster_client_with_every_seed():
    c = connect("redis+cluster://user:p%40ss@h1:7000,h2:7001,[::1]:7002/")
    assert isinstance(c, RedisCluster)
    assert [(n.host, n.port) for n in c.startup_nodes] == [("h1", 7000), ("h2", 7001), ("::1", 7002)]
    assert c.connection_kwargs["password"] == "p@ss" and c.connection_kwargs["username"] == "user"


async def test_sentinel_url_names_the_master_and_db():
    r = connect("redis+sentinel://:secret@s1:26379,s2/mymaster/3")
    pool = r.connection_pool
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 3 and pool.connection_kwargs["password"] == "secret"
    assert [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
            for s in pool.sentinel_manager.sentinels] == [("s1", 26379), ("s2", 26379)]
    assert pool.max_connections == 100 and pool.timeout == 10  # waits for a connection under bursts
    await r.aclose()


async def test_sentinel_url_without_a_master_name_is_refused():
    with pytest.raises(ValueError, match="names the master"):
        connect("redis+sentinel://s1:26379")


async def test_plain_url_keeps_the_plain_partition_tags(redis):
    assert isinstance(redis, Redis) or isinstance(redis, RedisCluster)
    if isinstance(redis, Redis):
        # Upgrading a single node must find its streams under the names they always had.
        assert Store(redis, prefix="qb", partitions=4).inbox.key(2) == "qb:{inbox:2}:s"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 16, 64])
def test_spread_tags_spread_over_three_or_five_even_masters(n):
    for masters in (3, 5):
        per = [0] * masters
        for part in range(n):
            per[key_slot(spread_tag("inbox", part, n).encode()) * masters // 16384] += 1
        # as even as n partitions over `masters` masters can be
        assert max(per) - min(per) <= 1, (n, masters, per)


def test_spread_keys_of_one_partition_share_their_slot():
    k = Keys("qb", spread=4)
    for part in range(4):
        slots = {key_slot(x.encode()) for x in (k.stream("inbox", part), k.seen("inbox", part, "m1"),
                                                 k.lease("inbox", part), k.retry_due("inbox", part),
                                                 k.held("inbox", part, "u"), k.held_meta("inbox", part, "u"))}
        assert len(slots) == 1
