"""Frames between the reader and its SDK child: a 4-byte big-endian length, then a JSON object.

Length-prefixed so a frame is never confused with the native library's own stdout noise (the
child moves that off the pipe), and bounded so a corrupt length cannot make either side allocate
gigabytes.
"""
from __future__ import annotations

import asyncio
import struct
from typing import Any, BinaryIO

import orjson

HEADER = struct.Struct(">I")
MAX_FRAME = 256 << 20  # a GetChatData page of 1000 items is a few MB; this is far beyond any


class FrameError(Exception):
    """The peer sent something that is not a frame (or closed mid-frame)."""


def encode(obj: dict[str, Any]) -> bytes:
    body = orjson.dumps(obj)
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes is over the limit")
    return HEADER.pack(len(body)) + body


def _decode(body: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"frame is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FrameError("frame is not a JSON object")
    return obj


async def read(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next frame; EOFError when the peer closed cleanly between frames (or died)."""
    try:
        head = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise EOFError from None
        raise FrameError("stream closed inside a frame header") from None
    (n,) = HEADER.unpack(head)
    if n > MAX_FRAME:
        raise FrameError(f"frame length {n} over the limit")
    try:
        return _decode(await reader.readexactly(n))
    except asyncio.IncompleteReadError:
        raise FrameError("stream closed inside a frame") from None


def read_sync(f: BinaryIO) -> dict[str, Any] | None:
    """Blocking read for the child; None on a clean EOF."""
    head = f.read(HEADER.size)
    if not head:
        return None
    if len(head) < HEADER.size:
        raise FrameError("stream closed inside a frame header")
    (n,) = HEADER.unpack(head)
    if n > MAX_FRAME:
        raise FrameError(f"frame length {n} over the limit")
    body = f.read(n)
    if len(body) < n:
        raise FrameError("stream closed inside a frame")
    return _decode(body)


def write_sync(f: BinaryIO, obj: dict[str, Any]) -> None:
    f.write(encode(obj))
    f.flush()
