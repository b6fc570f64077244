"""The SDK child: `python -m bot.archive.child`, driven by the reader over stdin/stdout frames.

Tencent's native SDK aborts the whole process on malformed input (an uncaught C++ exception in
DecryptData), so it runs here and nowhere else; the reader restarts this process when it dies. The
RSA step runs here too, so a page of 1000 private-key operations never blocks the reader's event
loop. Requests (protocol.py frames):

  {"op": "init", "sdk": "pywecomarchive"|"fake", "corp_id", "secret", "proxy", "passwd", "timeout",
   "fake_url", "keys": {"<publickey_ver>": "<PEM>"}}      -> {"ok": true, "sdk": ..., "pid": ...}
  {"op": "ping"}                                          -> {"ok": true}
  {"op": "pull", "seq": N, "limit": N}                    -> {"ok": true, "items": [...]}
  {"op": "decrypt", "items": [{"i", "ver", "key", "msg"}]} -> one {"i", "ok", "msg"|"error"} per item,
                                                             then {"done": true}

Errors are {"ok": false, "error": <kind>, "code": <SDK errcode or 0>, "detail": <no content>}.
Nothing here logs a message's content, a secret or a key.
"""
from __future__ import annotations

import base64
import os
import sys
from typing import Any

from bot.archive import protocol


class Failed(Exception):
    def __init__(self, kind: str, code: int = 0, detail: str = "") -> None:
        super().__init__(kind)
        self.kind, self.code, self.detail = kind, code, detail


def _load_sdk(req: dict[str, Any]):
    kind = req.get("sdk")
    common = dict(proxy=str(req.get("proxy") or ""), passwd=str(req.get("passwd") or ""),
                  timeout=int(req.get("timeout") or 10))
    if kind == "fake":
        from bot.archive.fake import FakeArchiveSdk
        return FakeArchiveSdk(str(req["corp_id"]), str(req["secret"]), url=str(req.get("fake_url") or ""),
                              **common)
    if kind == "pywecomarchive":
        try:
            from pywecomarchive import WecomArchiveSdk
        except ImportError:
            raise Failed("load", detail="pywecomarchive is not installed: pip install 'qunbot[archive]'") from None
        try:
            return WecomArchiveSdk(str(req["corp_id"]), str(req["secret"]), **common)
        except Exception as exc:
            raise Failed("load", getattr(exc, "code", 0) or 0, type(exc).__name__) from None
    raise Failed("load", detail=f"unknown sdk {kind!r}")


def _keys(req: dict[str, Any]) -> dict[int, Any]:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    out = {}
    for ver, pem in (req.get("keys") or {}).items():
        try:
            out[int(ver)] = load_pem_private_key(str(pem).encode(), password=None)
        except (ValueError, TypeError):
            raise Failed("key", detail=f"private key for publickey_ver {ver} is not a PEM RSA key") from None
    return out


def _item(x: Any) -> dict[str, Any]:
    d = x.model_dump() if hasattr(x, "model_dump") else dict(x)
    return {k: d.get(k) for k in ("seq", "msgid", "publickey_ver", "encrypt_random_key", "encrypt_chat_msg")}


class Child:
    def __init__(self) -> None:
        self.sdk = None
        self.keys: dict[int, Any] = {}
        self._raw = None

    def handle(self, req: dict[str, Any], out) -> None:
        op = req.get("op")
        if op == "init":
            self.keys = _keys(req)
            self.sdk = _load_sdk(req)
            protocol.write_sync(out, {"ok": True, "sdk": req.get("sdk"), "pid": os.getpid()})
        elif op == "ping":
            protocol.write_sync(out, {"ok": True, "pid": os.getpid()})
        elif self.sdk is None:
            raise Failed("state", detail="init first")
        elif op == "pull":
            try:
                resp = self.sdk.get_chat_data(seq=int(req["seq"]), limit=int(req["limit"]))
            except Exception as exc:
                raise Failed("sdk", int(getattr(exc, "code", 0) or 0), type(exc).__name__) from None
            protocol.write_sync(out, {"ok": True, "items": [_item(x) for x in resp.chatdata]})
        elif op == "decrypt":
            for it in req.get("items") or []:
                protocol.write_sync(out, {"i": it.get("i"), **self._decrypt(it)})
            protocol.write_sync(out, {"done": True})
        else:
            raise Failed("op", detail=f"unknown op {op!r}")

    def _decrypt(self, it: dict[str, Any]) -> dict[str, Any]:
        from cryptography.hazmat.primitives.asymmetric import padding
        try:
            key = self.keys.get(int(it.get("ver") or 0))
        except (TypeError, ValueError, OverflowError):
            return {"ok": False, "error": "item", "code": 0, "detail": "publickey_ver is not a number"}
        if key is None:
            return {"ok": False, "error": "nokey", "code": 0}
        try:
            random_key = key.decrypt(base64.b64decode(str(it.get("key") or ""), validate=True), padding.PKCS1v15())
        except (ValueError, TypeError):
            return {"ok": False, "error": "rsa", "code": 0}
        try:
            msg = self._decrypt_data(random_key.decode("latin-1"), str(it.get("msg") or ""))
        except Exception as exc:
            return {"ok": False, "error": "sdk", "code": int(getattr(exc, "code", 0) or 0),
                    "detail": type(exc).__name__}
        return {"ok": True, "msg": msg}

    def _decrypt_data(self, key: str, msg: str) -> dict[str, Any]:
        if self._raw is None:  # the wrapper validates into its own models; the reader wants the JSON
            try:
                from pydantic import TypeAdapter
                self._raw = TypeAdapter(dict[str, Any])
            except ImportError:
                self._raw = False
        if self._raw:
            return self.sdk.decrypt_data(key, msg, adapter=self._raw)
        return self.sdk.decrypt_data(key, msg)


def main() -> int:
    # Frames get their own copy of stdout; fd 1 then points at stderr, so whatever the native
    # library prints cannot corrupt a frame.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    child = Child()
    while True:
        try:
            req = protocol.read_sync(inp)
        except protocol.FrameError as exc:
            print(f"archive child: bad frame from the reader: {exc}", file=sys.stderr)
            return 2
        if req is None:
            return 0
        try:
            child.handle(req, out)
        except Failed as exc:
            protocol.write_sync(out, {"ok": False, "error": exc.kind, "code": exc.code, "detail": exc.detail})
        except (KeyError, TypeError, ValueError) as exc:
            protocol.write_sync(out, {"ok": False, "error": "request", "code": 0, "detail": type(exc).__name__})


if __name__ == "__main__":
    sys.exit(main())
