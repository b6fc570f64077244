"""When a conversation's greeting, thanks or "好的" was last answered, so each is answered once a while."""
from __future__ import annotations

from redis.asyncio import Redis

from store.keys import Keys
from store.lua import bind


class SmallTalk:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.k = keys
        self._turn = bind(redis, "smalltalk_turn")

    async def turn(self, conversation: str, kind: str, msg_id: str, every_seconds: int) -> bool:
        return bool(await self._turn(keys=[self.k.smalltalk(conversation, kind)],
                                     args=[msg_id, max(1, every_seconds)]))
