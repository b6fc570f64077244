"""A Redis that stops under load and comes back, with its data or empty: the web role answers 503
while it is down, the worker's loops ride it out, and every callback acked is answered exactly once.

Each test runs its own redis-server on a free port (never the shared one)."""
from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from bot.feature import Feature
from bot import metrics
from bot.app import create_app
from bot.message import Message, Reply
from bot.redis_server import EmbeddedRedis
from bot.router import Router
from store import connect
from tests import factories as f
from tests.conftest import _free_port, make_config

echo = Router("echo")


@echo.any_text()
async def say_back(msg: Message) -> Reply:
    return Reply("_raw.txt.j2", text=f"echo {msg.text}")


@pytest.fixture
def redis_dir():
    d = Path(tempfile.mkdtemp(prefix="qbr"))  # short: the unix socket path must stay under 100 bytes
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("keeps_data", [True, False], ids=["with-data", "empty"])
async def test_worker_rides_out_a_redis_restart_and_answers_each_acked_callback_once(
        aiohttp_client, fake, prefix, redis_dir, keeps_data):
    port = _free_port()
    server = EmbeddedRedis(redis_dir, port=port, appendonly=keeps_data)
    url = server.start()
    cfg = make_config(prefix, fake.base_url, redis={"url": url, "prefix": prefix},
                      worker={"partitions": 2, "lease_ms": 1500, "retry_after_ms": 300, "max_deliveries": 5})
    web_redis, worker_redis = connect(url), connect(url)
    web = await aiohttp_client(create_app(cfg, role="web", redis=web_redis))
    worker = await aiohttp_client(create_app(cfg, role="worker", redis=worker_redis, features=[Feature("echo", routers=[echo])]))
    acked: list[tuple[int, str]] = []  # (message number, phase)
    phase = "before"

    async def post(n: int) -> None:
        q, body = f.app_callback(f.text_xml(f"m{n}", user=f"u{n}", msg_id=n))
        try:
            resp = await web.post(f"/wecom/app?{q}", data=body)
        except Exception:
            return
        if resp.status == 200:
            acked.append((n, phase))
        else:
            assert resp.status == 503  # never a 500, never an ack of what was not stored

    def answers() -> Counter:
        return Counter(c.body["text"]["content"] for c in fake.sent("message/send", ok=True))

    try:
        n = 0
        for _ in range(40):
            n += 1
            await post(n)
            await asyncio.sleep(0.01)
        survived = metrics.LOOP_ERRORS.labels("inbox_poll")._value.get()
        await server.astop()  # SIGTERM: an AOF server has fsynced everything
        phase = "down"
        for _ in range(30):
            n += 1
            await post(n)
            await asyncio.sleep(0.05)
        assert (await worker.get("/healthz")).status == 503  # the worker says it is not working
        if not keeps_data:
            for p in redis_dir.iterdir():
                if p.suffix in (".aof", ".rdb") or p.is_dir():
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
        server = EmbeddedRedis(redis_dir, port=port, appendonly=keeps_data)
        await server.astart()
        phase = "after"
        for _ in range(40):
            n += 1
            await post(n)
            await asyncio.sleep(0.01)
        must = {f"echo m{i}" for i, ph in acked if keeps_data or ph == "after"}
        for _ in range(400):
            if must <= set(answers()):
                break
            await asyncio.sleep(0.05)
        got = answers()
        assert not [p for _, p in acked if p == "down"]  # nothing was acked while Redis was down
        assert sum(1 for _, p in acked if p == "after") == 40
        missing = sorted(must - set(got))
        assert not missing, f"acked but never answered: {missing[:10]}"
        dupes = {t: c for t, c in got.items() if c > 1}
        assert not dupes, f"answered more than once: {dupes}"
        for _ in range(100):  # health comes back once the loops have resumed
            if (await worker.get("/healthz")).status == 200:
                break
            await asyncio.sleep(0.05)
        assert (await worker.get("/healthz")).status == 200
        assert metrics.LOOP_ERRORS.labels("inbox_poll")._value.get() > survived  # counted, and survived
    finally:
        await worker.close()
        await web.close()
        await web_redis.aclose()
        await worker_redis.aclose()
        server.stop()
