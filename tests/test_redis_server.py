"""The embedded Redis: unix socket only, AOF everysec, restarted when it dies, never left behind."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.redis_server import EmbeddedRedis
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state


def _wait_dead(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emb")


async def test_socket_only_aof_everysec_and_clean_stop(data_dir):
    emb = EmbeddedRedis(data_dir)
    url = await emb.astart()
    assert url.startswith("unix://")
    r = Redis.from_url(url)
    try:
        assert (await r.config_get("port"))["port"] == "0"  # no TCP listener at all
        cfg = await r.config_get("append*")
        assert cfg["appendonly"] == "yes" and cfg["appendfsync"] == "everysec"
    finally:
        await r.aclose()
    pid = emb.proc.pid
    await emb.astop()
    assert _wait_dead(pid) and not emb.socket.exists()


async def test_a_second_server_on_the_same_data_dir_is_refused(data_dir):
    first = EmbeddedRedis(data_dir)
    await first.astart()
    try:
        with pytest.raises(RuntimeError, match="already answers"):
            await EmbeddedRedis(data_dir).astart()
        assert first.answers()
    finally:
        await first.astop()


async def test_killed_server_is_restarted_with_its_data(data_dir):
    emb = EmbeddedRedis(data_dir)
    url = await emb.astart()
    supervisor = asyncio.create_task(emb.supervise(interval=0.05))
    r = Redis.from_url(url)
    try:
        await r.xadd("inbox", {"d": "acked before the crash"})
        await asyncio.sleep(0.2)  # the AOF is written every event-loop turn, fsynced every second
        old = emb.proc.pid
        os.kill(old, signal.SIGKILL)
        for _ in range(200):
            await asyncio.sleep(0.05)
            if emb.proc.pid != old and emb.answers():
                break
        assert emb.proc.pid != old and emb.answers()
        entries = await r.xrange("inbox")  # the client reconnects by itself
        assert [e[1][b"d"] for e in entries] == [b"acked before the crash"]
    finally:
        supervisor.cancel()
        await r.aclose()
        await emb.astop()


def test_server_does_not_outlive_a_killed_qunbot(data_dir):
    code = ("import sys, time; from bot.redis_server import EmbeddedRedis; "
            f"e = EmbeddedRedis({str(data_dir)!r}); e.start(); print(e.proc.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait()
        assert _wait_dead(pid), "embedded redis-server was left running"
    finally:
        parent.kill()
        parent.wait()


async def test_service_starts_and_stops_its_own_redis(aiohttp_client, data_dir, prefix, fake):
    from bot.app import create_app
    cfg = make_config(prefix, fake.base_url, redis={"url": "", "data_dir": str(data_dir), "prefix": prefix})
    client = await aiohttp_client(create_app(cfg))
    probe = EmbeddedRedis(data_dir)
    assert probe.answers()
    # Healthy once its consumers made their first rounds (a moment after start on a busy machine).
    for _ in range(50):
        resp = await client.get("/healthz")
        if resp.status == 200:
            break
        await asyncio.sleep(0.2)
    assert resp.status == 200, await resp.text()
    await client.close()
    assert not probe.answers() and not probe.socket.exists()


async def test_redis_down_means_503_never_an_ack(aiohttp_client, data_dir, prefix, fake):
    """Nothing is acked that is not stored: with Redis gone, WeCom gets 503 and will retry."""
    from bot.app import create_app
    from store import connect
    from tests import factories as f
    from tests.conftest import _free_port
    emb = EmbeddedRedis(data_dir, port=_free_port(), appendonly=False)
    client = connect(emb.start())
    try:
        app = await aiohttp_client(create_app(make_config(prefix, fake.base_url), role="web", redis=client))
        assert (await app.get("/healthz")).status == 200
        emb.stop()
        assert (await app.get("/healthz")).status == 503
        q, body = f.app_callback(f.text_xml("帮助"))
        assert (await app.post(f"/wecom/app?{q}", data=body)).status == 503
    finally:
        emb.stop()
        await client.aclose()
