"""How many 群发 each customer group has received in the current quota period.

WeCom limits 群发 per customer group: by default as many per calendar month as the month has days;
an admin may switch the tenant to 7 per week or 1 per day. Each group keeps one hash per period
(post id -> record); a post takes a slot once (a redelivery finds its own slot), and a post whose
task WeCom refused gives its slot back.
"""
from __future__ import annotations

import calendar
import json
from datetime import datetime, timedelta

from redis.asyncio import Redis

from store.keys import DAY, Keys
from store.lua import bind

PERIODS = ("month", "week", "day")


def period_of(quota: str, local: datetime) -> tuple[str, int, int]:
    """(period name, posts allowed, seconds the record must live) of the period holding `local`."""
    if quota == "day":
        return local.strftime("%Y%m%d"), 1, 2 * DAY
    if quota == "week":
        year, week, _ = local.isocalendar()
        return f"{year}W{week:02d}", 7, 9 * DAY
    days = calendar.monthrange(local.year, local.month)[1]
    return local.strftime("%Y%m"), days, (days + 2) * DAY


def next_period_start(quota: str, local: datetime) -> datetime:
    """When the period holding `local` ends (local midnight)."""
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if quota == "day":
        return start + timedelta(days=1)
    if quota == "week":
        return start + timedelta(days=7 - local.weekday())
    days = calendar.monthrange(local.year, local.month)[1]
    return start + timedelta(days=days - local.day + 1)


class PostQuota:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.r, self.k = redis, keys
        self._claim = bind(redis, "post_quota_claim")

    async def claim(self, chat_id: str, period: str, limit: int, ttl: int, post_id: str,
                    record: dict) -> dict | None:
        """None when `post_id` may post to the group in `period`, else the latest post that used it up."""
        doc = json.dumps({**record, "post": post_id}, ensure_ascii=False)
        res = await self._claim(keys=[self.k.group_post_quota(chat_id, period)], args=[post_id, doc, limit, ttl])
        res = res.decode() if isinstance(res, bytes) else str(res)
        return json.loads(res) if res else None

    async def release(self, chat_id: str, period: str, post_id: str) -> bool:
        return bool(await self.r.hdel(self.k.group_post_quota(chat_id, period), post_id))

    async def used(self, chat_id: str, period: str) -> int:
        return int(await self.r.hlen(self.k.group_post_quota(chat_id, period)))
