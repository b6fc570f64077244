"""All Redis state. `Store` bundles the client, the key builder and one object per concern."""
from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import RedisError as StoreError  # what a store call raises when Redis fails: features catch this name

from store.budget import Budget
from store.coupons import Coupons
from store.groupbuy import GroupBuys
from store.catalog import Catalog
from store.confirmations import Confirmations
from store.delivery import Delivery
from store.demand import Demand
from store.digest import DigestState
from store.groups import Groups
from store.keys import Keys, RetentionSettings
from store.kf import KfState
from store.listen import ListenState
from store.parking import Parking
from store.pending import Pending
from store.post_quota import PostQuota
from store.qa_state import QAState
from store.schedule import Schedule
from store.shoppers import ShopperState
from store.smalltalk import SmallTalk
from store.streams import PartitionedStream


def connect(url: str, max_connections: int = 100) -> Redis:
    """A client for `[redis] url`; its pool waits for a free connection instead of failing under bursts.

    - `redis://host:6379/0`, `rediss://…`, `unix:///path.sock?db=0`: one Redis node.
    - `redis+cluster://[user:pass@]h1:7000,h2:7000[/]` (`rediss+cluster://` for TLS): a Redis Cluster
      through redis-py's `RedisCluster`; the hosts are seed nodes, the rest is discovered.
    - `redis+sentinel://[user:pass@]h1:26379,h2:26379/mymaster[/db]`: the master Sentinel names,
      found again after a failover (redis-py's Sentinel); the password is the data nodes' one.
    """
    # Socket timeouts: a half-open connection must fail a read, not hang it (the longest BLOCK is 1 s).
    opts = dict(socket_timeout=15, socket_connect_timeout=5)
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("redis+cluster", "rediss+cluster"):
        u, hosts = _hosts(url, 6379)
        return _Cluster(startup_nodes=[ClusterNode(h, p) for h, p in hosts], max_connections=max_connections,
                            ssl=scheme.startswith("rediss"), username=u.username and unquote(u.username),
                            password=u.password and unquote(u.password), **opts)
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        u, hosts = _hosts(url, 26379)
        path = [x for x in u.path.split("/") if x]
        if not path:
            raise ValueError("a redis+sentinel:// URL names the master: redis+sentinel://h1:26379,h2:26379/mymaster")
        auth = dict(username=u.username and unquote(u.username), password=u.password and unquote(u.password))
        sentinel = Sentinel(hosts, sentinel_kwargs=dict(socket_timeout=2, socket_connect_timeout=2),
                            ssl=scheme.startswith("rediss"), **auth, **opts)
        return sentinel.master_for(path[0], connection_pool_class=_BlockingSentinelPool,
                                   db=int(path[1]) if len(path) > 1 else 0,
                                   max_connections=max_connections, timeout=10)
    # from_pool: the client owns the pool, so aclose() closes its connections too.
    return Redis.from_pool(BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10, **opts))


class _Cluster(RedisCluster):
    """A RedisCluster whose commands wait for a free connection, as the single-node pool does:
    redis-py's cluster client raises MaxConnectionsError once a node has max_connections in use."""

    def __init__(self, *args, max_connections: int, **kwargs) -> None:
        # Pipelines take node connections outside the semaphore: leave them room.
        super().__init__(*args, max_connections=2 * max_connections, **kwargs)
        self._free = asyncio.Semaphore(max_connections)

    async def execute_command(self, *args, **kwargs):
        async with self._free:
            return await super().execute_command(*args, **kwargs)

    async def _determine_slot(self, command: str, *args):
        # XREADGROUP's keys are "movable": redis-py would ask the server (COMMAND GETKEYS) on every
        # read, one more round trip per poll. Its first stream name follows STREAMS.
        if command.upper() in ("XREADGROUP", "XREAD"):
            names = [a.decode() if isinstance(a, bytes) else str(a) for a in args]
            upper = [n.upper() for n in names]
            if "STREAMS" in upper:
                return self.keyslot(names[upper.index("STREAMS") + 1])
        return await super()._determine_slot(command, *args)


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's master discovery with the blocking pool's wait for a free connection."""


def _hosts(url: str, default_port: int):
    u = urlsplit(url)
    hosts = []
    for part in u.netloc.rpartition("@")[2].split(","):
        host, _, port = part.strip().rpartition(":") if ":" in part else (part.strip(), "", "")
        if not host:
            raise ValueError(f"no host in {part!r} of the Redis URL")
        hosts.append((host.strip("[]"), int(port or default_port)))
    return u, hosts


def is_cluster(redis) -> bool:
    return isinstance(redis, RedisCluster)


class Store:
    def __init__(self, redis: Redis, *, prefix: str = "qb", partitions: int = 4,
                 dedupe_ttl: int = 3 * 86400, dead_max: int = 10_000, dead_days: float = 30,
                 retention: RetentionSettings = RetentionSettings()) -> None:
        self.r = redis
        self.keys = Keys(prefix, spread=partitions if is_cluster(redis) else 0)
        self.inbox = PartitionedStream(redis, self.keys, "inbox", partitions, dedupe_ttl, dead_max, dead_days)
        self.outbox = PartitionedStream(redis, self.keys, "outbox", partitions, dedupe_ttl, dead_max, dead_days)
        self.parking = Parking(redis, self.keys, "outbox", partitions)  # outbox entries waiting for a retry
        self.delivery = Delivery(redis, self.keys, self.parking)
        self.schedule = Schedule(redis, self.keys)
        self.budget = Budget(redis, self.keys)
        self.retention = retention  # [retention]: how long long-lived state is kept
        self.coupons = Coupons(redis, self.keys, retention)
        self.groupbuys = GroupBuys(redis, self.keys, retention)
        self.catalog = Catalog(redis, self.keys)
        self.demand = Demand(redis, self.keys)
        self.digest = DigestState(redis, self.keys)  # buyers' digest
        self.kf = KfState(redis, self.keys)  # 微信客服 (kf) shopper channels
        self.shoppers = ShopperState(redis, self.keys, retention)
        self.groups = Groups(redis, self.keys, retention)
        self.post_quota = PostQuota(redis, self.keys)  # 群发 per customer group and quota period
        self.listen = ListenState(redis, self.keys)  # customer groups heard through the chat archive
        self.smalltalk = SmallTalk(redis, self.keys)
        self.pending = Pending(redis, self.keys)  # questions waiting for an answer
        self.confirmations = Confirmations(redis, self.keys)  # drafts waiting for 确认
        self.qa = QAState(redis, self.keys, self.pending)

    async def once(self, key: str, ttl: int) -> bool:
        """True the first time `key` is claimed within ttl seconds, across every replica."""
        return bool(await self.r.set(key, "1", nx=True, ex=ttl))

    async def pending_with_catalog_version(self, conversation: str, feature: str,
                                           msg_id: str = "") -> tuple[dict | None, int]:
        """A conversation's pending-question record (read it with store.pending.usable) and the
        catalog version, in one round trip at most: every 接龙 line that may mean a 团 needs both.
        With `msg_id`, a record the gate primed for that message (store/pending.py) and a version
        read within the last second (Catalog.recent_version) are taken instead."""
        if msg_id:
            primed, raw = self.pending.take_primed(conversation, feature, msg_id)
            if primed:
                return (json.loads(raw) if raw else None), await self.catalog.recent_version()
        async with self.r.pipeline(transaction=False) as p:
            p.get(self.keys.pending(conversation, feature))
            p.get(self.keys.catalog_version())
            ask, version = await p.execute()
        return (json.loads(ask) if ask else None), int(version or 0)

    async def ping(self) -> bool:
        return bool(await self.r.ping())
