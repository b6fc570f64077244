"""A few commands in one round trip, packed by hand: the kf pull's and the sender's fixed steps.

redis-py's pipeline spends most of a small round trip's CPU in Python: a connection checkout
with its own timeout, an encoder call per argument, a task per write (wait_for), a timeout per
reply and the response callbacks. For the kf pull's lock, page and cursor steps and the sender's
gate (a few commands each, on every shopper message) that was about half their cost. Here the
RESP buffer is built directly and the replies are read raw under one deadline, as the inbox's
group commit does (store/streams.py). Replies are in order; an error reply comes back as its
exception, as `pipeline.execute(raise_on_error=False)` gives it. Connection errors are retried as
redis-py retries a pipeline (the connection's Retry); a connection left half-read is dropped.

Replies are raw: no response callbacks (SET answers b"OK", not True; a script's reply is as
redis-py gives it anyway). On a Redis Cluster the commands go through the cluster pipeline.
"""
from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from redis.asyncio import RedisCluster
from redis.exceptions import DataError, ResponseError

from store.lua import Call, same_slot

Command = Sequence[Any]


def evalsha(call: Call) -> tuple:
    """A script call as an EVALSHA command (its NOSCRIPT reply is settled by `call.settle`)."""
    same_slot(call.keys, call.script.name)
    return ("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)


def _arg(v: Any) -> bytes:
    # What redis-py's Encoder accepts, encoded as it does (bools and other types refused).
    if isinstance(v, bytes):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(v).encode()
    raise DataError(f"Invalid input of type: '{type(v).__name__}'. Convert to a bytes, string, int or float first.")


def pack(commands: Sequence[Command]) -> bytes:
    out: list[bytes] = []
    for command in commands:
        out.append(b"*%d\r\n" % len(command))
        for v in command:
            b = _arg(v)
            out += (b"$%d\r\n" % len(b), b, b"\r\n")
    return b"".join(out)


async def exchange(pool: Any, conn: Any, buf: bytes, replies: int) -> list:
    """Write `buf` (`replies` packed commands) on `conn` and read their raw replies, an error reply
    as its exception; one deadline (the pool's socket timeout) for the batch, not one per reply."""
    await conn.send_packed_command(buf, check_health=False)
    out: list = []
    async with asyncio.timeout(pool.connection_kwargs.get("socket_timeout") or 10):
        for _ in range(replies):
            try:
                out.append(await conn.read_response(disable_decoding=True, timeout=math.inf))
            except ResponseError as exc:  # an error reply is read whole: the stream stays in sync
                out.append(exc)
    return out


async def roundtrip(redis: Any, commands: Sequence[Command]) -> list:
    """Send `commands` in one write and read their replies (errors as exception objects)."""
    if not commands:
        return []
    if isinstance(redis, RedisCluster):
        async with redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return await pipe.execute(raise_on_error=False)
    buf = pack(commands)
    pool = redis.connection_pool
    conn = await pool.get_connection()

    async def dropped(_error: BaseException) -> None:
        await conn.disconnect()

    try:
        return await conn.retry.call_with_retry(lambda: exchange(pool, conn, buf, len(commands)), dropped)
    except BaseException:
        await conn.disconnect()  # a half-read reply stream must not go back to the pool
        raise
    finally:
        await pool.release(conn)
