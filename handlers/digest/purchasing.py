"""The purchasing system's copy of the digest: a signed JSON POST per (day, store scope).

Delivered as the sender channel "purchasing", so the outbox gives it durability and retries: the
outbox entry carries only the idempotency key "<day>:<scope>"; the body is stored in Redis when
the digest is queued (first write wins, so every retry posts the same bytes). Before posting,
the channel checks whether that key was already settled, and settles it after a 2xx (or a 409,
the receiver saying it has the key already) or a permanent refusal (another 4xx, logged as an
error), so no later run posts the key again.

Retries, with backoff at two levels: 5xx, 408, 429 and network errors are transient, so the
sender retries within seconds and the outbox redelivers within minutes, then dead-letters; and
the digest job queues the request again while it is unsettled, 5 minutes after the first try,
then at doubling gaps up to hourly, as long as the day is in the catch-up window.

Headers: `X-Qunbot-Signature: sha256=<hex HMAC-SHA256 of the body with [digest] purchasing_secret>`,
`Idempotency-Key: <day>:<scope>`, `Content-Type: application/json`.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

from bot.wecom_api import Transient, WeComError
from handlers.digest.settings import Settings

log = logging.getLogger(__name__)
CHANNEL = "purchasing"
TIMEOUT = 15.0
RETRY_FIRST, RETRY_MAX = 300, 3600  # seconds after the first queueing; doubling, then hourly


def retry_slot(elapsed: float) -> int:
    """How many job-level retries are due `elapsed` seconds after a request was first queued."""
    slot, due, gap = 0, RETRY_FIRST, RETRY_FIRST
    while due <= elapsed:
        slot += 1
        gap = min(gap * 2, RETRY_MAX)
        due += gap
    return slot


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def idempotency_key(day: str, scope: str) -> str:
    return f"{day}:{scope}"


def payload(digest: dict, day: str, scope: str) -> dict:
    """Order lines (SKUs with something to order) plus the whole digest for reference."""
    lines = [{"sku": r["sku"], "name": r["name"], "spec": r["spec"], "unit": r["unit"], "qty": r["qty"],
              "unmet_askers": r["unmet_askers"], "stock": r["stock"], "gap": r["gap"], "case": r["case"],
              "suggested": r["suggested"],
              "stores": [{"store": x["store"], "qty": x["qty"], "unmet_askers": x["unmet_askers"],
                          "stock": x["stock"], "gap": x["gap"]} for x in r["stores"] if x["gap"] > 0]}
             for r in digest["skus"] if r["suggested"] > 0 and r["sku"]]
    return {"idempotency_key": idempotency_key(day, scope), "date": day, "scope": scope,
            "cutoff": digest["cutoff"], "late": digest["late"], "order_lines": lines, "digest": digest}


def encode(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def channel(st: Settings, store, http: Any):
    """The sender channel function. `http` is an aiohttp ClientSession (the process's shared one)."""

    async def deliver(out: dict, text: str) -> None:
        key = out["to"]
        day, _, scope = key.partition(":")
        if await store.digest.settled(day, scope):
            log.info("purchasing request %s was settled before; not posting again", key)
            return
        body = await store.digest.request(day, scope)
        if body is None:
            log.error("purchasing request %s: body expired before it could be posted", key)
            return
        headers = {"Content-Type": "application/json", "Idempotency-Key": key,
                   "X-Qunbot-Signature": sign(st.purchasing_secret, body)}
        try:
            async with asyncio.timeout(TIMEOUT):
                async with http.post(st.purchasing_url, data=body, headers=headers) as resp:
                    status, answer = resp.status, (await resp.text())[:200]
        except (OSError, asyncio.TimeoutError) as exc:
            raise Transient(CHANNEL, -1, f"{key}: {type(exc).__name__} {exc}") from None
        except Exception as exc:  # aiohttp.ClientError and friends: handlers do not import aiohttp
            raise Transient(CHANNEL, -1, f"{key}: {type(exc).__name__} {exc}") from None
        if 200 <= status < 300 or status == 409:
            await store.digest.settle(day, scope, time.time(), status)
            log.info("purchasing request %s accepted (HTTP %s)", key, status)
            return
        if status >= 500 or status in (408, 429):
            raise Transient(CHANNEL, status, f"{key}: HTTP {status} {answer}")
        await store.digest.settle(day, scope, time.time(), status)
        log.error("purchasing system refused %s: HTTP %s %s", key, status, answer)
        raise WeComError(CHANNEL, status, f"{key}: HTTP {status} {answer}")

    return deliver
