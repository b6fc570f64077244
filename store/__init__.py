"""All Redis state. `Store` bundles the client, the key builder and one object per concern."""
from __future__ import annotations

import json

from redis.asyncio import BlockingConnectionPool, Redis
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
from store.parking import Parking
from store.pending import Pending
from store.qa_state import QAState
from store.schedule import Schedule
from store.shoppers import ShopperState
from store.smalltalk import SmallTalk
from store.streams import PartitionedStream


def connect(url: str, max_connections: int = 100) -> Redis:
    """A client whose pool waits for a free connection instead of failing under bursts."""
    # from_pool: the client owns the pool, so aclose() closes its connections too.
    # Socket timeouts: a half-open connection must fail a read, not hang it (the longest BLOCK is 1 s).
    return Redis.from_pool(BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10,
                                                           socket_timeout=15, socket_connect_timeout=5))


class Store:
    def __init__(self, redis: Redis, *, prefix: str = "qb", partitions: int = 4,
                 dedupe_ttl: int = 3 * 86400, dead_max: int = 10_000, dead_days: float = 30,
                 retention: RetentionSettings = RetentionSettings()) -> None:
        self.r = redis
        self.keys = Keys(prefix)
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
        self.smalltalk = SmallTalk(redis, self.keys)
        self.pending = Pending(redis, self.keys)  # questions waiting for an answer
        self.confirmations = Confirmations(redis, self.keys)  # drafts waiting for 确认
        self.qa = QAState(redis, self.keys)

    async def once(self, key: str, ttl: int) -> bool:
        """True the first time `key` is claimed within ttl seconds, across every replica."""
        return bool(await self.r.set(key, "1", nx=True, ex=ttl))

    async def pending_with_catalog_version(self, conversation: str, feature: str) -> tuple[dict | None, int]:
        """A conversation's pending-question record (read it with store.pending.usable) and the
        catalog version, in one round trip: every 接龙 line that may mean a 团 needs both."""
        async with self.r.pipeline(transaction=False) as p:
            p.get(self.keys.pending(conversation, feature))
            p.get(self.keys.catalog_version())
            ask, version = await p.execute()
        return (json.loads(ask) if ask else None), int(version or 0)

    async def ping(self) -> bool:
        return bool(await self.r.ping())
