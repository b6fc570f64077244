"""The buyers' digest in Redis: the frozen snapshot of each business day, once-per-recipient
delivery records, and the purchasing requests with their acceptance records.

Everything about one business day lives under the hash tag {dg:<day>}. The snapshot is written
once (a Lua check-and-set), so a second freeze, from another replica or after a restart, keeps
the first. Snapshot blobs are zlib-compressed JSON: a 1,000-store day is megabytes of JSON but
compresses about tenfold.

The digest also reads two other features' state, read-only: the 接龙 index of 团 by creation
time (`gb_all`) and the shoppers behind each demand signal (`demand_askers`).
"""
from __future__ import annotations

import json
import zlib

from redis.asyncio import Redis

from store.demand import KINDS
from store.keys import DAY, Keys
from store.lua import bind

TTL = 60 * DAY  # a month of trend history plus margin; matches the demand signals' TTL
LOCK_TTL = 120  # a sender holding a recipient's lock longer than this has died


def pack(obj) -> bytes:
    return zlib.compress(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(), 6)


def unpack(raw: bytes | None):
    return json.loads(zlib.decompress(raw)) if raw else None


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class DigestState:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._freeze = bind(redis, "digest_freeze")
        self._unlock = bind(redis, "compare_and_delete")
        self._claim_retry = bind(redis, "digest_claim_retry")

    # -- snapshots ----------------------------------------------------------------------------
    async def freeze(self, day: str, inputs: dict, totals: dict, now: float) -> bool:
        """Store the day's inputs and totals unless already frozen; True if this call froze it."""
        return bool(await self._freeze(keys=[self.k.digest_day(day, "snap")],
                                       args=[pack(inputs), pack(totals), repr(float(now)), TTL]))

    async def frozen(self, days: list[str]) -> set[str]:
        async with self.r.pipeline(transaction=False) as p:
            for d in days:
                p.hexists(self.k.digest_day(d, "snap"), "inputs")
            res = await p.execute()
        return {d for d, ok in zip(days, res) if ok}

    async def inputs(self, day: str) -> dict | None:
        return unpack(await self.r.hget(self.k.digest_day(day, "snap"), "inputs"))

    async def totals(self, days: list[str]) -> dict[str, dict]:
        async with self.r.pipeline(transaction=False) as p:
            for d in days:
                p.hget(self.k.digest_day(d, "snap"), "totals")
            res = await p.execute()
        return {d: unpack(raw) for d, raw in zip(days, res) if raw}

    # -- once per (day, recipient) ------------------------------------------------------------
    async def lock(self, day: str, recipient: str, token: str) -> bool:
        return bool(await self.r.set(self.k.digest_day(day, f"lock:{recipient}"), token, nx=True, ex=LOCK_TTL))

    async def unlock(self, day: str, recipient: str, token: str) -> None:
        await self._unlock(keys=[self.k.digest_day(day, f"lock:{recipient}")], args=[token])

    async def sent(self, day: str, recipients: list[str]) -> set[str]:
        if not recipients:
            return set()
        vals = await self.r.hmget(self.k.digest_day(day, "sent"), recipients)
        return {r for r, v in zip(recipients, vals) if v is not None}

    async def mark_sent(self, day: str, recipient: str, now: float, late: bool) -> None:
        key = self.k.digest_day(day, "sent")
        async with self.r.pipeline(transaction=True) as p:
            p.hsetnx(key, recipient, json.dumps({"at": now, "late": late}))
            p.expire(key, TTL)
            await p.execute()

    async def sent_log(self, day: str) -> dict[str, dict]:
        return {_s(k): json.loads(v) for k, v in (await self.r.hgetall(self.k.digest_day(day, "sent"))).items()}

    async def first_seen(self, recipients: list[str], now: float) -> dict[str, float]:
        """When each recipient was first configured (recorded now for new ones)."""
        if not recipients:  # no buyers configured: HMGET takes at least one field
            return {}
        key = self.k.digest_seen()
        async with self.r.pipeline(transaction=False) as p:
            for r in recipients:
                p.hsetnx(key, r, repr(float(now)))
            p.hmget(key, recipients)
            res = await p.execute()
        return {r: float(v) for r, v in zip(recipients, res[-1])}

    # -- purchasing requests -------------------------------------------------------------------
    async def put_request(self, day: str, scope: str, body: bytes) -> bytes:
        """Keep the first body stored for (day, scope): a retry must post the very same bytes."""
        key = self.k.digest_day(day, "po")
        async with self.r.pipeline(transaction=True) as p:
            p.hsetnx(key, scope, body)
            p.hget(key, scope)
            p.expire(key, TTL)
            res = await p.execute()
        return res[1]

    async def request(self, day: str, scope: str) -> bytes | None:
        return await self.r.hget(self.k.digest_day(day, "po"), scope)

    async def request_scopes(self, day: str) -> list[str]:
        return sorted(_s(x) for x in await self.r.hkeys(self.k.digest_day(day, "po")))

    async def settled(self, day: str, scope: str) -> dict | None:
        """The final answer to (day, scope)'s request, {"at", "status"}: accepted (2xx, 409) or
        refused for good (another 4xx). None while it is still to be posted."""
        raw = await self.r.hget(self.k.digest_day(day, "po_done"), scope)
        return json.loads(raw) if raw else None

    async def settled_scopes(self, day: str) -> set[str]:
        return {_s(x) for x in await self.r.hkeys(self.k.digest_day(day, "po_done"))}

    async def settle(self, day: str, scope: str, now: float, status: int) -> None:
        key = self.k.digest_day(day, "po_done")
        async with self.r.pipeline(transaction=True) as p:
            p.hsetnx(key, scope, json.dumps({"at": now, "status": status}))
            p.expire(key, TTL)
            await p.execute()

    async def claim_retry(self, day: str, scope: str, slot: int) -> bool:
        """True for the one caller that gets to queue retry `slot` of (day, scope)'s request."""
        return bool(await self._claim_retry(keys=[self.k.digest_day(day, "po_retry")], args=[scope, slot, TTL]))

    # -- read-only views of other features' state ------------------------------------------------
    async def groupbuys_created(self, since: float, until: float) -> list[int]:
        """团 ids created in [since, until] (the 接龙 index by creation time)."""
        return [int(x) for x in await self.r.zrangebyscore(self.k.gb_all(), since, until)]

    async def groupbuy_lines(self, gids: list[int]) -> dict[int, list[dict]]:
        async with self.r.pipeline(transaction=False) as p:
            for gid in gids:
                p.hvals(self.k.gb(gid, "lines"))
            res = await p.execute()
        return {gid: [json.loads(x) for x in rows] for gid, rows in zip(gids, res)}

    async def demand_shoppers(self, day: str, signals: list[tuple[str, str, str]]) -> list[list[str]]:
        """The shoppers behind each (kind, store, item) demand signal of `day`."""
        async with self.r.pipeline(transaction=False) as p:
            for kind, store, item in signals:
                p.smembers(self.k.demand_askers(day, KINDS[kind], store, item))
            res = await p.execute()
        return [sorted(_s(x) for x in members) for members in res]
