"""Archived group messages through decrypt -> inbox -> handlers, against a plain inbox put.

N archived messages of four store groups (a mix of 接龙 lines, product questions and chatter, and
one in eight from a group no store owns) are wrapped exactly as WeCom wraps them (RSA-2048 PKCS#1
v1.5 random keys, bot/archive/fake.py) and served by a fake archive in a process of its own, so its
CPU is not counted. Stages, each measured in this run:

- plain put:   the same messages, already decrypted, put into the inbox as the callback path puts
               them (inbox.put_batched, concurrent) — the baseline.
- ingest:      ArchiveReader.drain(): GetChatData pages of 1000, RSA + DecryptData in the SDK child,
               filtering, inbox put, cursor save. CPU of the reader process and of the SDK child.
- handlers:    every ingested inbox entry through Worker.handle (the deployed router list).

CPU is time.process_time() for this process and /proc/<pid>/stat for the SDK child, so the figures
hold on a busy machine; messages/s is wall time and is not.

    python bench/archive_ingest.py [--messages 20000]

Redis: REDIS_URL, else 127.0.0.1:6379 (keys under a fresh prefix, deleted at the end), else an
embedded server of its own.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402
from bench._procs import free_port, wait_port  # noqa: E402
from bench.handle_cost import build, config, generate, redis_url, seed  # noqa: E402
from bot.archive.fake import FakeArchive  # noqa: E402
from bot.archive.reader import ArchiveReader  # noqa: E402
from bot.config import Archive, ArchiveKey  # noqa: E402
from bot.message import Message  # noqa: E402
from store import connect  # noqa: E402

SECRET = "bench-archive-secret"
LINES = ("+1", "+2 3栋502", "接龙 2份", "车厘子多少钱", "有没有蓝莓", "鸡蛋多少钱一盒", "好的谢谢", "今天几点关门",
         "收到", "我要两份")
STORES = 4


def child_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(items_file: str, port: int) -> None:
    """The fake archive's HTTP side, in its own process (its CPU is WeCom's, not ours)."""
    from aiohttp import web

    from bot.archive.fake import install
    archive = FakeArchive(secret=SECRET)
    archive.items = json.loads(Path(items_file).read_text())
    app = web.Application()
    install(app, archive)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def make_items(n: int, key_pem_path: Path, groups: list[str]) -> tuple[list[dict], list[Message]]:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from bot.archive.keys import _generate
    _generate(key_pem_path)
    archive = FakeArchive(secret=SECRET)
    archive.set_key(1, load_pem_private_key(key_pem_path.read_bytes(), password=None))
    now = int(time.time() * 1000)
    plain: list[Message] = []
    for i in range(n):
        room = "wrNotOurs" if i % 8 == 7 else groups[i % len(groups)]
        user = f"wmBench{i % 500:06d}"
        msg = archive.say(room, user, LINES[i % len(LINES)], at_ms=now + i)
        if room != "wrNotOurs":
            plain.append(Message(id=f"plain-{msg['msgid']}", channel="archive", chat_type="group",
                                 conversation=room, chat_id=room, sender=user, sender_kind="customer",
                                 kind="text", text=msg["text"]["content"], time=msg["msgtime"] // 1000,
                                 raw={"store": "S01", "msgtype": "text", "seq": i + 1}))
    return archive.items, plain


async def main(args) -> None:
    logging.basicConfig(level=logging.ERROR)  # group replies have no destination yet: one warning each
    url, embedded = redis_url()
    prefix = f"bai{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="qb-archive-bench-"))
    base = config(prefix, STORES)
    groups = [f"wrBench{i:02d}" for i in range(1, STORES + 1)]
    stores = tuple(dataclasses.replace(s, groups=(groups[i],)) for i, s in enumerate(base.stores))
    port = free_port()
    cfg = dataclasses.replace(base, stores=stores, archive=Archive(
        enabled=True, sdk="fake", fake_url=f"http://127.0.0.1:{port}/sandbox/archive", secret=SECRET,
        keys=(ArchiveKey(1, file=str(tmp / "key.pem")),), batch=1000))
    t0 = time.process_time()
    items, plain_msgs = make_items(args.messages, tmp / "key.pem", groups)
    (tmp / "items.json").write_text(json.dumps(items))
    print(f"{args.messages} archived messages ({len(plain_msgs)} in store groups), wrapped in "
          f"{time.process_time() - t0:.1f} s CPU")
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(tmp / "items.json"), str(port)],
                              cwd=str(ROOT))
    client = connect(url)
    try:
        wait_port(port, server)
        worker = await build(client, cfg, prefix, handlers.ROUTERS)
        await seed(worker, cfg, generate(args.skus), [f"wmBench{i:06d}" for i in range(500)])
        store = worker.store

        # 1. baseline: a plain inbox put of the same messages, as the callback path does it
        t0, w0 = time.process_time(), time.perf_counter()
        for i in range(0, len(plain_msgs), 1000):
            chunk = plain_msgs[i:i + 1000]
            await asyncio.gather(*(store.inbox.put_batched(m.conversation, m.id, m.to_json()) for m in chunk))
        put_cpu, put_wall = time.process_time() - t0, time.perf_counter() - w0
        await drain_inbox(store)  # the baseline's entries are not handled

        # 2. ingest: pull, decrypt in the child, filter, inbox, cursor
        reader = ArchiveReader(cfg, store, owner="bench")
        assert await reader.state.claim(reader.owner, 600_000)
        await reader.sdk.ping()
        c0 = child_cpu(reader.sdk.pid)
        t0, w0 = time.process_time(), time.perf_counter()
        consumed = await reader.drain()
        ingest_cpu, ingest_wall = time.process_time() - t0, time.perf_counter() - w0
        kid_cpu = child_cpu(reader.sdk.pid) - c0
        await reader.sdk.stop()
        assert consumed == args.messages and reader.sdk.restarts == 0, (consumed, reader.sdk.restarts)

        # 3. handlers: every ingested entry through the deployed routers
        entries = await drain_inbox(store)
        assert len(entries) == len(plain_msgs), (len(entries), len(plain_msgs))
        t0, w0 = time.process_time(), time.perf_counter()
        for e in entries:
            await worker.handle(e)
        handle_cpu, handle_wall = time.process_time() - t0, time.perf_counter() - w0

        n = len(plain_msgs)
        us = lambda s: s / n * 1e6  # noqa: E731  (per kept message)
        print(f"\n{'stage':<34}{'CPU µs/msg':>12}{'msgs/s':>10}{'÷ plain put':>13}")
        print(f"{'plain inbox put (baseline)':<34}{us(put_cpu):>12.0f}{n / put_wall:>10.0f}{1:>13.1f}")
        print(f"{'ingest: reader process':<34}{us(ingest_cpu):>12.0f}{n / ingest_wall:>10.0f}"
              f"{ingest_cpu / put_cpu:>13.1f}")
        print(f"{'ingest: SDK child (RSA + decrypt)':<34}{us(kid_cpu):>12.0f}{'':>10}{kid_cpu / put_cpu:>13.1f}")
        print(f"{'handlers (Worker.handle)':<34}{us(handle_cpu):>12.0f}{n / handle_wall:>10.0f}"
              f"{handle_cpu / put_cpu:>13.1f}")
        total = ingest_cpu + kid_cpu + handle_cpu
        print(f"{'decrypt -> inbox -> handlers':<34}{us(total):>12.0f}"
              f"{n / (ingest_wall + handle_wall):>10.0f}{total / put_cpu:>13.1f}")
        print(f"\n(CPU per message kept; the {args.messages - n} messages of other groups were decrypted and "
              "dropped within the ingest figures)")
    finally:
        server.terminate()
        server.wait(10)
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
        for i in range(0, len(keys), 500):
            await client.delete(*keys[i:i + 500])
        await client.aclose()
        if embedded:
            embedded.stop()


async def drain_inbox(store):
    """Read every inbox entry as a worker would (and ack it), returning them in order per partition."""
    out = []
    for part in range(store.inbox.n):
        while True:
            got = await store.inbox.read_new(part, "bench", count=1000)
            if not got:
                break
            out += got
            await store.r.xack(store.inbox.key(part), "workers", *[e.id for e in got])
    return out


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--skus", type=int, default=500, help="catalog size for the Q&A router")
    asyncio.run(main(ap.parse_args()))
