"""Redis round trips and CPU per outbox entry in the send stage (read, gate, send, bookkeeping, ack).

Runs the real Sender and outbox PartitionConsumer against the fake WeCom API (in this process, on a
loopback port) and a real Redis (REDIS_URL, else 127.0.0.1:6379), with its own key prefix. A
round trip is one request written to a Redis connection (a command, or a whole pipeline); they
are counted by wrapping redis-py's Connection.send_packed_command, with the command names (a new
connection's HELLO/CLIENT handshake is left out: it is not paid per entry).

Cases: kf single-part replies, app single-part replies, kf replies split into 3 parts. Baseline in
the same run: a minimal loop over the same number of entries (XREADGROUP + XACK, each awaited).

    python bench/send_roundtrips.py [--entries 300]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, web  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from redis.asyncio.connection import AbstractConnection  # noqa: E402

from bot import config as config_mod  # noqa: E402
from bot.consumer import PartitionConsumer  # noqa: E402
from bot.fakewecom import FakeWeCom, create_fake_app  # noqa: E402
from bot.sender import Sender  # noqa: E402
from bot.wecom_api import WeComClient  # noqa: E402
from handlers.shoppers.kf_send import kf_channel  # noqa: E402
from store import Store  # noqa: E402

COUNT: collections.Counter = collections.Counter()
_send = AbstractConnection.send_packed_command


SETUP = {"HELLO", "CLIENT", "AUTH", "SELECT"}  # a new connection's handshake: not per entry


async def _counting(self, command, check_health=True):
    chunks = command if isinstance(command, list) else [command]
    names = []
    for chunk in chunks:
        data = bytes(chunk) if not isinstance(chunk, bytes) else chunk
        for piece in data.split(b"*")[1:]:  # "*N\r\n$L\r\nNAME\r\n..." per command
            lines = piece.split(b"\r\n")
            if len(lines) > 2 and lines[1].startswith(b"$") and lines[2].isalpha():
                names.append(lines[2].decode().upper())
    if not names or not set(names) <= SETUP:
        COUNT["round trips"] += 1
        for name in names:
            COUNT[name] += 1
    return await _send(self, command, check_health)


AbstractConnection.send_packed_command = _counting


async def main(n: int, url: str) -> None:
    fake = FakeWeCom()
    runner = web.AppRunner(create_fake_app(fake))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    cfg = config_mod.from_dict({"redis": {"prefix": prefix}, "worker": {"partitions": 4},
                                "wecom": {"corp_id": "wwbench", "api_base": f"http://127.0.0.1:{port}",
                                          "app": {"agent_id": 1, "secret": "s"}}})
    redis = Redis.from_url(url)
    store = Store(redis, prefix=prefix, partitions=4)
    await store.outbox.ensure_groups()
    async with ClientSession() as http:
        api = WeComClient(http, redis, store.keys, corp_id="wwbench", api_base=f"http://127.0.0.1:{port}")
        sender = Sender(cfg, store, api)
        sender.register("kf", kf_channel(cfg, store, api))
        consumer = PartitionConsumer(store.outbox, sender.handle, name="bench")
        await api.token("s")
        rows = []
        cases = [("kf, 1 part", "kf", "您好，草莓今天有货。"), ("app, 1 part", "app", "今日到货清单已更新。"),
                 ("kf, 3 parts", "kf", "\n".join("甲" * 600 for _ in range(3)))]
        for name, channel, text in cases:
            outs = []
            for i in range(n):
                user = f"wm{len(rows)}x{i}"
                to = f"wkB:{user}" if channel == "kf" else user
                if channel == "kf":
                    fake.kf_push("wkB", user, "在吗")
                    await store.kf.customer_wrote(f"kf:wkB:{user}", int(time.time()), f"m{i}")
                outs.append((f"{channel}:{to}", f"{name}:{i}", json.dumps(
                    {"channel": channel, "to": to, "msgtype": "text", "content": text, "origin": f"o{i}",
                     "id": f"{name}:o{i}#0"}, ensure_ascii=False)))
            for route, oid, data in outs:
                await store.outbox.put(route, oid, data)
            COUNT.clear()
            cpu = time.process_time()
            done = await consumer.drain()
            cpu = time.process_time() - cpu
            assert done == n, (name, done)
            rows.append((name, COUNT["round trips"] / n, cpu / n * 1e6, dict(COUNT)))
        # Baseline: the minimal stream loop over the same number of entries.
        base = f"{prefix}:base"
        await redis.xgroup_create(base, "g", id="0", mkstream=True)
        for i in range(n):
            await redis.xadd(base, {"d": "x"})
        COUNT.clear()
        cpu = time.process_time()
        while entries := await redis.xreadgroup("g", "c", {base: ">"}, count=50):
            for _, items in entries:
                for eid, _ in items:
                    await redis.xack(base, "g", eid)
        cpu = time.process_time() - cpu
        base_rt, base_cpu = COUNT["round trips"] / n, cpu / n * 1e6
    print(f"{n} entries per case; Redis {url}")
    print(f"{'case':<14}{'round trips/entry':>20}{'CPU µs/entry':>15}{'× baseline CPU':>16}")
    for name, rt, us, _ in rows:
        print(f"{name:<14}{rt:>20.2f}{us:>15.0f}{us / base_cpu:>16.1f}")
    print(f"{'baseline':<14}{base_rt:>20.2f}{base_cpu:>15.0f}{1:>16.1f}   (XREADGROUP + XACK each awaited)")
    for name, _, _, counts in rows:
        per = {k: round(v / n, 2) for k, v in sorted(counts.items()) if k != "round trips"}
        print(f"  {name}: commands per entry {per}")
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i:i + 500])
    await redis.aclose()
    await runner.cleanup()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--entries", type=int, default=300)
    p.add_argument("--redis", default=None)
    a = p.parse_args()
    import os
    asyncio.run(main(a.entries, a.redis or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))
