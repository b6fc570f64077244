"""Coupon ledger: campaigns, codes, claims and redemptions, each decided by one Lua step.

Layout (keys in store/keys.py, coupons section). A campaign's own keys share the hash tag
{cp:<id>}: meta, holders, per-code records, the expiry ZSET, the message-id memo and the event log.
The redeem, confirm and stop scripts each touch exactly those keys, so every decision about a
campaign (window, stock, per-person limit, eligibility, redemption state) is one atomic step.

Code lookup (code -> campaign, needed by /核销 and the POS) cannot live under the campaign's tag:
the caller only knows the code. The index is a hash sharded by the code's first symbol. A shopper's
wallet (我的券) is keyed by the shopper. Every script touches one hash slot, so a claim is three
steps (reserve the code in the index, decide in the campaign, file index time and wallet); `claim`
says why that still issues each code once and answers each message once. For a shopper's 领券 the
first may ride on the round trip that reads the live campaigns (`claim_inputs`) and the last on the
message's ack (store/lua.py `later`), so only the decision takes a round trip of its own.

Retention ([retention] in config, rules in store/keys.py): a code record expires at the code's
expiry + coupon_grace_days. A campaign's own keys have no TTL while it can still issue codes; once
it has an end date, is stopped or has nothing left to issue, they all expire at its last code's
expiry + grace. The code index loses a code's entry at the same moment, by the daily coupon job
(`prune_code_index`), and wallets and greeted sets are trimmed as they are written.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from store.keys import DAY, Keys, RetentionSettings
from store.lua import Call, bind, later, run_all

DRAFT_TTL = DAY  # an unconfirmed draft campaign disappears after a day
CONFIRM_WINDOW = 600  # a guide has ten minutes to answer 确认
MEMO_TTL = DAY  # /发券 and 确认 redeliveries arrive within minutes; a day is plenty
SEEN_TTL = 47 * 3600  # kf allows replies 48 h after the shopper's last message; keep an hour spare
CODE_TRIES = 5  # a fresh 40-bit code collides about never; five tries make "never" certain
LONGEST_CODE_DAYS = 366  # handlers/coupons/rules.py MAX_VALID_DAYS: no code is valid longer
PRUNE_BATCH = 1000  # code-index entries removed per script call (keeps each call short)
# Every shopper message asks which campaigns are live and whether any store has a welcome coupon.
# A process answers from what it read within this long: another process's 确认 or 停券 shows up that
# much later (a claim itself is always decided by the script), this process's own at once.
CACHE_SECONDS = 1.0
CACHED_STORES = 4096


@dataclass(frozen=True, slots=True)
class Claim:
    """Outcome of one claim on one campaign.

    status: issued (new code) | again (this message already got `codes[0]`) | held (per-person limit
    reached; `codes` are the shopper's) | sold_out | ended | not_live | wrong_store | not_new |
    not_member (new-member campaign, shopper not in the store's groups). `codes`/`expires` are
    parallel tuples; sold_out also carries any codes the shopper holds.
    """

    campaign: str
    status: str
    codes: tuple[str, ...] = ()
    expires: tuple[int, ...] = ()

    @property
    def got_code(self) -> bool:
        return self.status in ("issued", "again")


@dataclass(frozen=True, slots=True)
class Redemption:
    """Outcome of redeeming a code. status: ok | unknown | expired | stopped | wrong_store |
    already_redeemed. `repeat` is True when (code, order_no) was already redeemed: the idempotent ok.
    For already_redeemed, order_no/redeemed_at/store describe the earlier redemption."""

    status: str
    code: str
    campaign: str | None = None
    repeat: bool = False
    order_no: str = ""
    redeemed_at: int | None = None
    store: str = ""


def _s(v: bytes | str | None) -> str | None:
    return v.decode() if isinstance(v, bytes) else v


def _decode(d: dict) -> dict[str, str]:
    return {_s(k): _s(v) for k, v in d.items()}  # type: ignore[misc]


def _merge(*ranges: list) -> list[str]:
    """Campaign ids of several ZRANGE ... WITHSCORES answers, oldest first, without duplicates."""
    merged = {_s(cid): score for r in ranges for cid, score in r}
    return sorted(merged, key=lambda c: (merged[c], len(c), c))  # type: ignore[arg-type]


def _split(csv: str | None) -> tuple[str, ...]:
    return tuple(x for x in (csv or "").split(",") if x)


class Coupons:
    def __init__(self, redis: Redis, keys: Keys, retention: RetentionSettings = RetentionSettings()) -> None:
        self.r, self.k = redis, keys
        self.grace = retention.coupon_grace_days * DAY
        self.customer_keep = retention.customer_days * DAY
        self._claim = bind(redis, "coupons_claim")
        self._redeem = bind(redis, "coupons_redeem")
        self._confirm = bind(redis, "coupons_confirm")
        self._stop = bind(redis, "coupons_stop")
        self._wallet = bind(redis, "coupons_wallet")
        self._greet = bind(redis, "coupons_greet")
        self._prune = bind(redis, "coupons_prune")
        self._reserve = bind(redis, "coupons_reserve")
        self._release = bind(redis, "coupons_release")
        self._file = bind(redis, "coupons_file")
        self._unwelcome = bind(redis, "compare_and_hdel")
        self._set_ex = bind(redis, "set_ex")
        self._live_cache: dict[str, tuple[float, list[str]]] = {}
        self._welcome_cache: tuple[float, dict[str, str]] | None = None
        self._shared_live: list[str] = []  # the chain-wide live campaigns when last read
        # (shopper, campaign) -> a code claim_inputs reserved for the claim that follows it
        self._reserved: dict[tuple[str, str], str] = {}
        self._writes = 0  # index writes of this process: a cache read across one is not kept

    def _changed(self) -> None:
        """This process just changed the live or welcome indexes: forget what was read before."""
        self._writes += 1
        self._live_cache.clear()
        self._welcome_cache = None

    # -- retention -----------------------------------------------------------------------------
    def _campaign_keys(self, cid: str) -> list[str]:
        k = self.k
        return [k.coupon_meta(cid), k.coupon_holders(cid), k.coupon_expiry(cid), k.coupon_claims(cid), k.coupon_log(cid)]

    async def _expire_campaign(self, cid: str, at: float, now: float) -> None:
        # Relative to the caller's `now` (not EXPIREAT): the ledger's times are the caller's clock.
        async with self.r.pipeline(transaction=False) as pipe:
            for key in self._campaign_keys(cid):
                pipe.expire(key, max(1, int(at - now)))
            await pipe.execute()

    async def settle(self, cid: str, now: float) -> None:
        """The campaign can issue no more codes: its keys expire at its last code's expiry (or its
        end, or now) + grace. Idempotent; called on stop, at sell-out or end, and at confirm for a
        campaign with an end date."""
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.zrevrange(self.k.coupon_expiry(cid), 0, 0, withscores=True)
            pipe.hget(self.k.coupon_meta(cid), "ends_at")
            last, ends_at = await pipe.execute()
        until = max(now, last[0][1] if last else 0, float(ends_at or 0))
        await self._expire_campaign(cid, until + self.grace, now)

    async def prune_code_index(self, now: float, shards: Iterable[str]) -> int:
        """Remove code-index entries of codes past expiry + grace (their records are gone too).
        `shards` are the first symbols codes can start with (handlers/coupons/codes.py ALPHABET)."""
        removed = 0
        for shard in shards:
            keys = [self.k.coupon_code_index(shard), self.k.coupon_code_expiry(shard)]
            while True:
                n = int(await self._prune(keys=keys, args=[int(now), PRUNE_BATCH]))
                removed += n
                if n < PRUNE_BATCH:
                    break
        return removed

    # -- campaigns -----------------------------------------------------------------------------
    async def create(self, record: dict[str, str], *, owner: str, by: str, now: float,
                     welcome: bool = False) -> str:
        """Store a draft campaign (rules from rules.to_record plus display fields); returns its id."""
        cid = f"C{await self.r.incr(self.k.coupon_seq())}"
        meta = {**record, "id": cid, "owner": owner, "state": "draft", "created_by": by,
                "created_at": str(int(now)), "issued": "0", "redeemed": "0", "welcome": "1" if welcome else "0"}
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(self.k.coupon_meta(cid), mapping=meta)
            pipe.expire(self.k.coupon_meta(cid), DRAFT_TTL)
            await pipe.execute()
        return cid

    async def campaign(self, cid: str) -> dict[str, str] | None:
        meta = await self.r.hgetall(self.k.coupon_meta(cid))
        return _decode(meta) if meta else None

    async def campaigns(self, cids: Iterable[str]) -> list[dict[str, str]]:
        """Meta of each existing campaign, in the order given."""
        cids = list(cids)
        if not cids:
            return []
        async with self.r.pipeline(transaction=False) as pipe:
            for cid in cids:
                pipe.hgetall(self.k.coupon_meta(cid))
            metas = await pipe.execute()
        return [_decode(m) for m in metas if m]

    def _scope_stores(self, meta: dict[str, str]) -> list[str]:
        stores = meta.get("stores") or ""
        if stores == "all":
            return ["*"]
        return list(_split(stores)) or [meta["owner"]]

    async def confirm(self, cid: str, *, by: str, now: float) -> str:
        """Draft -> live. Returns live | already | stopped | missing; indexes are (re)written on
        live and already, so a crash between the script and the index writes heals on retry."""
        res = _s(await self._confirm(keys=[self.k.coupon_meta(cid), self.k.coupon_log(cid)],
                                     args=[int(now), by]))
        if res in ("live", "already"):
            meta = await self.campaign(cid)
            if meta is not None:
                await self._index_live(meta)
                if meta.get("ends_at"):  # every code expires by the end date: so can the campaign
                    await self.settle(cid, now)
        return res or "missing"

    async def _index_live(self, meta: dict[str, str]) -> None:
        cid, created = meta["id"], float(meta.get("created_at") or 0)
        scope = self._scope_stores(meta)
        async with self.r.pipeline(transaction=False) as pipe:
            for store in dict.fromkeys([meta["owner"], *scope]):
                pipe.zadd(self.k.coupon_store(store), {cid: created})
            for store in scope:
                pipe.zadd(self.k.coupon_live(store), {cid: created})
            pipe.zadd(self.k.coupon_live_all(), {cid: created})
            if meta.get("welcome") == "1":
                pipe.hset(self.k.coupon_welcome(), meta["owner"], cid)
            await pipe.execute()
        self._changed()
        for store in dict.fromkeys([meta["owner"], *scope]):
            await self._prune_store_index(store)

    async def _prune_store_index(self, store: str) -> None:
        """Drop campaigns whose records have expired from a store's list (so it stays bounded)."""
        key = self.k.coupon_store(store)
        cids = [_s(c) for c in await self.r.zrange(key, 0, -1)]
        async with self.r.pipeline(transaction=False) as pipe:
            for cid in cids:
                pipe.exists(self.k.coupon_meta(cid))
            alive = await pipe.execute()
        gone = [c for c, ok in zip(cids, alive) if not ok]
        if gone:
            await self.r.zrem(key, *gone)

    async def stop(self, cid: str, *, by: str, now: float) -> str:
        """Stop claims and void unredeemed codes. Returns the previous state, 'already' or 'missing'."""
        res = _s(await self._stop(keys=[self.k.coupon_meta(cid), self.k.coupon_log(cid)], args=[int(now), by]))
        if res != "missing":
            meta = await self.campaign(cid)
            if meta is not None:
                await self._unindex_live(meta)
                await self.settle(cid, now)
        return res or "missing"

    async def _unindex_live(self, meta: dict[str, str]) -> None:
        cid = meta["id"]
        async with self.r.pipeline(transaction=False) as pipe:
            for store in self._scope_stores(meta):
                pipe.zrem(self.k.coupon_live(store), cid)
            pipe.zrem(self.k.coupon_live_all(), cid)
            await pipe.execute()
        await self._unwelcome(keys=[self.k.coupon_welcome()], args=[meta["owner"], cid])
        self._changed()

    async def store_campaigns(self, store_id: str) -> list[str]:
        """Ids of campaigns owned by or usable in a store (all-store ones included), oldest first."""
        return await self._union(self.k.coupon_store(store_id), self.k.coupon_store("*"))

    async def live_campaigns(self, store_id: str) -> list[str]:
        """Ids of live campaigns claimable in a store, oldest first (as of CACHE_SECONDS ago at most)."""
        cached = self._cached_live(store_id)
        if cached is not None:
            return cached
        writes = self._writes
        ids = await self._union(self.k.coupon_live(store_id), self.k.coupon_live("*"))
        self._keep_live(store_id, ids, writes)
        return list(ids)

    def _cached_live(self, store_id: str) -> list[str] | None:
        hit = self._live_cache.get(store_id)
        return list(hit[1]) if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS else None

    def _keep_live(self, store_id: str, ids: list[str], writes: int) -> None:
        if writes != self._writes:
            return  # read across one of our own index writes: may predate it
        if len(self._live_cache) >= CACHED_STORES:
            self._live_cache.clear()
        self._live_cache[store_id] = (time.monotonic(), list(ids))

    async def _welcomes(self) -> dict[str, str]:
        """store id -> its welcome campaign, as of CACHE_SECONDS ago at most."""
        hit = self._welcome_cache
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        writes = self._writes
        found = _decode(await self.r.hgetall(self.k.coupon_welcome()))
        if writes == self._writes:
            self._welcome_cache = (time.monotonic(), found)
        return found

    async def _union(self, own: str, shared: str) -> list[str]:
        # Two slots on a cluster, so two reads (one round trip) rather than ZUNION.
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.zrange(own, 0, -1, withscores=True)
            pipe.zrange(shared, 0, -1, withscores=True)
            a, b = await pipe.execute()
        return _merge(a, b)

    async def claim_inputs(self, store_id: str, shopper: str, target: str, now: float,
                           new_code: Callable[[], str] | None = None) -> tuple[list[str], str | None]:
        """Before a claim: record the shopper's message (touch_seen, deferred to the ack while a
        message is handled) and read the store's live campaigns and welcome campaign (unless read
        within CACHE_SECONDS); one round trip at most.

        With `new_code`, that round trip also reserves a code (the claim's first step) for the first
        campaign the store offered when last read (or the chain-wide ones, for a store not read yet):
        the list rarely changes, so the claim that follows usually needs no reserve step of its own.
        The claim takes it (`claim(..., defer=True)` for the same shopper and campaign);
        `release_unclaimed` gives back one it did not take."""
        live, welcomes = self._cached_live(store_id), self._welcome_cache
        if welcomes is not None and time.monotonic() - welcomes[0] >= CACHE_SECONDS:
            welcomes = None
        writes = self._writes
        await self.touch_seen(shopper, target, now)
        if live is not None and welcomes is not None:
            return live, welcomes[1].get(store_id)
        guess = None
        if live is None and new_code is not None:
            before = self._live_cache.get(store_id)
            ids = before[1] if before is not None else self._shared_live
            guess = (ids[0], new_code()) if ids else None
        async with self.r.pipeline(transaction=False) as pipe:
            if live is None:
                pipe.zrange(self.k.coupon_live(store_id), 0, -1, withscores=True)
                pipe.zrange(self.k.coupon_live("*"), 0, -1, withscores=True)
            if welcomes is None:
                pipe.hgetall(self.k.coupon_welcome())
            if guess is not None:
                reserving = self._reserve_call(guess[0], guess[1], now).queue(pipe)
            res = await pipe.execute(raise_on_error=False)
        if guess is not None and await reserving.settle(self.r, res.pop()):
            if len(self._reserved) >= CACHED_STORES:  # left by failed handlings: reserved, never issued
                self._reserved.clear()
            self._reserved[(shopper, guess[0])] = guess[1]
        for r in res:
            if isinstance(r, Exception):
                raise r
        if live is None:
            own, shared = res.pop(0), res.pop(0)
            live = _merge(own, shared)
            self._shared_live = _merge(shared)
            self._keep_live(store_id, live, writes)
        if welcomes is None:
            found = _decode(res.pop(0))
            if writes == self._writes:
                self._welcome_cache = (time.monotonic(), found)
            return live, found.get(store_id)
        return live, welcomes[1].get(store_id)

    async def drop_live(self, cid: str) -> None:
        """Remove a campaign that is no longer live from the claim indexes (lazy repair)."""
        meta = await self.campaign(cid)
        if meta is None or meta.get("state") != "live":
            async with self.r.pipeline(transaction=False) as pipe:
                for store in (self._scope_stores(meta) if meta else []) + ["*"]:
                    pipe.zrem(self.k.coupon_live(store), cid)
                pipe.zrem(self.k.coupon_live_all(), cid)
                await pipe.execute()
            self._changed()

    async def retire(self, cid: str) -> None:
        """Take a live campaign whose window has ended out of the claim indexes (it stays live for
        redemption and reminders until its codes have expired)."""
        meta = await self.campaign(cid)
        if meta is not None:
            async with self.r.pipeline(transaction=False) as pipe:
                for store in self._scope_stores(meta):
                    pipe.zrem(self.k.coupon_live(store), cid)
                await pipe.execute()
            self._changed()

    async def all_live(self) -> list[str]:
        return [_s(c) for c in await self.r.zrange(self.k.coupon_live_all(), 0, -1)]  # type: ignore[misc]

    # -- welcome coupon ------------------------------------------------------------------------
    async def set_welcome(self, store_id: str, cid: str | None) -> None:
        if cid is None:
            await self.r.hdel(self.k.coupon_welcome(), store_id)
        else:
            await self.r.hset(self.k.coupon_welcome(), store_id, cid)
        self._changed()

    async def mark_welcome(self, cid: str) -> None:
        """Flag a draft as the welcome coupon; confirming it then makes it the store's."""
        await self.r.hset(self.k.coupon_meta(cid), "welcome", "1")

    async def any_welcome(self) -> bool:
        return bool(await self._welcomes())

    async def welcome_of(self, store_id: str) -> str | None:
        return (await self._welcomes()).get(store_id)

    async def decide_greeting(self, store_id: str, shopper: str, now: float | None = None) -> bool:
        """True the first time; the first-talk welcome grant is then decided for [retention]
        customer_days (a shopper silent that long counts as new again)."""
        now = time.time() if now is None else now
        return bool(await self._greet(keys=[self.k.coupon_greeted(store_id)],
                                      args=[shopper, int(now), int(now - self.customer_keep)]))

    async def greeted(self, store_id: str, shopper: str) -> bool:
        return await self.r.zscore(self.k.coupon_greeted(store_id), shopper) is not None

    # -- claiming ------------------------------------------------------------------------------
    async def claim(self, cid: str, *, shopper: str, msg_id: str, now: float, day_end: int, store_id: str,
                    joined_at: int | None, target: str, new_code: Callable[[], str], defer: bool = False) -> Claim:
        """One claim on one campaign, in three steps that each touch one hash slot (so they run on
        a Redis Cluster too): reserve a fresh random code in the code index, let the campaign's
        script decide and issue it, then file it (its index entry's real removal time and the
        shopper's wallet), or give the reservation back when nothing was issued.

        Still exactly once per message: the decision is one atomic step in the campaign's slot and
        is stored under the message id, so a redelivered message gets "again" with the same code
        and the filing (idempotent) is repeated. A code is never given twice: the campaign issues
        only a code this attempt reserved, and a reservation is refused for a code any campaign
        holds. A crash before the filing leaves the message un-acked, so the redelivery files it;
        until then the code is findable by its reservation, which outlives any code. A crash
        that leaves a reservation nothing issued costs an index entry that answers "unknown".

        `defer`: the third step rides on the message's ack (store/lua.py `later`) instead of a round
        trip of its own. Only for a caller whose redelivery always claims again (so "again" files
        what a crash before the ack left unfiled), e.g. 领券; not one that a greeting mark written
        at once may stop from claiming again."""
        k = self.k
        reserved = self._reserved.pop((shopper, cid), None) if defer else None
        for _ in range(CODE_TRIES):
            if reserved is not None:  # reserved with the claim's inputs (claim_inputs)
                code, reserved = reserved, None
                index = [k.coupon_code_index(code), k.coupon_code_expiry(code)]
            else:
                code = new_code()
                call = self._reserve_call(cid, code, now)
                index = call.keys
                if not await call.run(self.r):
                    continue  # some campaign holds this code: draw another
            res = await self._claim(
                keys=[k.coupon_meta(cid), k.coupon_holders(cid), k.coupon_code(cid, code), k.coupon_claims(cid),
                      k.coupon_expiry(cid), k.coupon_log(cid)],
                args=[shopper, msg_id, code, int(now), day_end, store_id,
                      "" if joined_at is None else int(joined_at), target, cid, self.grace])
            status = _s(res[0])
            codes = _split(_s(res[1])) if len(res) > 1 else ()
            expires = tuple(int(float(x)) for x in _split(_s(res[2]))) if len(res) > 2 else ()
            calls = [] if status == "issued" else [self._release.call(index, [code, cid])]
            if status in ("issued", "again"):
                calls += self._file_calls(shopper, cid, codes[0], expires[0] if expires else int(now), now)
            if defer:
                await later(self.r, calls)
            else:
                await run_all(self.r, calls)
            if status == "collision":
                continue
            return Claim(cid, status, codes, expires)
        raise RuntimeError(f"no free code after {CODE_TRIES} tries; is the random source broken?")

    def _reserve_call(self, cid: str, code: str, now: float) -> Call:
        """Reserve `code` for campaign `cid` in the code index, with the latest removal time any code can have."""
        return self._reserve.call([self.k.coupon_code_index(code), self.k.coupon_code_expiry(code)],
                                  [code, cid, int(now) + (LONGEST_CODE_DAYS + 1) * DAY + self.grace])

    async def release_unclaimed(self, shopper: str) -> None:
        """Give back a code claim_inputs reserved for this shopper that no claim took (the campaign
        was no longer offered, or not asked for); with the message's ack while one is handled."""
        for key in [key for key in self._reserved if key[0] == shopper]:
            code = self._reserved.pop(key)
            await later(self.r, [self._release.call([self.k.coupon_code_index(code), self.k.coupon_code_expiry(code)],
                                                    [code, key[1]])])

    def _file_calls(self, shopper: str, cid: str, code: str, expires: int, now: float) -> list[Call]:
        """An issued code's index entry (with its removal time) and its wallet entry; idempotent."""
        gone_at = expires + self.grace
        keep_until = max(int(now) + self.customer_keep, gone_at)
        drop_before = int(now) - max(self.customer_keep, LONGEST_CODE_DAYS * DAY + self.grace)
        return [self._file.call([self.k.coupon_code_index(code), self.k.coupon_code_expiry(code)], [code, cid, gone_at]),
                self._wallet.call([self.k.coupon_wallet(shopper)], [f"{cid}|{code}", int(now), keep_until, drop_before])]

    # -- lookup and redemption -----------------------------------------------------------------
    async def lookup(self, code: str) -> str | None:
        """Campaign id of a canonical code, or None when no campaign issued it."""
        return _s(await self.r.hget(self.k.coupon_code_index(code), code))

    async def code_record(self, code: str) -> dict[str, str] | None:
        cid = await self.lookup(code)
        if cid is None:
            return None
        rec = await self.r.hgetall(self.k.coupon_code(cid, code))
        return _decode(rec) if rec else None

    async def redeem(self, code: str, *, store_id: str, order_no: str, by: str, now: float) -> Redemption:
        """Redeem a canonical, well-formed code once; idempotent on (code, order_no)."""
        cid = await self.lookup(code)
        if cid is None:
            return Redemption("unknown", code)
        k = self.k
        res = await self._redeem(keys=[k.coupon_meta(cid), k.coupon_code(cid, code), k.coupon_log(cid)],
                                 args=[code, store_id, order_no, by, int(now)])
        status = _s(res[0])
        if status in ("ok", "already_redeemed"):
            return Redemption(status, code, cid, repeat=_s(res[1]) == "1", redeemed_at=int(res[2]),
                              store=_s(res[3]) or "", order_no=_s(res[4]) or "")
        return Redemption(status, code, cid if status != "unknown" else None)  # type: ignore[arg-type]

    # -- a shopper's codes ---------------------------------------------------------------------
    async def wallet(self, shopper: str, limit: int = 30) -> list[dict[str, str]]:
        """The shopper's newest code records (each with 'campaign'), newest first."""
        members = [_s(m) for m in await self.r.zrevrange(self.k.coupon_wallet(shopper), 0, limit - 1)]
        pairs = [m.split("|", 1) for m in members if m and "|" in m]
        if not pairs:
            return []
        async with self.r.pipeline(transaction=False) as pipe:
            for cid, code in pairs:
                pipe.hgetall(self.k.coupon_code(cid, code))
            recs = await pipe.execute()
        return [_decode(r) for r in recs if r]

    # -- expiry reminders ----------------------------------------------------------------------
    async def expiring(self, start: int, end: int) -> list[dict[str, str]]:
        """Records of issued codes of live campaigns expiring within [start, end].

        Also forgets (for this scan) campaigns with nothing left to remind: no code expiring from
        `start` on and no code left to issue (sold out or window ended).
        """
        out: list[dict[str, str]] = []
        for cid in await self.all_live():
            exp = self.k.coupon_expiry(cid)
            codes = [_s(c) for c in await self.r.zrangebyscore(exp, start, end)]
            if not codes:
                if not await self.r.zcount(exp, start, "+inf"):
                    total, issued, ends_at = await self.r.hmget(self.k.coupon_meta(cid), "total", "issued", "ends_at")
                    if int(issued or 0) >= int(total or 0) or (ends_at and int(ends_at) < start):
                        await self.r.zrem(self.k.coupon_live_all(), cid)
                        await self.settle(cid, start)  # nothing left to issue or remind
                continue
            async with self.r.pipeline(transaction=False) as pipe:
                for code in codes:
                    pipe.hgetall(self.k.coupon_code(cid, code))
                recs = await pipe.execute()
            out.extend(d for d in map(_decode, recs) if d.get("state") == "issued")
        return out

    async def mark_reminded(self, records: Iterable[dict[str, str]], value: str) -> None:
        async with self.r.pipeline(transaction=False) as pipe:
            for rec in records:
                pipe.hset(self.k.coupon_code(rec["campaign"], rec["code"]), "reminded", value)
            await pipe.execute()

    async def touch_seen(self, shopper: str, target: str, now: float) -> None:
        """Record that a kf shopper just wrote (from `target` = 'open_kfid:external_userid').
        Only the reminder job reads it, so while a message is handled it waits for the ack."""
        await later(self.r, [self._set_ex.call([self.k.coupon_seen(shopper)], [f"{int(now)}|{target}", SEEN_TTL])])

    async def seen(self, shopper: str) -> tuple[int, str] | None:
        """(time, kf target) of the shopper's last message, if within the kf reply window."""
        v = _s(await self.r.get(self.k.coupon_seen(shopper)))
        if not v:
            return None
        ts, _, target = v.partition("|")
        return int(ts), target

    # -- guide conversation state --------------------------------------------------------------
    async def set_draft(self, userid: str, cid: str) -> None:
        await self.r.set(self.k.coupon_draft(userid), cid, ex=CONFIRM_WINDOW)

    async def draft(self, userid: str) -> str | None:
        return _s(await self.r.get(self.k.coupon_draft(userid)))

    async def clear_draft(self, userid: str) -> None:
        await self.r.delete(self.k.coupon_draft(userid))

    async def memo(self, msg_id: str) -> str | None:
        return _s(await self.r.get(self.k.coupon_msg(msg_id)))

    async def remember(self, msg_id: str, value: str) -> str:
        """Record what a message did; returns what the first attempt recorded if there was one."""
        key = self.k.coupon_msg(msg_id)
        if await self.r.set(key, value, nx=True, ex=MEMO_TTL):
            return value
        return _s(await self.r.get(key)) or value

    # -- audit ---------------------------------------------------------------------------------
    async def events(self, cid: str, count: int = 1000) -> list[dict[str, str]]:
        """The campaign's issue/redeem/live/stop log, oldest first."""
        return [_decode(f) for _, f in await self.r.xrange(self.k.coupon_log(cid), count=count)]

    async def ledger_counts(self, cid: str) -> dict[str, int]:
        """Counts recomputed from the ledger itself (holders and code records), not the counters."""
        holders = await self.r.hgetall(self.k.coupon_holders(cid))
        codes = [c for v in holders.values() for c in _split(_s(v))]
        redeemed = 0
        if codes:
            async with self.r.pipeline(transaction=False) as pipe:
                for code in codes:
                    pipe.hget(self.k.coupon_code(cid, code), "state")
                states = await pipe.execute()
            redeemed = sum(1 for s in states if _s(s) == "redeemed")
        return {"issued": len(codes), "holders": len(holders), "redeemed": redeemed,
                "expiry_entries": int(await self.r.zcard(self.k.coupon_expiry(cid)))}

