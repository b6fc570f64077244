"""aiohttp AppKeys: the typed slots of the application object."""
from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.config import Config
from bot.crypto import Crypto
from store import Store

CONFIG = web.AppKey("config", Config)
REDIS = web.AppKey("redis", Redis)
STORE = web.AppKey("store", Store)
HTTP = web.AppKey("http", aiohttp.ClientSession)
CRYPTO_APP = web.AppKey("crypto_app", Crypto | None)
CRYPTO_AIBOT = web.AppKey("crypto_aibot", Crypto | None)
DEPS = web.AppKey("deps", dict[str, Any])
FEATURES = web.AppKey("features", list)  # the bot.feature.Feature list this app was built from
# Worker role: its consumers and the supervised tasks running them (health checks read both).
CONSUMERS = web.AppKey("consumers", list)
DRAINING = web.AppKey("draining", dict)  # {"since": monotonic time} once shutdown began, else {}
