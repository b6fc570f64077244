"""Reply frames for the 智能机器人 long connection, waiting in Redis for the process holding it.

Any worker may produce a reply, but only the lease holder (bot/aibot_ws.py) has the socket. So the
sender appends the frame here (durable: its outbox entry is acked only after this XADD) and the
holder reads it with a consumer group, sends it, and deletes it once WeCom acked the frame. An entry
read but not acked (the holder died, or the socket dropped before WeCom answered) stays pending and
is claimed again by the next holder, so a reply is never lost between processes; it may go out
twice, which the stream id makes harmless (the same stream id refreshes one bubble).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from store.keys import Keys

GROUP = "holder"
MAXLEN = 50_000  # far above any backlog a live connection leaves; a cap, never reached in practice


@dataclass(frozen=True)
class ReplyEntry:
    id: str
    frame: dict
    deliveries: int  # 1 on the first read, more when a previous holder read it without an ack


class ReplyQueue:
    def __init__(self, redis: Redis, keys: Keys, bot_id: str) -> None:
        self.r, self.key = redis, keys.aibot_ws_replies(bot_id)

    async def ensure_group(self) -> None:
        try:
            await self.r.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def put(self, frame: dict) -> str:
        entry = await self.r.xadd(self.key, {"f": json.dumps(frame, ensure_ascii=False)},
                                  maxlen=MAXLEN, approximate=True)
        return entry.decode() if isinstance(entry, bytes) else entry

    async def pending(self, consumer: str, count: int = 100) -> list[ReplyEntry]:
        """Entries a previous holder read and never acked: taken over, oldest first."""
        res = await self.r.xautoclaim(self.key, GROUP, consumer, min_idle_time=0, start_id="0-0", count=count)
        claimed = res[1] if len(res) > 1 else []
        ids = [eid for eid, fields in claimed if fields]
        counts: dict[str, int] = {}
        if ids:
            for p in await self.r.xpending_range(self.key, GROUP, min=ids[0], max=ids[-1], count=len(ids) + 10):
                counts[_s(p["message_id"])] = int(p["times_delivered"])
        return [ReplyEntry(_s(eid), json.loads(fields[b"f"]), counts.get(_s(eid), 2))
                for eid, fields in claimed if fields]

    async def read(self, consumer: str, block_ms: int, count: int = 50) -> list[ReplyEntry]:
        res = await self.r.xreadgroup(GROUP, consumer, {self.key: ">"}, count=count, block=block_ms)
        out = []
        for _, entries in res or []:
            out += [ReplyEntry(_s(eid), json.loads(fields[b"f"]), 1) for eid, fields in entries if fields]
        return out

    async def done(self, entry_id: str) -> None:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.xack(self.key, GROUP, entry_id)
            pipe.xdel(self.key, entry_id)
            await pipe.execute()


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
