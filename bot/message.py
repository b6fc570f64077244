"""The two types every layer shares: an inbound Message and an outbound Reply."""
from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound message or event, already verified, decrypted and deduplicated by `id`.

    `conversation` is where a reply to this message goes back to (a userid for app 1:1, a chat id,
    `kf:<open_kfid>:<external_userid>`, ...); the sender resolves it per channel.
    """

    id: str
    channel: str
    conversation: str
    sender: str = ""
    sender_kind: str = "staff"  # staff | customer | system
    text: str = ""
    kind: str = "text"  # text | event | schedule | other
    event: str = ""  # event name, or job name for kind == "schedule"
    chat_id: str = ""
    chat_type: str = "single"  # single | group
    time: int = 0  # epoch seconds
    raw: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        # orjson is ten times the stdlib's speed here, and asdict's deep copy was once the most
        # expensive step of the ack.
        return _dumps({name: getattr(self, name) for name in _FIELDS}).decode()

    @classmethod
    def from_json(cls, data: str | bytes) -> "Message":
        return cls(**json.loads(data))


_FIELDS = tuple(f.name for f in fields(Message))
# Every field with its default, in field order (raw's default, a fresh {}, is given per call).
_DEFAULTS = {f.name: f.default for f in fields(Message)}


def message_json(values: dict[str, Any]) -> bytes:
    """`Message(**values).to_json()`, encoded, without building the Message: on the ack path the
    frozen dataclass's constructor cost more than the serialisation. Same text, same key order
    (the defaults' order, which is the fields'); an unknown or missing required field raises
    TypeError as the constructor would."""
    d = _DEFAULTS.copy()
    d["raw"] = {}
    d.update(values)
    if len(d) != len(_DEFAULTS) or d["id"] is MISSING or d["channel"] is MISSING or d["conversation"] is MISSING:
        raise TypeError(f"not the fields of a Message: {sorted(values)}")
    return _dumps(d)


def _dumps(d: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(d)
    except orjson.JSONEncodeError:  # the stdlib takes what orjson refuses (ints beyond 64 bits)
        return json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Target:
    """Where a reply goes when it is not the inbound message's own conversation.

    channel: app (to = userid list joined by "|"), appchat (chat id), webhook (robot key),
    aibot (response_url), kf (to = "open_kfid:external_userid"), group_post (to = store id).
    """

    channel: str
    to: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to upload with media/upload and send as a file message."""

    filename: str
    content: bytes


class Reply:
    """A template name plus its context; handlers return these and never format text."""

    __slots__ = ("template", "ctx", "to", "attachment")

    def __init__(self, template: str, *, to: Target | None = None,
                 attachment: Attachment | None = None, **ctx: Any) -> None:
        self.template = template
        self.ctx = ctx
        self.to = to
        self.attachment = attachment

    @property
    def msgtype(self) -> str:
        return "markdown" if self.template.endswith(".md.j2") else "text"

    def __repr__(self) -> str:
        return f"Reply({self.template!r}, to={self.to!r}, ctx={self.ctx!r})"
