"""The sandbox's chat archive: WeCom's side (FakeArchive, served under the fake WeCom) and the SDK
side (FakeArchiveSdk, which the SDK child loads instead of pywecomarchive).

What is documented is done exactly as WeCom does it: each item carries `publickey_ver` and an
`encrypt_random_key` that is the base64 of RSA PKCS#1 v1.5 encryption of a fresh random key under
that version's public key; GetChatData(seq, limit) returns the items after `seq`; new messages
trigger a `msgaudit_notify` event on the app callback. The SDK's own message cipher is not
documented, so the fake uses its own (AES-GCM under SHA-256 of the random key), and, like the
native SDK, its DecryptData aborts the process on malformed input.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import string
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"FK1"
_ALPHABET = string.ascii_letters + string.digits
SECRET_HEADER = "X-Archive-Secret"


class FakeSdkError(Exception):
    """An SDK error code, as pywecomarchive's SdkCallError carries it (`code`)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"fake SDK error {code}")
        self.code = code


def seal(random_key: str, message: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    body = json.dumps(message, ensure_ascii=False).encode()
    return base64.b64encode(MAGIC + nonce + AESGCM(hashlib.sha256(random_key.encode()).digest())
                            .encrypt(nonce, body, MAGIC)).decode()


class FakeArchiveSdk:
    """Stands where pywecomarchive.WecomArchiveSdk stands: get_chat_data(seq, limit) and
    decrypt_data(encrypt_key, encrypt_msg), synchronous, errors carrying an SDK `code`."""

    def __init__(self, corpid: str, secret: str, *, url: str, proxy: str = "", passwd: str = "",
                 timeout: int = 5) -> None:
        if not url:
            raise FakeSdkError(10000)
        self.corpid, self.secret, self.url, self.timeout = corpid, secret, url.rstrip("/"), timeout

    def get_chat_data(self, seq: int = 0, limit: int = 1000) -> SimpleNamespace:
        if not 1 <= limit <= 1000:
            raise FakeSdkError(10000)
        q = urllib.parse.urlencode({"seq": seq, "limit": limit})
        req = urllib.request.Request(f"{self.url}/chatdata?{q}", headers={SECRET_HEADER: self.secret})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            raise FakeSdkError(10001) from None
        if data.get("errcode"):
            raise FakeSdkError(int(data["errcode"]))
        return SimpleNamespace(errcode=0, errmsg="ok", chatdata=data.get("chatdata") or [])

    def decrypt_data(self, encrypt_key: str, encrypt_msg: str, *, adapter: Any = None) -> Any:
        try:
            raw = base64.b64decode(encrypt_msg, validate=True)
        except ValueError:
            raw = b""
        if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + 12 + 16:
            os.abort()  # the native SDK's answer to malformed input: the whole process dies
        nonce, body = raw[3:15], raw[15:]
        try:
            plain = AESGCM(hashlib.sha256(encrypt_key.encode("latin-1")).digest()).decrypt(nonce, body, MAGIC)
        except InvalidTag:
            raise FakeSdkError(10006) from None  # 解密失败: wrong random key
        value = json.loads(plain)
        return adapter.validate_python(value, strict=True) if adapter is not None else value


@dataclass
class FakeArchive:
    """WeCom's archive of one corp: items in seq order, wrapped for the configured public keys."""

    secret: str = "fake-archive-secret"
    version: int = 1  # the publickey_ver new items are wrapped for
    public_keys: dict[int, rsa.RSAPublicKey] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    notify_every: float = 0.0  # WeCom: at most one msgaudit_notify per 15 s; 0 in tests and the sandbox
    pulls: int = 0
    errcode: int = 0  # when set, GetChatData fails with it (10009: this server's IP is not trusted)
    _notifier: Any = None
    _last_notify: float = 0.0
    _pending_notify: asyncio.Task | None = None

    def set_key(self, version: int, key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> None:
        self.public_keys[version] = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        self.version = max(self.public_keys)  # WeCom wraps for the newest key set in the console

    def on_new(self, notifier) -> None:
        """`notifier()` (a coroutine function) sends msgaudit_notify to the service's app callback."""
        self._notifier = notifier

    def say(self, roomid: str, sender: str, text: str, *, msgtype: str = "text", action: str = "send",
            tolist: tuple[str, ...] = (), at_ms: int | None = None, msgid: str | None = None) -> dict[str, Any]:
        """A group line as the archive records it; returns the decrypted message."""
        msg: dict[str, Any] = {"msgid": msgid or f"{secrets.token_hex(12)}_external", "action": action,
                               "from": sender, "tolist": list(tolist), "roomid": roomid,
                               "msgtime": at_ms if at_ms is not None else int(time.time() * 1000),
                               "msgtype": msgtype}
        msg[msgtype] = {"content": text} if msgtype == "text" else {"sdkfileid": secrets.token_hex(8)}
        self._append(msg["msgid"], *self._wrap(msg))
        return msg

    def single(self, sender: str, to: str, text: str) -> dict[str, Any]:
        """A 1:1 conversation line (no roomid): archived too, and the reader must drop it."""
        msg = {"msgid": f"{secrets.token_hex(12)}_single", "action": "send", "from": sender, "tolist": [to],
               "msgtime": int(time.time() * 1000), "msgtype": "text", "text": {"content": text}}
        self._append(msg["msgid"], *self._wrap(msg))
        return msg

    def malformed(self, msgid: str | None = None) -> str:
        """An item whose encrypted message is garbage: DecryptData aborts the process on it."""
        random_key, wrapped = self._random_key()
        msgid = msgid or f"{secrets.token_hex(12)}_bad"
        self._append(msgid, wrapped, "bm90IGEgbWVzc2FnZQ==")
        return msgid

    def _random_key(self) -> tuple[str, str]:
        key = self.public_keys.get(self.version)
        if key is None:
            raise RuntimeError(f"no public key for publickey_ver {self.version}: call set_key() first")
        random_key = "".join(secrets.choice(_ALPHABET) for _ in range(32))
        return random_key, base64.b64encode(key.encrypt(random_key.encode(), padding.PKCS1v15())).decode()

    def _wrap(self, msg: dict[str, Any]) -> tuple[str, str]:
        random_key, wrapped = self._random_key()
        return wrapped, seal(random_key, msg)

    def _append(self, msgid: str, wrapped: str, sealed: str) -> None:
        self.items.append({"seq": len(self.items) + 1, "msgid": msgid, "publickey_ver": self.version,
                           "encrypt_random_key": wrapped, "encrypt_chat_msg": sealed})
        self._schedule_notify()

    def chatdata(self, seq: int, limit: int) -> list[dict[str, Any]]:
        self.pulls += 1
        return self.items[max(seq, 0):max(seq, 0) + limit]  # seq n is items[n - 1]: after `seq` comes items[seq]

    # -- msgaudit_notify -------------------------------------------------------------------------
    def _schedule_notify(self) -> None:
        if self._notifier is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test filling the archive first): the safety pull finds the items
        if self._pending_notify is not None and not self._pending_notify.done():
            return  # one notify already on its way covers this line too
        delay = max(0.0, self._last_notify + self.notify_every - time.monotonic())
        self._pending_notify = loop.create_task(self._notify_after(delay))

    async def _notify_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._last_notify = time.monotonic()
        try:
            await self._notifier()
        except Exception:  # the service may be down; WeCom does not retry a notify either
            pass


def notify_xml(corp_id: str, agent_id: int) -> bytes:
    """The msgaudit_notify event as WeCom sends it on the app callback (only AgentID inside)."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[msgaudit_notify]]></Event><AgentID>{agent_id}</AgentID></xml>").encode()


# -- HTTP: mounted on the fake WeCom (bot/fakewecom.py) under /sandbox/archive -------------------
def install(app, archive: FakeArchive) -> None:
    from aiohttp import web

    async def chatdata(request: web.Request) -> web.Response:
        if request.headers.get(SECRET_HEADER) != archive.secret:
            return web.json_response({"errcode": 10000, "errmsg": "bad secret"})
        if archive.errcode:
            return web.json_response({"errcode": archive.errcode, "errmsg": "refused"})
        try:
            seq, limit = int(request.query.get("seq", "0")), int(request.query.get("limit", "1000"))
        except ValueError:
            return web.json_response({"errcode": 10000, "errmsg": "bad seq or limit"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "chatdata": archive.chatdata(seq, limit)})

    async def say(request: web.Request) -> web.Response:
        try:
            data = await request.json()
            msg = archive.say(str(data["roomid"]), str(data["from"]), str(data.get("text", "")))
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"msgid": msg["msgid"], "seq": len(archive.items)})

    app.router.add_get("/sandbox/archive/chatdata", chatdata)
    app.router.add_post("/sandbox/archive/say", say)


def for_config(cfg) -> FakeArchive:
    """The demo's fake archive: the configured keys' public halves, the configured secret, and a
    notify to this service's own app callback."""
    from bot.archive.keys import load_private_keys
    from bot.crypto import Crypto
    a = cfg.archive
    archive = FakeArchive(secret=a.secret or "fake-archive-secret")
    for ver, pem in load_private_keys(cfg, create_missing=True).items():
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        archive.set_key(ver, load_pem_private_key(pem.encode(), password=None))
    w = cfg.wecom
    if w.app.token and w.app.encoding_aes_key:
        crypto = Crypto(w.app.token, w.app.encoding_aes_key, w.corp_id)
        url = f"http://{cfg.server.host}:{cfg.server.port}/wecom/app"

        async def notify() -> None:
            import aiohttp
            from bot.sandbox import sealed
            query, body = sealed(crypto, notify_xml(w.corp_id, w.app.agent_id), w.corp_id)
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{url}?{query}", data=body, timeout=aiohttp.ClientTimeout(total=5)):
                    pass
        archive.on_new(notify)
    return archive
