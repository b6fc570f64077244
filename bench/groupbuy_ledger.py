"""接龙 throughput on a real Redis, each figure next to a baseline measured in the same run:

- the Lua ledger step (join / cancel on one hot 团) vs a bare Lua round trip (`return 1`) at the
  same concurrency: what the ledger's checks cost over Redis itself;
- the shopper parser alone (no baseline: pure Python, messages per second);
- a shopper message through the worker (inbox -> 接龙 routes -> parse + ledger -> receipt rendered
  into the outbox -> ack) vs the same consumer with a handler that does nothing: what 接龙
  handling costs over the queue plumbing.

    python bench/groupbuy_ledger.py [--messages 3000] [--concurrency 32]

REDIS_URL (default redis://127.0.0.1:6379/0); every key used carries a fresh prefix and is deleted
at the end. Figures are per second of wall time in this one process.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers  # noqa: E402,F401  (import order: handlers before store)
from bot.config import from_dict  # noqa: E402
from bot.consumer import PartitionConsumer  # noqa: E402
from bot.message import Message  # noqa: E402
from bot.router import Dispatcher  # noqa: E402
from bot.worker import Worker  # noqa: E402
from handlers.groupbuy import chat  # noqa: E402
from handlers.groupbuy.intents import GroupRef, parse_shopper  # noqa: E402
from store import Store, connect  # noqa: E402

TEXTS = ["+1", "+2 3栋502", "我要两盒", "改成3盒", "再加一盒", "取消", "帮我妈也报一份", "我报了几盒来着"]


async def run(n: int, conc: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    redis = connect(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), max_connections=conc + 8)
    store = Store(redis, prefix=prefix, partitions=8)
    gbs = store.groupbuys
    fields = {"product": "丹东99草莓", "unit": "盒", "price_fen": 3690, "cap": n // 2, "per_person": 4,
              "cutoff": time.time() + 3600, "pickup": "服务台", "store_id": "S01", "guide": "g", "aliases": ["草莓"]}
    try:
        # 1. the bare ledger step
        await gbs.create(1, fields, time.time())
        sem = asyncio.Semaphore(conc)

        async def step(i: int) -> None:
            async with sem:
                owner = f"wm{i % (n // 3)}"
                if i % 4 == 3:
                    await gbs.cancel(1, f"c{i}", time.time(), owner)
                else:
                    await gbs.join(1, f"j{i}", time.time(), owner, 1 + i % 3)
        t = time.perf_counter()
        await asyncio.gather(*(step(i) for i in range(n)))
        lua = n / (time.perf_counter() - t)

        bare_script = redis.register_script("return 1")

        async def bare(i: int) -> None:
            async with sem:
                await bare_script(keys=[store.keys.gb(1, "meta")], args=[f"b{i}"])
        await bare(0)  # load the script once
        t = time.perf_counter()
        await asyncio.gather(*(bare(i) for i in range(n)))
        bare_lua = n / (time.perf_counter() - t)

        # 2. the parser alone
        refs = [GroupRef(1, "丹东99草莓", ("草莓",), "盒")]
        parse_shopper("+1", refs)  # loads jieba once
        t = time.perf_counter()
        for i in range(n):
            parse_shopper(TEXTS[i % len(TEXTS)], refs)
        parse = n / (time.perf_counter() - t)

        # 3. through the worker: inbox -> parse -> Lua -> receipt in the outbox
        await gbs.create(2, {**fields, "store_id": "S02"}, time.time())
        await store.r.srem(store.keys.gb_open("S01"), 1)
        cfg = from_dict({"redis": {"prefix": prefix}, "stores": [{"id": "S02", "kf": "wk"}],
                         "roles": {"guides": ["g"]}})
        await store.inbox.ensure_groups()
        worker = Worker(cfg, store, Dispatcher([chat.router]), {"store": store, "config": cfg, "api": None})
        worker.deps["worker"] = worker

        def shopper_messages(tag: str) -> list[Message]:
            return [Message(id=f"{tag}{i}", channel="kf", conversation=f"kf:wk:wm{i % (n // 3)}",
                            sender=f"wm{i % (n // 3)}", sender_kind="customer", text=TEXTS[i % len(TEXTS)])
                    for i in range(n)]

        async def through(handle, tag: str) -> tuple[int, float]:
            for m in shopper_messages(tag):
                await store.inbox.put(m.conversation, m.id, m.to_json())
            consumer = PartitionConsumer(store.inbox, handle, name=f"bench-{tag}", batch=conc)
            t = time.perf_counter()
            done = await consumer.drain()
            rate = done / (time.perf_counter() - t)
            for part in range(store.inbox.n):  # hand the partitions to the next run
                await store.inbox.release(part, consumer.name)
            return done, rate

        async def nothing(entry) -> None:
            Message.from_json(entry.data)

        _, plumbing = await through(nothing, "noop")
        done, e2e = await through(worker.handle, "m")
        g = await gbs.get(2)
        print(f"messages            {n}  (concurrency {conc}, 8 partitions)")
        print(f"Lua ledger step     {lua:8.0f} /s   baseline bare Lua round trip {bare_lua:8.0f} /s   "
              f"ratio {lua / bare_lua:5.2f}")
        print(f"parse_shopper       {parse:8.0f} /s")
        print(f"worker end to end   {e2e:8.0f} /s   baseline no-op handler       {plumbing:8.0f} /s   "
              f"ratio {e2e / plumbing:5.2f}")
        print(f"                    ({done} handled; 团 total {g.total}/{g.cap}, waiting {g.waiting})")
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for i in range(0, len(keys), 500):
            await redis.delete(*keys[i:i + 500])
        await redis.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=32)
    a = ap.parse_args()
    asyncio.run(run(a.messages, a.concurrency))


if __name__ == "__main__":
    main()
