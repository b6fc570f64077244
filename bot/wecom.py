"""WeCom wire format -> Message. Pure functions; the only module that knows callback payload shapes."""
from __future__ import annotations

import hashlib
import json
import re
import time
import xml.etree.ElementTree as ET
from typing import Any

from bot.message import Message


class BadPayload(ValueError):
    """The decrypted (or outer) payload is not well-formed XML/JSON of the expected shape."""


# App events we route; anything else is acknowledged and dropped (docs/wecom.md §3).
APP_EVENTS = frozenset({
    "enter_agent", "kf_msg_or_event", "change_external_chat", "change_external_contact",
    "subscribe", "unsubscribe", "click", "template_card_event", "msgaudit_notify",
})
APP_MSGTYPES = frozenset({"text", "image", "voice", "event"})
_PLACEHOLDER = {"image": "[图片]", "voice": "[语音]", "file": "[文件]", "video": "[视频]"}
_MENTION = re.compile(r"^(\s*@\S+\s*)+")


# One element: XML whitespace, <Tag>, CDATA or plain text, </Tag>; the whole match is captured too,
# so that the matches can be checked to tile the body. Tags are ASCII names; anything else goes to
# the parser.
_ELEMENT = re.compile(r"([ \t\n]*<([A-Za-z_][A-Za-z0-9_]*)>(?:<!\[CDATA\[(.*?)\]\]>|([^<&]*))</\2>)", re.S)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # characters XML does not allow
_WS = " \t\n"  # XML's whitespace (less CR, which the parser normalises and the fast path refuses)


def _flat(data: str) -> dict[str, Any] | None:
    """What WeCom sends, read without a parser: <xml> and simple text or CDATA children only.

    None for anything else (nesting, entities, attributes, comments, CR, characters XML does not
    allow, "]]>" in text), which the real parser then handles or refuses; the result is the same as
    the parser's for every document accepted here. One findall reads every element; the matches'
    lengths adding up to the body's (less trailing whitespace) proves they follow each other from
    its start with nothing else between them, so each is what a match at that position reads.
    """
    s = data.strip(_WS)
    if not (s.startswith("<xml>") and s.endswith("</xml>")) or "\r" in s or _NOT_XML.search(s):
        return None
    body, out, size = s[5:-6], {}, 0
    for whole, tag, cdata, text in _ELEMENT.findall(body):
        size += len(whole)
        value = cdata or text  # findall gives "" for the branch that did not match
        if "]]>" in value:  # not allowed in XML text: the parser refuses it
            return None
        out[tag] = value if tag == "Content" else value.strip()
    return out if size == len(body.rstrip(_WS)) else None


def parse_xml(data: bytes | str) -> dict[str, Any]:
    """Flat XML -> dict. DTDs are refused outright, so no entity is ever declared or expanded.

    The check runs on decoded text and the parser gets that text: bytes in another encoding
    (UTF-16, say) could otherwise hide a DOCTYPE from a byte search and still reach expat.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadPayload("XML is not UTF-8") from None
    if "<!DOCTYPE" in data or "<!ENTITY" in data or "\x00" in data:
        raise BadPayload("DTD not allowed")
    flat = _flat(data)
    return flat if flat is not None else _tree(data)


def _tree(data: str) -> dict[str, Any]:
    try:
        root = ET.fromstring(data.removeprefix("\ufeff"))
    except ET.ParseError as exc:
        raise BadPayload(f"malformed XML: {exc}") from None
    out: dict[str, Any] = {}
    for child in root:
        if len(child):
            # MemChangeList: <Item>..</Item>*; normalise to a list whatever the count.
            out[child.tag] = [(item.text or "") for item in child]
        else:
            out[child.tag] = (child.text or "").strip() if child.tag != "Content" else (child.text or "")
    return out


_ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=]+)\]\]>|([A-Za-z0-9+/=]+))\s*</Encrypt>")


def outer_encrypt(body: bytes) -> str:
    """The Encrypt field of the app's outer XML envelope.

    Only Encrypt matters (the signature covers it), so the common shape is read with one regex
    instead of a full parse: nothing else in the envelope is parsed, so nothing in it is expanded.
    Anything else goes through the strict parser.
    """
    m = _ENCRYPT.search(body)
    if m and body.lstrip().startswith(b"<xml>") and body.rstrip().endswith(b"</xml>"):
        return (m.group(1) or m.group(2)).decode()
    enc = parse_xml(body).get("Encrypt")
    if not isinstance(enc, str) or not enc:
        raise BadPayload("no Encrypt element")
    return enc


def outer_encrypt_json(body: bytes) -> str:
    """The encrypt field of the 智能机器人 JSON envelope."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadPayload("malformed JSON") from None
    enc = doc.get("encrypt") if isinstance(doc, dict) else None
    if not isinstance(enc, str) or not enc:
        raise BadPayload("no encrypt field")
    return enc


def _text(d: dict[str, Any], key: str) -> str:
    """A field that must be plain text; nested elements or JSON objects read as empty."""
    value = d.get(key, "")
    return value if isinstance(value, str) else ""


def _obj(d: dict[str, Any], key: str) -> dict[str, Any]:
    value = d.get(key)
    return value if isinstance(value, dict) else {}


def _event_id(plaintext: bytes) -> str:
    # Customer events all have FromUserName=sys; a hash of the whole plaintext is the only safe key.
    return "ev:" + hashlib.sha1(plaintext).hexdigest()[:24]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return int(time.time())


def app_fields(plaintext: bytes) -> dict[str, Any] | None:
    """Decrypted app callback XML -> the fields of its Message (see app_message), or None for a
    type we do not handle. The ack path serialises these (message.message_json) without ever
    building the Message."""
    d = parse_xml(plaintext)
    msgtype = _text(d, "MsgType")
    sender = _text(d, "FromUserName")
    if msgtype not in APP_MSGTYPES:
        return None
    when = _int(d.get("CreateTime"))
    if msgtype == "event":
        event = _text(d, "Event").lower()
        if event not in APP_EVENTS:
            return None
        conversation = f"kf:{_text(d, 'OpenKfId')}" if event == "kf_msg_or_event" else sender
        return dict(id=_event_id(plaintext), channel="app", conversation=conversation, sender=sender,
                    sender_kind="system" if sender == "sys" else "staff", kind="event", event=event,
                    time=when, raw=d)
    msg_id = _text(d, "MsgId") or _event_id(plaintext)
    text = _text(d, "Content") if msgtype == "text" else _PLACEHOLDER.get(msgtype, "")
    if msgtype == "voice" and _text(d, "Recognition"):
        text = _text(d, "Recognition")
    raw = d.copy()
    raw.pop("Content", None)
    return dict(id=f"app:{msg_id}", channel="app", conversation=sender, sender=sender,
                text=text, kind="text" if msgtype in ("text", "voice") else "other", time=when, raw=raw)


def app_message(plaintext: bytes) -> Message | None:
    """Decrypted app callback XML -> Message, or None for a type we do not handle."""
    values = app_fields(plaintext)
    return None if values is None else Message(**values)


def aibot_fields(plaintext: bytes) -> dict[str, Any] | None:
    """Decrypted 智能机器人 JSON -> the fields of its Message (see aibot_message), or None for a
    type we do not handle."""
    try:
        d = json.loads(plaintext)
    except (ValueError, RecursionError):
        raise BadPayload("malformed JSON plaintext") from None
    if not isinstance(d, dict) or not isinstance(d.get("from"), dict):
        raise BadPayload("not an aibot message")
    user = _text(d["from"], "userid")
    chat_type = "group" if d.get("chattype") == "group" else "single"
    chat_id = _text(d, "chatid") if chat_type == "group" else ""
    raw = {"response_url": _text(d, "response_url"), "aibotid": _text(d, "aibotid")}
    msgtype = d.get("msgtype")
    base = dict(channel="aibot", conversation=chat_id or user, sender=user, chat_id=chat_id,
                chat_type=chat_type, time=_int(d.get("create_time")), raw=raw)
    if msgtype == "text":
        text = _text(_obj(d, "text"), "content")
        text = _MENTION.sub("", text) if chat_type == "group" else text
        return dict(id=f"aibot:{_text(d, 'msgid') or _event_id(plaintext)}", text=text, **base)
    if msgtype == "voice":
        text = _text(_obj(d, "voice"), "content")
        return dict(id=f"aibot:{_text(d, 'msgid') or _event_id(plaintext)}", text=text, **base)
    if msgtype == "event":
        event = _text(_obj(d, "event"), "eventtype")
        if event != "enter_chat":
            return None
        return dict(id=f"aibot:{_text(d, 'msgid') or _event_id(plaintext)}", kind="event", event=event, **base)
    return None


def aibot_message(plaintext: bytes) -> Message | None:
    """Decrypted 智能机器人 JSON -> Message, or None for a type we do not handle."""
    values = aibot_fields(plaintext)
    return None if values is None else Message(**values)
