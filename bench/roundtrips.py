"""Count Redis round trips: a redis-py asyncio connection that notes every packet it writes.

One `send_packed_command` is one request written and answered before the caller goes on: a plain
command, a whole pipeline (MULTI…EXEC included) or an EVALSHA. Tests and benchmarks read
`RoundTrips.count` (and `RoundTrips.log`, the command names of each packet) around the code they
measure:

    rt = RoundTrips()
    client = rt.client("redis://127.0.0.1:6379/0")
    before = rt.count
    await handle(...)
    print(rt.count - before, rt.log[-3:])
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

_NAME = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n(?:\$\d+\r\n([A-Za-z]+)\r\n)?")


class RoundTrips:
    def __init__(self, keep_log: bool = True) -> None:
        self.count = 0
        self.keep_log = keep_log
        self.log: list[tuple[str, ...]] = []

    def note(self, packet: Iterable[bytes] | bytes | str) -> None:
        self.count += 1
        if not self.keep_log:
            return
        raw = packet.encode() if isinstance(packet, str) else packet if isinstance(packet, bytes) else b"".join(packet)
        names = []
        for m in _NAME.finditer(raw):
            name = m.group(1).decode().upper()
            # SCRIPT EXISTS / CLIENT SETINFO read better with their subcommand.
            if name in ("SCRIPT", "CLIENT", "XINFO") and m.group(2):
                name += " " + m.group(2).decode().upper()
            names.append(name)
        self.log.append(tuple(names))

    def connection_class(self) -> type[Connection]:
        counter = self

        class Counted(Connection):
            async def send_packed_command(self, command, check_health: bool = True) -> None:
                counter.note(command)
                await super().send_packed_command(command, check_health)

        return Counted

    def client(self, url: str, **pool_kw) -> Redis:
        pool = ConnectionPool.from_url(url, connection_class=self.connection_class(), **pool_kw)
        return Redis.from_pool(pool)

    def since(self, mark: int) -> list[tuple[str, ...]]:
        """The packets written after `mark` (a former `count`)."""
        return self.log[mark:] if self.keep_log else []
