"""微信客服 (kf) state: the pull cursor and its lock per kf account, the reply window per
conversation, cached nicknames and contact links.

The lock is a plain SET NX PX owned by a random token, renewed by its holder while it pulls. A
callback that finds it taken leaves a "pull again" flag (with its fresh sync token); the holder's
release script sees the flag and keeps the lock for one more round. So two callbacks close
together never pull the same window twice, and none is lost between the holder's last page and
its release. The cursor hash also keeps `through`: when the last complete drain started, so a
callback acked before that needs no pull of its own.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from store.keys import Keys
from store.lua import Call, bind
from store.packed import evalsha, roundtrip

DAY = 86400
AGAIN_TTL = 600  # a kf sync token lives 10 minutes; the flag is useless after that


@dataclass(frozen=True)
class Cursor:
    cursor: str  # "" before the first page
    since: int | None  # skip messages sent before this; None until first set


@dataclass(frozen=True)
class Begun:
    """What `begin` found: "covered" (a later complete drain queued it all), "taken" (the lock is
    ours: the cursor to start from and Redis's clock then) or "busy" (another puller holds it)."""
    state: str
    cursor: Cursor = Cursor("", None)
    now_ms: int = 0


@dataclass(frozen=True)
class Finished:
    """A drain's last save: "lost" (nothing saved), "released", or "again" (saved; the lock is kept
    for one more drain with `token`, starting at Redis time `now_ms`)."""
    state: str
    token: str = ""
    now_ms: int = 0


class KfState:
    REPLY_WINDOW = 48 * 3600
    REPLIES_PER_MESSAGE = 5

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._acquire = bind(redis, "kf_acquire")
        self._begin = bind(redis, "kf_begin")
        self._finish = bind(redis, "kf_finish")
        self._release = bind(redis, "kf_release")
        self._save = bind(redis, "kf_save")
        self._open = bind(redis, "kf_open_window")
        self._take = bind(redis, "kf_take_reply")
        self._drop = bind(redis, "compare_and_delete")
        self._renew = bind(redis, "compare_and_expire")

    # -- cursor and lock -------------------------------------------------------------------------
    async def cursor(self, open_kfid: str) -> Cursor:
        raw = await self.r.hgetall(self.k.kf_cursor(open_kfid))
        since = raw.get(b"since")
        return Cursor(raw.get(b"cursor", b"").decode(), int(since) if since else None)

    async def mark_start(self, open_kfid: str, since: int) -> bool:
        """Record when the bot started serving this kf account, the first time only."""
        return bool(await self.r.hsetnx(self.k.kf_cursor(open_kfid), "since", since))

    async def acquire(self, open_kfid: str, owner: str, ttl_ms: int, token: str) -> bool:
        res = await self._acquire(keys=[self.k.kf_lock(open_kfid), self.k.kf_again(open_kfid)],
                                  args=[owner, ttl_ms, token, AGAIN_TTL])
        return res == 1

    async def begin(self, open_kfid: str, owner: str, ttl_ms: int, token: str, received_ms: int | None) -> Begun:
        """acquire(), the `pulled_through` check for a callback received at `received_ms` (None:
        none) before it, and the cursor and `now_ms` after it, in one round trip."""
        call = self._begin.call([self.k.kf_lock(open_kfid), self.k.kf_again(open_kfid), self.k.kf_cursor(open_kfid)],
                                [owner, ttl_ms, token, AGAIN_TTL, "" if received_ms is None else received_ms])
        [reply] = await roundtrip(self.r, [evalsha(call)])
        res = await call.settle(self.r, reply)
        if res[0] == 2:
            return Begun("covered")
        if res[0] == 0:
            return Begun("busy")
        since = _s(res[2])
        return Begun("taken", Cursor(_s(res[1]), int(since) if since else None), int(res[3]))

    async def release(self, open_kfid: str, owner: str, ttl_ms: int) -> tuple[str, str]:
        """("again", token) when another pull was asked for meanwhile (lock kept), else ("released", "")
        or ("lost", "") when the lock expired under us."""
        res = await self._release(keys=[self.k.kf_lock(open_kfid), self.k.kf_again(open_kfid)], args=[owner, ttl_ms])
        if res[0] == 1:
            return "again", res[1].decode() if isinstance(res[1], bytes) else str(res[1])
        return ("released" if res[0] == 0 else "lost"), ""

    async def drop_lock(self, open_kfid: str, owner: str) -> None:
        await self._drop(keys=[self.k.kf_lock(open_kfid)], args=[owner])

    async def save(self, open_kfid: str, owner: str, ttl_ms: int, cursor: str, since: int,
                   through_ms: int | None = None, *, release: bool = False,
                   names: Sequence[tuple[dict[str, str], int]] = ()) -> bool | Finished:
        """Persist the cursor if we still hold the lock; False means another puller owns it now.
        `through_ms`, on a drain's last page: the Redis time that drain started at; with `release`
        that page also releases the lock (release() in the same step) and a `Finished` is returned.
        `names` (nicknames, ttl) learnt on the page are cached in the same round trip."""
        if release:
            call = self._finish.call([self.k.kf_lock(open_kfid), self.k.kf_cursor(open_kfid), self.k.kf_again(open_kfid)],
                                     [owner, ttl_ms, cursor, since, through_ms or 0])
        else:
            call = self._save.call([self.k.kf_lock(open_kfid), self.k.kf_cursor(open_kfid)],
                                   [owner, ttl_ms, cursor, since, "" if through_ms is None else through_ms])
        res = await self._with_names(call, names)
        if not release:
            return res == 1
        if res[0] == 1:
            return Finished("again", _s(res[1]), int(res[2]))
        return Finished("released" if res[0] == 0 else "lost")

    async def _with_names(self, call: Call, names: Sequence[tuple[dict[str, str], int]]) -> Any:
        """A script call, preceded in the same round trip by the nickname cache writes (no order needed)."""
        commands: list = [("SET", self.k.kf_name(user), name, "EX", ttl) for batch, ttl in names or ()
                          for user, name in batch.items()]
        commands.append(evalsha(call))
        res = await roundtrip(self.r, commands)
        for r in res[:-1]:
            if isinstance(r, Exception):
                raise r
        return await call.settle(self.r, res[-1])

    async def renew(self, open_kfid: str, owner: str, ttl_ms: int) -> bool:
        """Extend the pull lock while we hold it (a live puller keeps it; a dead one's expires)."""
        return bool(await self._renew(keys=[self.k.kf_lock(open_kfid)], args=[owner, ttl_ms]))

    async def again_pending(self, open_kfid: str) -> bool:
        """A "pull again" flag is waiting: no puller has taken it up yet."""
        return bool(await self.r.exists(self.k.kf_again(open_kfid)))

    async def now_ms(self) -> int:
        """Redis's clock, the one inbox entry ids are stamped with."""
        sec, usec = await self.r.time()
        return int(sec) * 1000 + int(usec) // 1000

    async def pulled_through(self, open_kfid: str) -> int:
        """When the last complete drain started (Redis ms): everything WeCom held then is queued."""
        return int(await self.r.hget(self.k.kf_cursor(open_kfid), "through") or 0)

    # -- reply window (48 h, 5 replies per customer message) -------------------------------------
    def customer_wrote_call(self, conversation: str, at: int, msgid: str = "") -> Call:
        """Open a fresh reply allowance (a call for `record_page`)."""
        return self._open.call([self.k.shopper(conversation, "win")], [at, self.REPLY_WINDOW + DAY, msgid])

    async def customer_wrote(self, conversation: str, at: int, msgid: str = "") -> None:
        await self.record_page([self.customer_wrote_call(conversation, at, msgid)])

    async def record_page(self, calls: list[Call], users: Sequence[str] = ()) -> dict[str, str]:
        """What one pulled kf page says about its conversations (reply windows, scenes), in one round
        trip, before any of its messages is queued; with it, the cached nicknames of `users` (as
        names() answers them)."""
        if not calls and not users:
            return {}
        # GETs, not one MGET: each shopper's key is its own hash slot
        res = await roundtrip(self.r, [*(evalsha(c) for c in calls), *(("GET", self.k.kf_name(u)) for u in users)])
        for c, r in zip(calls, res):
            await c.settle(self.r, r)
        vals = res[len(calls):]
        for v in vals:
            if isinstance(v, Exception):
                raise v
        return {u: v.decode() for u, v in zip(users, vals) if v is not None}

    def take_reply_call(self, conversation: str, now: float) -> Call:
        """take_reply, for a caller that sends it in its own pipeline."""
        return self._take.call([self.k.shopper(conversation, "win")], [int(now), self.REPLY_WINDOW,
                                                                       self.REPLIES_PER_MESSAGE])

    async def take_reply(self, conversation: str, now: float) -> str:
        c = self.take_reply_call(conversation, now)
        res = await c.run(self.r)
        return res.decode() if isinstance(res, bytes) else str(res)

    async def refund_reply(self, conversation: str) -> None:
        """A counted reply that WeCom never accepted (transport error) gives its slot back."""
        key = self.k.shopper(conversation, "win")
        if int(await self.r.hget(key, "replies") or 0) > 0:
            await self.r.hincrby(key, "replies", -1)

    # -- names and links ---------------------------------------------------------------------------
    async def names(self, external_userids: list[str]) -> dict[str, str]:
        if not external_userids:
            return {}
        # GETs in a pipeline, not one MGET: each shopper's key is its own hash slot, and a Redis
        # Cluster refuses a multi-key command across slots (a plain pipeline is split by slot).
        async with self.r.pipeline(transaction=False) as pipe:
            for u in external_userids:
                pipe.get(self.k.kf_name(u))
            vals = await pipe.execute()
        return {u: v.decode() for u, v in zip(external_userids, vals) if v is not None}

    async def remember_names(self, names: dict[str, str], ttl: int) -> None:
        if not names:
            return
        async with self.r.pipeline(transaction=False) as pipe:
            for user, name in names.items():
                pipe.set(self.k.kf_name(user), name, ex=ttl)
            await pipe.execute()

    async def link(self, open_kfid: str, scene: str) -> str | None:
        v = await self.r.get(self.k.kf_link(open_kfid, scene))
        return v.decode() if v else None

    async def remember_link(self, open_kfid: str, scene: str, url: str) -> None:
        await self.r.set(self.k.kf_link(open_kfid, scene), url, ex=30 * DAY)


def _s(v: bytes | str | int) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
