"""Baseline servers for bench/callback_load.py, each run in its own process.

bare:  an aiohttp handler that only reads the body and answers 200.
naive: wechatpy decrypt + parse_message + XADD, the straightforward way to write the callback.
"""
from __future__ import annotations

import sys

from aiohttp import web


def bare(port: int) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/wecom/app", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def naive(port: int, redis_url: str, token: str, key: str, corp_id: str) -> None:
    from redis.asyncio import Redis
    from wechatpy.enterprise import parse_message
    from wechatpy.enterprise.crypto import WeChatCrypto

    crypto = WeChatCrypto(token, key, corp_id)
    redis = Redis.from_url(redis_url)

    async def handle(request: web.Request) -> web.Response:
        q = request.query
        xml = crypto.decrypt_message(await request.read(), q["msg_signature"], q["timestamp"], q["nonce"])
        msg = parse_message(xml)
        await redis.xadd("bench:naive", {"id": str(msg.id), "xml": xml}, maxlen=100000, approximate=True)
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/wecom/app", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "bare":
        bare(int(args[0]))
    else:
        naive(int(args[0]), *args[1:])
