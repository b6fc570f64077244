"""A reader process for test_kill.py: drains the fake archive into the inbox, then exits 0.
argv: redis_url prefix fake_base_url key_file."""
from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace

from bot.archive.reader import ArchiveReader
from store import Store, connect
from tests.archive.conftest import archive_config


async def main(redis_url: str, prefix: str, base: str, key_file: str) -> int:
    cfg = archive_config(prefix, SimpleNamespace(base_url=base), key_file)
    redis = connect(redis_url)
    store = Store(redis, prefix=prefix, partitions=2)
    reader = ArchiveReader(cfg, store, owner="killable-reader")
    try:
        assert await reader.state.claim(reader.owner, 60_000)
        while await reader.drain():
            pass
    finally:
        await reader.sdk.stop()
        await redis.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
