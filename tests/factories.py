"""Signed, encrypted WeCom callbacks for tests, made with wechatpy as an independent implementation."""
from __future__ import annotations

import json
import secrets
import time
from urllib.parse import urlencode

from wechatpy.crypto import PrpCrypto
import base64

from bot.crypto import signature

CORP_ID = "wwtestcorp000001"
APP_TOKEN = "testAppToken"
APP_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
BOT_TOKEN = "testBotToken"
BOT_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def _encrypt(key: str, plaintext: str | bytes, receive_id: str) -> str:
    text = plaintext.decode() if isinstance(plaintext, bytes) else plaintext
    enc = PrpCrypto(base64.b64decode(key + "=")).encrypt(text, receive_id)
    return enc.decode() if isinstance(enc, bytes) else enc


def text_xml(text: str, user: str = "xiaowang", msg_id: int | None = None, corp_id: str = CORP_ID) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id or secrets.randbits(62)}</MsgId>"
            f"<AgentID>1000002</AgentID></xml>")


def event_xml(event: str, fields: dict[str, str] | None = None, user: str = "sys",
              create_time: int | None = None) -> str:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in (fields or {}).items())
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>{extra}</xml>")


def app_callback(plaintext: str | bytes, *, token: str = APP_TOKEN, key: str = APP_KEY, corp_id: str = CORP_ID,
                 timestamp: int | None = None) -> tuple[str, bytes]:
    """(query string, body) for POST /wecom/app."""
    enc = _encrypt(key, plaintext, corp_id)
    ts, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
    q = urlencode({"msg_signature": signature(token, ts, nonce, enc), "timestamp": ts, "nonce": nonce})
    body = f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    return q, body.encode()


def aibot_callback(payload: dict, *, timestamp: int | None = None) -> tuple[str, bytes]:
    """(query string, body) for POST /wecom/aibot (JSON envelope, receiveid "")."""
    enc = _encrypt(BOT_KEY, json.dumps(payload, ensure_ascii=False), "")
    ts, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
    q = urlencode({"msg_signature": signature(BOT_TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce})
    return q, json.dumps({"encrypt": enc}).encode()
