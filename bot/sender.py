"""Delivers outbox entries to WeCom: per-channel calls, split under byte limits, budgets, retries."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.config import Config
from bot.split import limit_for, split_text
from bot.wecom_api import RateLimited, Transient, WeComClient, WeComError
from store import Store
from store.streams import Entry

log = logging.getLogger(__name__)

Deliver = Callable[[dict, str], Awaitable[None]]
# errcodes that mean "this message can never be delivered"; retrying would only spam the API.
GIVE_UP = {95001, 95018, 41050, 41051, 81013, 84061, 40003, 60111, 46004, 40008, 44004, 82001, 40058}


def _recipient(out: dict) -> str:
    """Who an entry is for, fit for a log line: a webhook key and a response_url are credentials."""
    if out["channel"] == "webhook":
        return "webhook " + hashlib.sha1(out["to"].encode()).hexdigest()[:12]
    if out["channel"] == "aibot":
        return "aibot response_url"
    return f"{out['channel']} {out['to']}"


class Sender:
    def __init__(self, config: Config, store: Store, client: WeComClient) -> None:
        self.cfg, self.store, self.api = config, store, client
        self.app_secret = config.wecom.app.secret
        self.channels: dict[str, Deliver] = {
            "app": self._app, "appchat": self._appchat, "webhook": self._webhook,
            "aibot": self._aibot, "kf": self._kf,
        }

    def register(self, channel: str, deliver: Deliver) -> None:
        """Feature modules add channels (e.g. group_post) without the sender knowing them."""
        self.channels[channel] = deliver

    # -- outbox consumer entry point ---------------------------------------------------------
    async def handle(self, entry: Entry) -> None:
        out = json.loads(entry.data)
        deliver = self.channels.get(out["channel"])
        if deliver is None:
            await self.store.outbox.dead_letter(entry, f"unknown channel {out['channel']}")
            return
        parts = split_text(out["content"], limit_for(out["channel"], out["msgtype"])) if out.get("content") else []
        done_key = self.store.keys.parts_sent(entry.part, entry.id)
        done = int(await self.store.r.get(done_key) or 0)
        try:
            for i, part in enumerate(parts):
                if i < done:
                    continue  # delivered on an earlier try
                await self._with_retries(out, lambda p=part: deliver(out, p))
                await self.store.r.set(done_key, i + 1, ex=86400)
            if out.get("file"):
                await self._with_retries(out, lambda: self._file(out))
        except WeComError as exc:
            await self._give_up(entry, out, exc)

    async def _with_retries(self, out: dict, call: Callable[[], Awaitable[None]]) -> None:
        s = self.cfg.sender
        for attempt in range(1, s.max_attempts + 1):
            try:
                return await call()
            except RateLimited as exc:
                log.warning("%s rate-limited (%s) for %s; waiting %.1fs", exc.api, exc.errcode, _recipient(out),
                            s.backoff_seconds)
                await asyncio.sleep(s.backoff_seconds)
            except Transient as exc:
                if attempt == s.max_attempts:
                    raise
                delay = s.retry_base_seconds * 2 ** (attempt - 1)
                log.warning("%s transient failure (%s); retry %d in %.1fs", exc.api, exc, attempt, delay)
                await asyncio.sleep(delay)
        raise Transient(out["channel"], -1, "rate limit did not clear")

    async def _give_up(self, entry: Entry, out: dict, exc: WeComError) -> None:
        if isinstance(exc, Transient):
            raise exc  # left pending: the consumer retries it later, then dead-letters it
        if exc.fix:
            if await self.store.once(self.store.keys.reported(f"{exc.api}:{exc.errcode}"), 86400):
                log.error("WeCom configuration error on %s: errcode %s (%s). Fix: %s", exc.api, exc.errcode,
                          exc.errmsg, exc.fix)
        elif exc.errcode in GIVE_UP:
            log.info("not delivering to %s via %s: errcode %s %s", _recipient(out), exc.api, exc.errcode,
                     exc.errmsg)
        else:
            log.error("undeliverable outbox entry %s: %s", entry.id, exc)
        await self.store.outbox.dead_letter(entry, str(exc))

    async def _wait_budget(self, scope: str, who: str, limit: int) -> None:
        while (wait_ms := await self.store.budget.take(scope, who, limit)) > 0:
            await asyncio.sleep(wait_ms / 1000)

    # -- channels ----------------------------------------------------------------------------
    async def _app(self, out: dict, text: str, body: dict | None = None) -> None:
        for user in out["to"].split("|"):
            await self._wait_budget("app", user, self.cfg.sender.app_per_member_per_minute)
        msg = body or {out["msgtype"]: {"content": text}, "msgtype": out["msgtype"]}
        # Our own retries may resend the same JSON; WeCom drops duplicates within the interval.
        await self.api.call("message/send", secret=self.app_secret, json_body={
            "touser": out["to"], "agentid": self.cfg.wecom.app.agent_id, **msg,
            "enable_duplicate_check": 1, "duplicate_check_interval": 1800})

    async def _appchat(self, out: dict, text: str, body: dict | None = None) -> None:
        msg = body or {out["msgtype"]: {"content": text}, "msgtype": out["msgtype"]}
        await self.api.call("appchat/send", secret=self.app_secret, json_body={"chatid": out["to"], **msg})

    async def _webhook(self, out: dict, text: str, body: dict | None = None) -> None:
        await self._wait_budget("webhook", _recipient(out).split()[1],
                                self.cfg.sender.webhook_per_minute)
        msg = body or {"msgtype": out["msgtype"], out["msgtype"]: {"content": text}}
        await self.api.call("webhook/send", params={"key": out["to"]}, json_body=msg)

    async def _aibot(self, out: dict, text: str) -> None:
        await self.api.call(out["to"], json_body={"msgtype": "markdown", "markdown": {"content": text}})

    async def _kf(self, out: dict, text: str) -> None:
        open_kfid, _, user = out["to"].partition(":")
        await self.api.call("kf/send_msg", secret=self.app_secret, json_body={
            "touser": user, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": text}})

    async def _file(self, out: dict) -> None:
        f = out["file"]
        upload = (f["name"], base64.b64decode(f["b64"]))
        body: dict[str, Any]
        if out["channel"] == "webhook":
            res = await self.api.call("webhook/upload_media", params={"key": out["to"], "type": "file"}, upload=upload)
            body = {"msgtype": "file", "file": {"media_id": res["media_id"]}}
            await self._webhook(out, "", body)
            return
        res = await self.api.call("media/upload", secret=self.app_secret, params={"type": "file"}, upload=upload)
        body = {"msgtype": "file", "file": {"media_id": res["media_id"]}}
        if out["channel"] == "appchat":
            await self._appchat(out, "", body)
        else:
            await self._app(out, "", body)
