"""Console sessions: a signed cookie (HMAC-SHA256 over its JSON), and the CSRF token derived from it.

The cookie holds who signed in, when it expires and a random session id; nothing else, so a role
or store change in the config applies on the next page. The CSRF token is an HMAC of the session
id: a form from another site cannot know it, and it needs no server-side state.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from bot.config import Config
from bot.server import same_secret

COOKIE = "qb_console"


def secret_of(config: Config) -> bytes:
    """`[console] secret`, else a key derived from the admin token and the app secret (both already
    secret; rotating either signs everyone out)."""
    given = str(config.section("console").get("secret") or "")  # checked by bot.console.settings
    if given:
        return given.encode()
    basis = f"{config.admin.token}\0{config.wecom.app.secret}\0{config.wecom.corp_id}".encode()
    return hmac.new(b"qunbot-console-session", basis, hashlib.sha256).digest()


@dataclass(frozen=True)
class Session:
    sid: str
    user: str = ""  # "" before sign-in
    expires: int = 0
    via: str = ""  # oauth | token

    @property
    def signed_in(self) -> bool:
        return bool(self.user) and self.expires > time.time()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def dump(key: bytes, s: Session) -> str:
    body = _b64(json.dumps({"s": s.sid, "u": s.user, "e": s.expires, "v": s.via}, separators=(",", ":")).encode())
    return f"{body}.{sign(key, body)}"


def load(key: bytes, cookie: str | None) -> Session | None:
    """The session a cookie carries, or None when it is missing, forged, malformed or expired."""
    if not cookie or len(cookie) > 1024 or "." not in cookie:
        return None
    body, _, mac = cookie.rpartition(".")
    if not same_secret(mac, sign(key, body)):
        return None
    try:
        data = json.loads(_unb64(body))
        s = Session(str(data["s"]), str(data["u"]), int(data["e"]), str(data.get("v", "")))
    except (ValueError, KeyError, TypeError):
        return None
    if s.user and s.expires <= time.time():
        return Session(s.sid)  # expired: keep the id (its CSRF token) but no user
    return s


def fresh() -> Session:
    return Session(secrets.token_urlsafe(16))


def csrf_token(key: bytes, s: Session) -> str:
    return sign(key, "csrf:" + s.sid)


def csrf_ok(key: bytes, s: Session | None, given: str | None) -> bool:
    if s is None or not given:
        return False
    return same_secret(given, csrf_token(key, s))


def state_token(key: bytes, s: Session) -> str:
    """OAuth `state`: binds WeCom's redirect back to the browser that left (no login CSRF). WeCom
    allows a-zA-Z0-9 up to 128 bytes."""
    return "".join(c for c in sign(key, "state:" + s.sid) if c.isalnum())[:32]
