"""Checks the keys a test left in Redis against the retention declared in store/keys.py."""
from __future__ import annotations

import inspect
import re

from store.keys import Keys, families


def kept_patterns(prefix: str) -> dict[str, re.Pattern]:
    """A regex per `kept` family, built by calling its method with one marker character per argument."""
    keys = Keys(prefix)
    out = {}
    for name, retention in families().items():
        if retention is None or retention.kind != "kept":
            continue
        fn = getattr(keys, name)
        params = list(inspect.signature(fn).parameters)
        markers = [chr(0xE000 + i) for i in range(len(params))]
        pattern = re.escape(fn(*markers))
        for m in markers:
            pattern = pattern.replace(re.escape(m), "(.+)")
        out[name] = re.compile(pattern)
    return out


async def unbounded_keys(redis, prefix: str) -> list[str]:
    """Keys under `prefix` with no TTL that no `kept` family explains."""
    patterns = list(kept_patterns(prefix).values())
    keys = [k.decode() async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    bad = []
    for i in range(0, len(keys), 1000):
        batch = keys[i:i + 1000]
        async with redis.pipeline(transaction=False) as pipe:
            for k in batch:
                pipe.pttl(k)
            ttls = await pipe.execute()
        bad += [k for k, t in zip(batch, ttls) if t == -1 and not any(p.fullmatch(k) for p in patterns)]
    return sorted(bad)
