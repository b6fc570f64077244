"""A second process holding the 智能机器人 connection, for the failover test: it takes the lease,
subscribes, prints "subscribed", and runs until it is killed (which releases nothing)."""
from __future__ import annotations

import asyncio
import sys

from bot.aibot_ws import Link
from bot.config import from_dict
from store import Store, connect


async def main(redis_url: str, prefix: str, ws_url: str, bot_id: str, secret: str) -> None:
    cfg = from_dict({"redis": {"url": redis_url, "prefix": prefix},
                     "wecom": {"aibot": {"mode": "websocket", "bot_id": bot_id, "secret": secret, "ws_url": ws_url,
                                         "heartbeat_seconds": 2.0, "lease_ms": 1500}}})
    redis = connect(redis_url)
    link = Link(cfg, Store(redis, prefix=prefix), owner="child-process")
    task = asyncio.create_task(link.run())
    await link.subscribed.wait()
    print("subscribed", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
