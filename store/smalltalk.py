"""When a conversation's greeting, thanks or "好的" was last answered, so each is answered once a while."""
from __future__ import annotations

from redis.asyncio import Redis

from store.keys import Keys

# KEYS[1] the conversation's marker for this kind; ARGV: message id, seconds. 1 when this message
# may be answered: none answered lately, or this very message was (a redelivery must answer again).
_TURN = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 1 end
return 0
"""


class SmallTalk:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.k = keys
        self._turn = redis.register_script(_TURN)

    async def turn(self, conversation: str, kind: str, msg_id: str, every_seconds: int) -> bool:
        return bool(await self._turn(keys=[self.k.smalltalk(conversation, kind)],
                                     args=[msg_id, max(1, every_seconds)]))
