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

from dataclasses import dataclass

from redis.asyncio import Redis

from store.keys import Keys

DAY = 86400
AGAIN_TTL = 600  # a kf sync token lives 10 minutes; the flag is useless after that

# KEYS: lock, again. ARGV: owner, ttl ms, token. 1 = lock taken; 0 = held by another (flag left).
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 0
"""

# KEYS: lock, again. ARGV: owner, ttl ms. {1, token} = go again (lock kept), {0} = released, {-1} = lost.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local again = redis.call('GET', KEYS[2])
if again then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, again}
end
redis.call('DEL', KEYS[1])
return {0}
"""

# KEYS: lock, cursor hash. ARGV: owner, ttl ms, cursor, since, through ms ("" mid-drain). Saves only
# while we hold the lock. `through` (when the last complete drain started) only moves forward.
_SAVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'cursor', ARGV[3], 'since', ARGV[4])
if ARGV[5] ~= '' and tonumber(redis.call('HGET', KEYS[2], 'through') or '0') < tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[2], 'through', ARGV[5])
end
return 1
"""

# KEYS: window hash. ARGV: customer message time, ttl, msgid. A re-pulled older message must not
# reset the count; two messages in the same second (send_time is in seconds) both do.
_OPEN = """
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local at = tonumber(ARGV[1])
if at > last or (at == last and redis.call('HGET', KEYS[1], 'msg') ~= ARGV[3]) then
  redis.call('HSET', KEYS[1], 'last', ARGV[1], 'replies', 0, 'msg', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""

# KEYS: window hash. ARGV: now, window seconds, max replies.
# 'ok' (counted), 'unknown' (no customer message seen: let WeCom decide), 'window', 'quota'.
_TAKE = """
local last = redis.call('HGET', KEYS[1], 'last')
if not last then return 'unknown' end
if tonumber(ARGV[1]) > tonumber(last) + tonumber(ARGV[2]) then return 'window' end
if tonumber(redis.call('HGET', KEYS[1], 'replies') or '0') >= tonumber(ARGV[3]) then return 'quota' end
redis.call('HINCRBY', KEYS[1], 'replies', 1)
return 'ok'
"""


@dataclass(frozen=True)
class Cursor:
    cursor: str  # "" before the first page
    since: int | None  # skip messages sent before this; None until first set


class KfState:
    REPLY_WINDOW = 48 * 3600
    REPLIES_PER_MESSAGE = 5

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._save = redis.register_script(_SAVE)
        self._open = redis.register_script(_OPEN)
        self._take = redis.register_script(_TAKE)

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

    async def release(self, open_kfid: str, owner: str, ttl_ms: int) -> tuple[str, str]:
        """("again", token) when another pull was asked for meanwhile (lock kept), else ("released", "")
        or ("lost", "") when the lock expired under us."""
        res = await self._release(keys=[self.k.kf_lock(open_kfid), self.k.kf_again(open_kfid)], args=[owner, ttl_ms])
        if res[0] == 1:
            return "again", res[1].decode() if isinstance(res[1], bytes) else str(res[1])
        return ("released" if res[0] == 0 else "lost"), ""

    async def drop_lock(self, open_kfid: str, owner: str) -> None:
        await self.r.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
                          "return 0", 1, self.k.kf_lock(open_kfid), owner)

    async def save(self, open_kfid: str, owner: str, ttl_ms: int, cursor: str, since: int,
                   through_ms: int | None = None) -> bool:
        """Persist the cursor if we still hold the lock; False means another puller owns it now.
        `through_ms`, on a drain's last page: the Redis time that drain started at."""
        res = await self._save(keys=[self.k.kf_lock(open_kfid), self.k.kf_cursor(open_kfid)],
                               args=[owner, ttl_ms, cursor, since, "" if through_ms is None else through_ms])
        return res == 1

    async def renew(self, open_kfid: str, owner: str, ttl_ms: int) -> bool:
        """Extend the pull lock while we hold it (a live puller keeps it; a dead one's expires)."""
        return bool(await self.r.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                      "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
                                      1, self.k.kf_lock(open_kfid), owner, ttl_ms))

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
    async def customer_wrote(self, conversation: str, at: int, msgid: str = "", pipe=None) -> None:
        """Open a fresh reply allowance; with `pipe`, queued on that pipeline instead of sent."""
        await self._open(keys=[self.k.shopper(conversation, "win")], args=[at, self.REPLY_WINDOW + DAY, msgid],
                         client=pipe)

    def take_reply_call(self, conversation: str, now: float):
        """(script, keys, args) of take_reply, for a caller that sends it in its own pipeline."""
        return self._take, [self.k.shopper(conversation, "win")], [int(now), self.REPLY_WINDOW,
                                                                   self.REPLIES_PER_MESSAGE]

    async def take_reply(self, conversation: str, now: float) -> str:
        script, keys, args = self.take_reply_call(conversation, now)
        res = await script(keys=keys, args=args)
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
        vals = await self.r.mget([self.k.kf_name(u) for u in external_userids])
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
