"""/healthz and /readyz tell the truth about a worker: consumers alive, inbox lag bounded."""
from __future__ import annotations

import asyncio

from bot.feature import Feature
from bot.app import create_app
from bot.appkeys import CONSUMERS
from bot.message import Message
from bot.router import Router
from tests.conftest import make_config

gate = asyncio.Event()
slow = Router("slowpoke")


@slow.any_text()
async def wait_for_gate(msg: Message) -> None:
    await gate.wait()


async def _status(client, path: str) -> tuple[int, dict]:
    resp = await client.get(path)
    return resp.status, await resp.json()


async def test_worker_health_fails_on_lag_and_on_a_dead_consumer(aiohttp_client, redis, prefix, fake):
    gate.clear()
    cfg = make_config(prefix, fake.base_url, worker={"partitions": 1, "lease_ms": 1500, "health_max_lag": 5})
    worker = await aiohttp_client(create_app(cfg, role="worker", redis=redis, features=[Feature("slow", routers=[slow])]))
    store = worker.server.app[CONSUMERS][0][0].stream
    status, body = await _status(worker, "/healthz")
    assert status == 200 and body["ok"] and body["checks"]["inbox_lag"]["lag"] == 0
    assert (await worker.get("/readyz")).status == 200

    for i in range(20):  # the first one blocks its conversation's handler; the rest queue up
        await store.put("conv", f"m{i}", Message(id=f"m{i}", channel="sandbox", conversation="conv",
                                                 sender="u", text="hi").to_json())
    for _ in range(100):
        status, body = await _status(worker, "/healthz")
        if status == 503:
            break
        await asyncio.sleep(0.05)
    assert status == 503 and body["failed"] == ["inbox_lag"] and body["checks"]["inbox_lag"]["lag"] > 5
    assert body["checks"]["inbox_consumer"]["ok"]  # alive, only behind

    gate.set()
    for _ in range(100):
        status, body = await _status(worker, "/healthz")
        if status == 200:
            break
        await asyncio.sleep(0.05)
    assert status == 200, body
    text = await (await worker.get("/metrics")).text()
    assert 'qunbot_handled_total{feature="slowpoke"} 20.0' in text
    assert 'qunbot_stream_lag{partition="0",stream="inbox"} 0.0' in text
    assert 'qunbot_partitions_held{stream="inbox"}' in text

    consumer, task = worker.server.app[CONSUMERS][0]
    task.cancel()  # a consumer that is gone, whatever the reason
    await asyncio.gather(task, return_exceptions=True)
    status, body = await _status(worker, "/healthz")
    assert status == 503 and "inbox_consumer" in body["failed"]
    assert "consumer task ended" in body["checks"]["inbox_consumer"]["problems"]
