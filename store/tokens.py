"""WeCom access tokens shared by every process: the cached token, the one-refresher lock, and the
"gettoken refused this secret" pause (keys in store/keys.py, WeCom API client section)."""
from __future__ import annotations

import secrets

from redis.asyncio import Redis

from store.keys import Keys
from store.lua import bind

LOCK_MS = 10_000  # a refresher that holds the lock longer than this has died


class Tokens:
    def __init__(self, redis: Redis, keys: Keys, corp_id: str) -> None:
        self.r, self.k, self.corp_id = redis, keys, corp_id
        self._drop = bind(redis, "compare_and_delete")

    async def refused(self, secret: str) -> int | None:
        """The errcode gettoken answered for this secret lately, if it refused it."""
        v = await self.r.get(self.k.token_refused(self.corp_id, secret))
        return None if v is None else int(v)

    async def refuse(self, secret: str, errcode: int, pause: int) -> None:
        await self.r.set(self.k.token_refused(self.corp_id, secret), errcode, ex=pause)

    async def cached(self, secret: str) -> tuple[str | None, int]:
        """(the shared token or None, its seconds left), in one round trip."""
        key = self.k.token(self.corp_id, secret)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            token, ttl = await pipe.execute()
        return (token.decode() if token else None), int(ttl)

    async def lock(self, secret: str) -> str | None:
        """Become the one process that refreshes this token: the lock's owner value, or None."""
        owner = secrets.token_hex(8)
        ok = await self.r.set(self.k.token_lock(self.corp_id, secret), owner, nx=True, px=LOCK_MS)
        return owner if ok else None

    async def unlock(self, secret: str, owner: str) -> None:
        await self._drop(keys=[self.k.token_lock(self.corp_id, secret)], args=[owner])

    async def put(self, secret: str, token: str, ttl: int) -> None:
        await self.r.set(self.k.token(self.corp_id, secret), token, ex=ttl)

    async def drop(self, secret: str, token: str) -> None:
        """Forget the shared token if it is still this (rejected) one; a newer one stays."""
        await self._drop(keys=[self.k.token(self.corp_id, secret)], args=[token])
