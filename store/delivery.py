"""The sender's own state: progress of split outbox entries, the check made before each part
(parked target, progress, send budgets, kf reply slot) in one round trip, refunds, dead letters."""
from __future__ import annotations

from redis.asyncio import Redis

from store.keys import DAY, Keys
from store.lua import Call
from store.packed import evalsha, roundtrip
from store.parking import Parking

DEAD_MAX = 50_000  # approximate cap of the outbox's dead letters at write time


class Delivery:
    def __init__(self, redis: Redis, keys: Keys, parking: Parking, name: str = "outbox") -> None:
        self.r, self.k, self.parking, self.name = redis, keys, parking, name

    async def parts_done(self, part: int, entry_id: str) -> int:
        """Parts of a split entry already delivered (kept only while it has more than one)."""
        return int(await self.r.get(self.k.parts_sent(part, entry_id)) or 0)

    async def set_parts_done(self, part: int, entry_id: str, n: int) -> None:
        await self.r.set(self.k.parts_sent(part, entry_id), n, ex=DAY)

    async def gate(self, part: int, route: str, *, check_parked: bool, done: tuple[str, int] | None,
                   takes: list[Call]) -> tuple[bool, list]:
        """One pipelined round trip before a part: is `route` parked (when asked), record `done`
        (entry id, parts delivered), and run the `takes` (budget and kf reply-slot scripts).
        Returns (parked, the takes' replies in order)."""
        commands: list = []
        if check_parked:
            commands.append(("ZSCORE", self.parking.due_key(part), route))
        if done is not None:
            commands.append(("SET", self.k.parts_sent(part, done[0]), done[1], "EX", DAY))
        commands += [evalsha(c) for c in takes]
        res = await roundtrip(self.r, commands)
        for r in res[:len(res) - len(takes)]:
            if isinstance(r, Exception):
                raise r
        parked = check_parked and res[0] is not None
        replies = [await c.settle(self.r, r) for c, r in zip(takes, res[len(res) - len(takes):])]
        return parked, [r.decode() if isinstance(r, bytes) else r for r in replies]

    async def refund_budget(self, scope: str, slots: list[tuple[str, str]]) -> None:
        """Give back budget slots (who, slot member) a send that did not happen had taken."""
        async with self.r.pipeline(transaction=False) as pipe:
            for who, member in slots:
                pipe.zrem(self.k.budget(scope, who), member)
            await pipe.execute()

    async def dead_letter(self, fields: dict[str, str]) -> None:
        """An outbox entry that gave up (data, reason, from, route, since) joins the dead letters."""
        await self.r.xadd(self.k.dead(self.name), fields, maxlen=DEAD_MAX, approximate=True)
