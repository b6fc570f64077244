"""`qunbot serve` as deployed: pinned keys only, role split, Redis URL forms, config errors."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection

from bot.app import create_app
from bot.appkeys import DEPS
from bot.config import ConfigError, from_dict, load
from bot.redis_server import find_binary
from store import connect
from tests import factories as f

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned_toml(port: int, api_base: str, redis_url: str, data_dir: Path) -> str:
    """Exactly the keys issue 2 pins, nothing else."""
    return f"""
[server]
host = "127.0.0.1"
port = {port}
[redis]
url = "{redis_url}"
data_dir = "{data_dir}"
[wecom]
corp_id = "{f.CORP_ID}"
api_base = "{api_base}"
max_skew_seconds = 300
[wecom.app]
agent_id = 1000002
secret = "s3cret"
token = "{f.APP_TOKEN}"
encoding_aes_key = "{f.APP_KEY}"
[wecom.aibot]
token = "{f.BOT_TOKEN}"
encoding_aes_key = "{f.BOT_KEY}"
[roles]
guides = ["xiaowang"]
buyers = []
admins = []
[admin]
token = "t"
"""


async def wait_for(cond, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 20)):
        if await cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("redis_kind", ["embedded", "url"])
async def test_pinned_keys_only_config_serves_and_answers(tmp_path, fake, redis_url, redis_kind):
    port = free_port()
    cfg = tmp_path / "pinned.toml"
    # The URL variant uses a database of its own: the pinned keys leave the key prefix at "qb".
    url = "" if redis_kind == "embedded" else urlsplit(redis_url)._replace(path="/13").geturl()
    cfg.write_text(pinned_toml(port, fake.base_url, url, tmp_path / "redis"))
    env = {**os.environ, "QUNBOT_CONFIG": str(cfg)}  # the config path from the environment, not -c
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async def healthy() -> bool:
                assert proc.poll() is None, proc.stderr.read().decode()
                try:
                    async with http.get(f"{base}/healthz") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False
            await wait_for(healthy)
            q, body = f.app_callback(f.text_xml("帮助", user="xiaowang"))
            async with http.post(f"{base}/wecom/app?{q}", data=body) as resp:
                assert resp.status == 200 and await resp.text() == ""

            async def replied() -> bool:
                return bool(fake.sent("message/send", ok=True))
            await wait_for(replied)
        assert "导购" in fake.sent("message/send", ok=True)[0].body["text"]["content"]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        if url:
            r = Redis.from_url(url)
            keys = [k async for k in r.scan_iter(match="qb:*", count=1000)]
            if keys:
                await r.delete(*keys)
            await r.aclose()
    assert code == 0
    if redis_kind == "embedded":
        assert not (tmp_path / "redis" / "redis.sock").exists()  # its Redis was shut down with it


async def test_web_and_worker_roles_split_the_work(aiohttp_client, redis, service_config, fake):
    web = await aiohttp_client(create_app(service_config, role="web", redis=redis))
    assert "worker" not in web.server.app[DEPS]  # the web role acks and stores, nothing more
    worker = await aiohttp_client(create_app(service_config, role="worker", redis=redis))
    assert "worker" in worker.server.app[DEPS]
    assert (await worker.post("/wecom/app", data=b"")).status == 404  # no callbacks on a worker
    assert (await worker.get("/healthz")).status == 200
    q, body = f.app_callback(f.text_xml("帮助", user="xiaowang"))
    assert (await web.post(f"/wecom/app?{q}", data=body)).status == 200

    async def replied() -> bool:
        return bool(fake.sent("message/send", ok=True))
    await wait_for(replied)
    assert "导购" in fake.sent("message/send", ok=True)[0].body["text"]["content"]


def test_redis_url_forms():
    tls = connect("rediss://qb:pa%40ss@redis.example:6380/3").connection_pool
    assert tls.connection_class is SSLConnection
    kw = tls.connection_kwargs
    assert (kw["host"], kw["port"], kw["username"], kw["password"], kw["db"]) == ("redis.example", 6380, "qb",
                                                                                  "pa@ss", 3)
    plain = connect("redis://:only-password@10.0.0.5/2").connection_pool.connection_kwargs
    assert (plain["password"], plain["db"], plain.get("port", 6379)) == ("only-password", 2, 6379)
    unix = connect("unix:///var/run/redis.sock?db=4").connection_pool
    assert unix.connection_class is UnixDomainSocketConnection and unix.connection_kwargs["db"] == 4


async def test_password_and_db_reach_a_real_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen([find_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--requirepass", "pw1", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = connect(f"redis://:pw1@127.0.0.1:{port}/5")
    try:
        async def up() -> bool:
            try:
                return await client.ping()
            except Exception:
                return False
        await wait_for(up, 10)
        await client.set("k", "v")
        other = Redis(port=port, password="pw1", db=5)
        assert await other.get("k") == b"v"
        await other.aclose()
        wrong = connect(f"redis://:nope@127.0.0.1:{port}/5")
        with pytest.raises(Exception, match="(?i)pass|auth"):
            await wrong.ping()
        await wrong.aclose()
    finally:
        await client.aclose()
        proc.terminate()
        proc.wait()


def test_environment_overrides_secrets_and_url(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(pinned_toml(8080, "http://x", "", tmp_path))
    c = load(cfg, environ={"QUNBOT_REDIS_URL": "redis://r:6379/1", "QUNBOT_WECOM_APP_SECRET": "from-env",
                           "QUNBOT_SERVER_PORT": "9090"})
    assert (c.redis.url, c.wecom.app.secret, c.server.port) == ("redis://r:6379/1", "from-env", 9090)
    # A feature section's secret too: the purchasing system's HMAC key stays out of the file.
    c = load(cfg, environ={"QUNBOT_DIGEST_PURCHASING_SECRET": "hmac-key"})
    assert c.section("digest")["purchasing_secret"] == "hmac-key"


@pytest.mark.parametrize("data, key", [
    ({"server": {"prot": 1}}, "server.prot"),
    ({"server": {"port": "eighty"}}, "server.port"),
    ({"roles": {"guides": "xiaowang"}}, "roles.guides"),
    ({"wecom": {"app": {"agent_id": []}}}, "wecom.app.agent_id"),
    ({"worker": {"partitions": True}}, "worker.partitions"),
    ({"demo": "maybe"}, "config.demo"),
])
def test_config_errors_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        from_dict(data)


def test_cli_config_error_exits_2_with_the_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[server]\nport = 'x'\n")
    res = subprocess.run([sys.executable, "-m", "bot", "-c", str(cfg), "serve"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2 and "server.port" in res.stderr


@pytest.mark.parametrize("argv", [["serve", "-c", "{cfg}"], ["-c", "{cfg}", "serve", "--role", "web"],
                                  ["check", "-c", "{cfg}"]])
def test_config_option_before_or_after_the_command(tmp_path, argv):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[server]\nport = 'x'\n")
    res = subprocess.run([sys.executable, "-m", "bot", *(a.format(cfg=cfg) for a in argv)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "server.port" in res.stderr, res.stderr


async def test_closing_the_client_closes_its_connections(redis_url):
    import uuid
    name = f"qb-close-{uuid.uuid4().hex[:8]}"
    client = connect(redis_url)
    await client.client_setname(name)
    other = Redis.from_url(redis_url)
    try:
        assert any(c["name"] == name for c in await other.client_list())
        await client.aclose()
        await asyncio.sleep(0.05)
        assert not any(c["name"] == name for c in await other.client_list())
    finally:
        await other.aclose()


async def test_metrics_endpoint_speaks_prometheus(service):
    resp = await service.client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert "qunbot_callbacks_total" in await resp.text()


async def test_two_workers_on_one_host_share_one_config_and_the_partitions(tmp_path, fake, redis_url, prefix):
    """`--role worker` binds no port, so a second worker with the same config starts; the two
    split the partitions, and SIGTERM drains one: its leases are released at once, not left to expire."""
    cfg = tmp_path / "w.toml"
    toml = pinned_toml(free_port(), fake.base_url, redis_url, tmp_path / "redis")
    toml = toml.replace("[wecom]\n", f'prefix = "{prefix}"\n[worker]\npartitions = 4\nlease_ms = 3000\n[wecom]\n', 1)
    cfg.write_text(toml)
    r = Redis.from_url(redis_url)

    async def holders() -> Counter:
        owners = [await r.get(f"{prefix}:{{inbox:{p}}}:lease") for p in range(4)]
        return Counter(o.decode().split("-")[-2] for o in owners if o)  # by pid

    procs = [subprocess.Popen([sys.executable, "-m", "bot", "serve", "--role", "worker", "-c", str(cfg)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        async def split() -> bool:
            for p in procs:
                assert p.poll() is None, p.stderr.read().decode()[-2000:]
            return sorted((await holders()).values()) == [2, 2]
        await wait_for(split, 30)
        procs[0].send_signal(signal.SIGTERM)
        assert procs[0].wait(timeout=20) == 0
        left = str(procs[1].pid)

        async def taken_over() -> bool:
            return await holders() == Counter({left: 4})
        await wait_for(taken_over, 4)  # well within one lease (3 s) plus a tick: released, not expired
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=20)
        keys = [k async for k in r.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await r.delete(*keys)
        await r.aclose()
