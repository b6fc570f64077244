"""Callback ack throughput and latency: qunbot vs a bare aiohttp handler (and a naive wechatpy one).

Each server runs in its own process on loopback; the load generator keeps C connections busy with
distinct, really signed and encrypted text-message callbacks for D seconds and reports requests/s
and p50/p99 ack latency. qunbot runs with --role web against a real Redis (REDIS_URL, else
127.0.0.1:6379, else an embedded one), so every ack includes the durable dedupe+XADD round trip.

    python bench/callback_load.py [--connections 32] [--seconds 8] [--requests 20000]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.crypto import Crypto  # noqa: E402
from bot.redis_server import EmbeddedRedis  # noqa: E402

TOKEN, KEY, CORP = "benchToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwbenchcorp00001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> tuple[str, EmbeddedRedis | None]:
    import redis
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        return url, None
    except Exception:
        server = EmbeddedRedis(tempfile.mkdtemp(prefix="qb-bench-"), port=free_port(), appendonly=False)
        return server.start(), server


def requests(n: int, port: int) -> list[bytes]:
    """n distinct signed callbacks (distinct MsgIds, so none is deduplicated away)."""
    crypto = Crypto(TOKEN, KEY, CORP)
    out = []
    ts = str(int(time.time()))
    for i in range(n):
        plain = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[user{i % 500}]]>"
                 f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                 f"<Content><![CDATA[草莓多少钱一盒 {i}]]></Content><MsgId>{10**12 + i}</MsgId>"
                 f"<AgentID>1000002</AgentID></xml>").encode()
        enc = crypto.encrypt(plain)
        nonce = str(i)
        body = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt>"
                f"<AgentID><![CDATA[1000002]]></AgentID></xml>").encode()
        path = f"/wecom/app?msg_signature={crypto.sign(ts, nonce, enc)}&timestamp={ts}&nonce={nonce}"
        out.append(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return out


async def _conn(port: int, reqs: list[bytes], idx: list[int], lat: list[float], errors: list[int],
                deadline: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and idx[0] < len(reqs):
            req = reqs[idx[0]]
            idx[0] += 1
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def load(port: int, reqs: list[bytes], connections: int, seconds: float) -> dict:
    idx, lat, errors = [0], [], []
    # Warm up (imports, jieba-free path, connection pools) before timing.
    await asyncio.gather(*(_conn(port, reqs[:200], [0], [], [], time.perf_counter() + 2) for _ in range(2)))
    start = time.perf_counter()
    await asyncio.gather(*(_conn(port, reqs, idx, lat, errors, start + seconds) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    lat.sort()
    return {"rps": len(lat) / elapsed, "p50": statistics.median(lat) * 1000,
            "p99": lat[int(len(lat) * 0.99) - 1] * 1000, "n": len(lat), "errors": len(errors)}


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def run_server(cmd: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--requests", type=int, default=120_000)
    args = ap.parse_args()
    url, embedded = redis_url()
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    results = {}
    try:
        for name in ("bare", "naive", "qunbot"):
            port = free_port()
            if name == "qunbot":
                cfg = Path(tempfile.mkdtemp()) / "bench.toml"
                cfg.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
[redis]
url = "{url}"
prefix = "{prefix}"
[wecom]
corp_id = "{CORP}"
[wecom.app]
token = "{TOKEN}"
encoding_aes_key = "{KEY}"
""")
                cmd = [sys.executable, "-m", "bot", "-c", str(cfg), "serve", "--role", "web"]
            elif name == "bare":
                cmd = [sys.executable, str(ROOT / "bench" / "_servers.py"), "bare", str(port)]
            else:
                cmd = [sys.executable, str(ROOT / "bench" / "_servers.py"), "naive", str(port), url, TOKEN, KEY, CORP]
            reqs = requests(args.requests, port)
            proc = run_server(cmd, port)
            try:
                results[name] = asyncio.run(load(port, reqs, args.connections, args.seconds))
            finally:
                proc.terminate()
                proc.wait()
    finally:
        import redis
        r = redis.Redis.from_url(url)
        for key in r.scan_iter(match=f"{prefix}:*", count=1000):
            r.delete(key)
        r.delete("bench:naive")
        if embedded:
            embedded.stop()
    print(f"callback ack benchmark: {args.connections} connections, {args.seconds:.0f}s each, Redis {url}")
    print(f"{'server':<8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8}")
    for name, r in results.items():
        print(f"{name:<8} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>8}")
    bare, ours = results["bare"], results["qunbot"]
    print(f"qunbot / bare throughput: {ours['rps'] / bare['rps']:.2f}  (target >= 0.50)")
    print(f"qunbot / naive throughput: {ours['rps'] / results['naive']['rps']:.2f}")
    print(f"qunbot p99 ack: {ours['p99']:.2f} ms  (target < 20 ms)")


if __name__ == "__main__":
    main()
