"""The reader's side of the SDK child: start it, talk frames to it, restart it when it dies.

Every call has a deadline; a child that dies (the native SDK aborting on a malformed item) or
stops answering is killed and started again on the next call, and the call says so (ChildDied)
instead of hanging the reader.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bot import metrics
from bot.archive import protocol

log = logging.getLogger(__name__)
ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding the bot package


class SdkError(Exception):
    """The SDK answered with an error (errcode `code`, e.g. 10001 network, 10009 untrusted IP)."""

    def __init__(self, kind: str, code: int = 0, detail: str = "") -> None:
        super().__init__(f"{kind} {code or ''} {detail}".strip())
        self.kind, self.code, self.detail = kind, code, detail


class ChildDied(Exception):
    """The SDK child exited or stopped answering in the middle of a call."""


class SdkProcess:
    def __init__(self, init: dict[str, Any], *, call_timeout: float = 60.0) -> None:
        self.init = {**init, "op": "init"}
        self.call_timeout = call_timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.pid = 0
        self._lock = asyncio.Lock()

    async def _start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.archive.child", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT)
        try:
            resp = await self._exchange(self.init)
        except ChildDied:
            await self._kill()
            raise
        if not resp.get("ok"):
            await self._kill()
            raise SdkError(str(resp.get("error")), int(resp.get("code") or 0), str(resp.get("detail") or ""))
        self.pid = int(resp.get("pid") or 0)

    async def _ensure(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            return
        if self.proc is not None:  # it died since the last call
            await self._reap()
        await self._start()

    async def _exchange(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(protocol.encode(req))
            await self.proc.stdin.drain()
            return await asyncio.wait_for(protocol.read(self.proc.stdout), self.call_timeout)
        except (EOFError, protocol.FrameError, ConnectionError, asyncio.TimeoutError) as exc:
            await self._died(exc)
            raise ChildDied(type(exc).__name__) from None

    async def _died(self, why: BaseException) -> None:
        self.restarts += 1
        metrics.ARCHIVE_SDK_RESTARTS.inc()
        await self._kill()
        log.warning("archive SDK child (pid %s) died or hung (%s, exit %s); it is restarted on the next call",
                    self.pid, type(why).__name__, self.proc.returncode if self.proc else None)

    async def call(self, req: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            await self._ensure()
            resp = await self._exchange(req)
        if not resp.get("ok"):
            raise SdkError(str(resp.get("error")), int(resp.get("code") or 0), str(resp.get("detail") or ""))
        return resp

    async def ping(self) -> int:
        return int((await self.call({"op": "ping"})).get("pid") or 0)

    async def pull(self, seq: int, limit: int) -> list[dict[str, Any]]:
        return list((await self.call({"op": "pull", "seq": seq, "limit": limit}))["items"])

    async def decrypt(self, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        """Results for `items` in order, one per item answered; (results, died): when the child died,
        the results stop at the item it died on (that item has no result)."""
        async with self._lock:
            await self._ensure()
            assert self.proc and self.proc.stdin and self.proc.stdout
            req = {"op": "decrypt", "items": [{"i": n, "ver": it.get("publickey_ver"),
                                                "key": it.get("encrypt_random_key"),
                                                "msg": it.get("encrypt_chat_msg")} for n, it in enumerate(items)]}
            results: list[dict[str, Any]] = []
            try:
                self.proc.stdin.write(protocol.encode(req))
                await self.proc.stdin.drain()
                while True:
                    frame = await asyncio.wait_for(protocol.read(self.proc.stdout), self.call_timeout)
                    if frame.get("done"):
                        return results, False
                    if frame.get("i") != len(results):
                        raise protocol.FrameError("decrypt results out of order")
                    results.append(frame)
            except (EOFError, protocol.FrameError, ConnectionError, asyncio.TimeoutError) as exc:
                await self._died(exc)
                return results, True

    async def _reap(self) -> None:
        if self.proc is not None:
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                pass
            self.proc = None

    async def _kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        await self._reap()

    async def stop(self) -> None:
        async with self._lock:
            if self.proc is not None and self.proc.returncode is None and self.proc.stdin:
                self.proc.stdin.close()  # EOF: the child exits by itself
                try:
                    await asyncio.wait_for(self.proc.wait(), 3)
                except asyncio.TimeoutError:
                    pass
            await self._kill()


def init_request(cfg, keys: dict[int, str]) -> dict[str, Any]:
    a = cfg.archive
    return {"sdk": a.sdk, "corp_id": cfg.wecom.corp_id, "secret": a.secret, "proxy": a.proxy,
            "passwd": a.proxy_password, "timeout": a.sdk_timeout_seconds, "fake_url": a.fake_url,
            "keys": {str(v): pem for v, pem in keys.items()}}
