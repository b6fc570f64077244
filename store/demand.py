"""Demand signals for the buyers' digest: what shoppers asked for and could not get, per day and store.

Counting is by unique shopper (a set per item), so asking twice counts once; the guide whose groups
the shopper came from is credited once per shopper too.
"""
from __future__ import annotations

from redis.asyncio import Redis

from store.keys import DAY, Keys
from store.lua import bind

TTL = 60 * DAY  # a month of history for trends, plus margin


KINDS = {"unmet": "u", "wish": "w"}


class Demand:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._record = bind(redis, "demand_record")

    async def record(self, day: str, kind: str, store: str, item: str, shopper: str,
                     example: str = "", guide: str = "", source: str = "kf") -> bool:
        """Count `shopper` asking for `item` (a SKU for unmet, a term for wish); True if new today.
        `source` is where they asked: kf (1:1) or group (heard in a customer group)."""
        k = KINDS[kind]
        keys = [self.k.demand_index(day), self.k.demand_askers(day, k, store, item),
                self.k.demand_examples(day, k, store, item), self.k.demand_guides(day, k, store, item),
                self.k.demand_sources(day, k, store, item)]
        return bool(await self._record(keys=keys, args=[f"{k}|{store}|{item}", shopper, example[:60], guide, TTL,
                                                        source or "kf"]))

    async def day(self, day: str) -> list[dict]:
        """Every signal of one day: kind, store, item, askers, examples, guides, sources (kf/group -> askers)."""
        members = sorted(m.decode() for m in await self.r.smembers(self.k.demand_index(day)))
        out = []
        inverse = {v: k for k, v in KINDS.items()}
        async with self.r.pipeline(transaction=False) as pipe:
            for m in members:
                k, store, item = m.split("|", 2)
                pipe.scard(self.k.demand_askers(day, k, store, item))
                pipe.lrange(self.k.demand_examples(day, k, store, item), 0, -1)
                pipe.hgetall(self.k.demand_guides(day, k, store, item))
                pipe.hgetall(self.k.demand_sources(day, k, store, item))
            res = await pipe.execute()
        for i, m in enumerate(members):
            k, store, item = m.split("|", 2)
            askers, examples, guides, sources = res[4 * i: 4 * i + 4]
            out.append({"kind": inverse[k], "store": store, "item": item, "askers": int(askers),
                        "examples": [e.decode() for e in examples],
                        "guides": {g.decode(): int(n) for g, n in guides.items()},
                        "sources": {s.decode(): int(n) for s, n in sources.items()}})
        return out
