"""Redis for one-shot CLI commands: the configured URL, or the embedded server the demo uses."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Config
from bot.redis_server import EmbeddedRedis
from store import Store, connect


@asynccontextmanager
async def open_store(cfg: Config) -> AsyncIterator[Store]:
    embedded = None
    url = cfg.redis.url
    if not url:
        embedded = EmbeddedRedis(cfg.redis.data_dir)
        if embedded.answers():
            url, embedded = embedded.url, None  # the running service's Redis: share it, leave it running
        else:
            url = await embedded.astart()
    client = connect(url)
    try:
        yield Store(client, prefix=cfg.redis.prefix, partitions=cfg.worker.partitions,
                    dedupe_ttl=cfg.worker.dedupe_ttl_seconds, retention=cfg.retention)
    finally:
        await client.aclose()
        if embedded:
            await embedded.astop()
