"""A fake WeCom API server speaking the real /cgi-bin/ paths, so the real client runs end to end.

Tests and the demo point `[wecom] api_base` here instead of https://qyapi.weixin.qq.com. Every call is
recorded in `FakeWeCom.calls`; `script()` queues errcodes so retry, refresh and alert paths can be driven
without the real service. Rules follow docs/wecom.md; where WeCom's behaviour is unknown we
pick the stricter answer (noted inline) so a client that passes here is safe there.
"""
from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import html
import itertools
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote, urlencode

from aiohttp import BodyPartReader, web

ERRMSG = {
    -1: "system busy", 0: "ok", 40001: "invalid credential", 40003: "invalid userid",
    40004: "invalid media type", 40006: "invalid file size", 40007: "invalid media_id",
    40008: "invalid message type", 40013: "invalid corpid", 40014: "invalid access_token",
    40029: "invalid code", 40050: "chatid not exist", 40056: "invalid agentid",
    40058: "invalid Request Parameter", 40096: "invalid external userid", 41001: "access_token missing",
    41002: "corpid missing", 41004: "corpsecret missing", 41005: "media data missing",
    41050: "invalid welcome_code", 41051: "customer already chatting", 42001: "access_token expired",
    44004: "empty content", 45002: "content size out of limit", 45009: "api freq out of limit",
    45033: "api concurrent out of limit", 47001: "data format error", 48002: "api forbidden",
    60011: "no privilege to access/modify contact/party/agent", 60020: "not allow to access from your ip",
    81013: "user & party & tag all invalid", 82001: "All touser & toparty & totag invalid",
    86003: "chat not exist", 93000: "invalid webhook url", 95000: "invalid open_kfid",
    95001: "send msg count limit", 95007: "invalid msg token", 95018: "send msg not allowed, session state invalid",
}
DAY = 86400
MEDIA_MAX = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "file": 20 << 20}
APP_TYPES = {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
MESSAGE_TYPES = APP_TYPES | {"miniprogram_notice", "template_card"}
WEBHOOK_TYPES = {"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"}
KF_TYPES = {"text", "image", "voice", "video", "file", "link", "miniprogram", "msgmenu", "location"}
# WeCom documents message/send markdown as 2048 bytes without saying whether it truncates or rejects;
# we reject (45002) so an over-long message is caught here rather than cut off in production.
APP_LIMITS = {"text": (2048, 45002, None), "markdown": (2048, 45002, None)}
WEBHOOK_LIMITS = {"text": (2048, 45002, None),
                  "markdown": (4096, 40058, "markdown.content exceed max length 4096"),
                  "markdown_v2": (4096, 40058, "markdown_v2.content exceed max length 4096")}
KF_MSGID = re.compile(r"[0-9a-zA-Z_-]*")
KF_LIMITS = {"text": (2048, 45002, None)}  # kf text limit is unconfirmed; 2048 B is the conservative guess


@dataclass
class Call:
    """One request as the fake saw it and what it answered (errcode int, or e.g. 'http500')."""

    path: str  # below /cgi-bin/, e.g. "message/send"
    query: dict[str, str]
    body: Any  # JSON dict, multipart summary {field: {filename, size, content_type}}, raw text, or None
    time: float
    secret: str | None = None  # corpsecret behind the access_token, when the token is known
    errcode: int | str | None = None
    response: dict | None = None


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str | None = None):
        super().__init__(errcode, errmsg)
        self.errcode, self.errmsg = errcode, errmsg


def _size(text: Any) -> int:
    return len(str(text or "").encode())


def _encode_cursor(kind: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(kind: str, cursor: str) -> int:
    try:
        got, offset = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        if got == kind and int(offset) >= 0:
            return int(offset)
    except ValueError:
        pass
    raise ApiError(40058, "invalid cursor")


def _cursor_kind(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")[0]
    except ValueError:
        return ""


def _limit(body: dict, default: int = 1000) -> int:
    limit = body.get("limit", default)
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ApiError(40058, "limit must be in 1..1000")
    return limit


class FakeWeCom:
    """State and rules of the fake; the aiohttp app (create_fake_app) only parses and records."""

    TOKEN_TTL, MEDIA_TTL, KF_KEEP, KF_WINDOW = 7200, 3 * DAY, 3 * DAY, 48 * 3600
    KF_REPLIES, KF_TOKEN_TTL, WELCOME_TTL = 5, 600, 20
    MEDIA_KEPT = 50  # uploads whose bytes the fake keeps, so the sandbox can open the files it sent

    def __init__(self, *, valid_secrets=None, webhook_keys=None, known_users=None, corpid: str | None = None,
                 clock: Callable[[], float] = time.time):
        self.valid_secrets = set(valid_secrets) if valid_secrets is not None else None
        self.webhook_keys = set(webhook_keys) if webhook_keys is not None else None
        self.known_users = set(known_users) if known_users is not None else None  # None: every userid valid
        self.corpid, self.clock, self.skew = corpid, clock, 0.0
        self.ip_list = ["127.0.0.1"]
        self.calls: list[Call] = []
        self.tokens: dict[str, dict] = {}  # token -> {secret, issued_at, expired}
        self.media: dict[str, dict] = {}  # media_id -> {type, filename, size, created_at, key}
        self.groups: dict[str, dict] = {}  # chat_id -> group_chat as groupchat/get returns it
        self.msg_templates: list[dict] = []
        self.welcome_codes: dict[str, float] = {}  # code -> issue time
        self.used_welcome_codes: set[str] = set()
        self.kf_messages: list[dict] = []  # append-only log; cursors are offsets into it
        self.kf_customers: dict[str, dict] = {}
        self.kf_tokens: dict[str, float] = {}
        self.kf_sessions: dict[tuple[str, str], dict] = {}  # (open_kfid, userid) -> {last_customer, replies}
        self.kf_event_codes: dict[str, dict] = {}  # enter_session welcome_code -> {kf, user, at}
        self.kf_greeted: dict[tuple[str, str], float] = {}  # (open_kfid, userid) -> last greeting time
        self.kf_msgids: dict[str, set[str]] = {}  # open_kfid -> caller msgids it accepted (unique per account)
        self.used_response_codes: set[str] = set()
        self.disagree: set[str] = set()  # external members who refused the chat archive
        self._scripts: dict[str, list[int | str]] = {}
        self._seq = itertools.count(1)
        # kf cursors name the fake's run: a restarted demo keeps its Redis (and cursor) but starts
        # with an empty kf log, and an old offset would skip the first messages of the new run.
        self._kf_cursor_kind = "kf" + secrets.token_hex(3)
        self.aibot = AibotHub(self)  # the 智能机器人 long connection (WebSocket) side

    # -- clock, scripting, inspection ---------------------------------------------------------------
    def now(self) -> float:
        return self.clock() + self.skew

    def advance(self, seconds: float) -> None:
        self.skew += seconds

    def script(self, path_suffix: str, *errcodes: int | str) -> None:
        for code in errcodes:
            if not isinstance(code, int) and not (isinstance(code, str) and code[4:].isdigit()
                                                  and code.startswith("http")):
                raise ValueError(f"errcode must be an int or 'httpNNN', got {code!r}")
        self._scripts.setdefault(path_suffix.strip("/"), []).extend(errcodes)

    def sent(self, path_suffix: str | None = None, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if (path_suffix is None or _matches(c.path, path_suffix))
                and (ok is None or (c.errcode == 0) == ok)]

    def expire_tokens(self) -> None:
        for info in self.tokens.values():
            info["expired"] = True

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq):06d}{secrets.token_hex(4)}"

    # -- test/console helpers that play WeCom's other side --------------------------------------------
    def add_group(self, chat_id: str, owner: str, members=(), *, name: str = "", status: int = 0) -> dict:
        """A customer group; members whose id starts with wm/wo are external (type 2), as in WeCom."""
        at = int(self.now())
        member_list = [{"userid": uid, "type": 2 if uid.startswith(("wm", "wo")) else 1, "join_time": at,
                        "join_scene": 1} for uid in dict.fromkeys([owner, *members])]
        self.groups[chat_id] = {"chat_id": chat_id, "name": name, "owner": owner, "create_time": at,
                                "notice": "", "member_list": member_list, "admin_list": [], "status": status}
        return self.groups[chat_id]

    def welcome_code(self, code: str | None = None) -> str:
        code = code or self._id("WELCOME")
        self.welcome_codes[code] = self.now()
        return code

    def kf_token(self) -> str:
        """The Token a kf_msg_or_event callback would carry (valid 10 min) for kf/sync_msg."""
        token = "ENC" + secrets.token_urlsafe(24)
        self.kf_tokens[token] = self.now()
        return token

    def kf_push(self, open_kfid: str, external_userid: str, text: str = "", msgtype: str = "text",
                origin: int = 3, event: dict | None = None, welcome: bool = False) -> dict:
        """Append a customer message (for media msgtypes `text` is the media_id) or, with msgtype 'event',
        a system event such as {"event_type": "enter_session", "scene": .., "scene_param": ..}; with
        `welcome`, an enter_session carries a welcome_code as WeCom's would."""
        at = int(self.now())
        msg: dict[str, Any] = {"msgid": self._id("kf"), "send_time": at, "msgtype": msgtype}
        if msgtype == "event":
            msg["origin"] = 4  # system events carry kf and user inside `event` only
            msg["event"] = {"event_type": "enter_session", "open_kfid": open_kfid,
                            "external_userid": external_userid, **(event or {})}
            # Like WeCom: a welcome_code only for someone not greeted (nor written to) within 48 h.
            greeted = self.kf_greeted.get((open_kfid, external_userid), -1e18)
            if (welcome and msg["event"]["event_type"] == "enter_session" and "welcome_code" not in msg["event"]
                    and at - greeted > self.KF_WINDOW):
                code = self._id("KFWELCOME")
                self.kf_event_codes[code] = {"kf": open_kfid, "user": external_userid, "at": at}
                msg["event"]["welcome_code"] = code
        else:
            msg.update(open_kfid=open_kfid, external_userid=external_userid, origin=origin)
            msg[msgtype] = {"content": text} if msgtype == "text" else {"media_id": text}
            if origin == 3:  # a customer message opens a fresh 48 h / 5-reply window
                self.kf_sessions[(open_kfid, external_userid)] = {"last_customer": at, "replies": 0}
        self.kf_customers.setdefault(external_userid, {"external_userid": external_userid,
                                                       "nickname": external_userid, "avatar": "", "gender": 0,
                                                       "unionid": ""})
        self.kf_messages.append(msg)
        return msg

    # -- request handling -----------------------------------------------------------------------------
    def answer(self, call: Call) -> tuple[int, dict | None]:
        """Decide the answer to a recorded call: (HTTP status, JSON payload or None for a bare error)."""
        if (info := self.tokens.get(call.query.get("access_token", ""))) is not None:
            call.secret = info["secret"]
        route = ROUTES.get(call.path)
        if route is None:
            # WeCom's answer to a made-up path is not documented; a loud 404 surfaces client typos.
            call.errcode = 404
            return 404, {"errcode": 404, "errmsg": f"api not found: /cgi-bin/{call.path}"}
        scripted = next((q.pop(0) for s, q in self._scripts.items() if q and _matches(call.path, s)), None)
        if isinstance(scripted, str):
            call.errcode = scripted
            return int(scripted[4:]), None
        try:
            if scripted is not None:
                raise ApiError(scripted)
            needs_token, handler = route
            if needs_token:
                self._check_token(call.query.get("access_token", ""))
            if call.body is not None and not isinstance(call.body, dict):
                raise ApiError(47001, "data format error, hint: Warning: wrong json format.")
            payload = {"errcode": 0, "errmsg": "ok", **handler(self, call.query, call.body or {})}
        except ApiError as err:
            payload = {"errcode": err.errcode, "errmsg": self._errmsg(err.errcode, err.errmsg)}
        call.errcode, call.response = payload["errcode"], payload
        return 200, payload

    def _errmsg(self, code: int, text: str | None) -> str:
        return (f"{text or ERRMSG.get(code, 'error')}, hint: [{int(self.now())}-fake{next(self._seq)}], "
                f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}")

    def _check_token(self, token: str) -> None:
        if not token:
            raise ApiError(41001)
        info = self.tokens.get(token)
        if info is None:
            raise ApiError(40014)
        if info["expired"] or self.now() >= info["issued_at"] + self.TOKEN_TTL:
            raise ApiError(42001)

    def _check_content(self, body: dict, types: set[str], limits: dict, key: str | None = None) -> None:
        msgtype = body.get("msgtype")
        if msgtype not in types:
            raise ApiError(40008)
        part = body.get(msgtype)
        if not isinstance(part, dict):
            raise ApiError(44004 if msgtype in limits else 40058, f"missing {msgtype} field")
        if msgtype in limits:
            if not part.get("content"):
                raise ApiError(44004)
            limit, code, msg = limits[msgtype]
            if _size(part["content"]) > limit:
                raise ApiError(code, msg)
        if msgtype in MEDIA_MAX and not (key is not None and msgtype == "image"):  # webhook images are base64
            media = self.media.get(part.get("media_id", ""))
            # Webhook media is usable only by the robot that uploaded it; app media only by apps.
            if (media is None or media["key"] != key or media["type"] != msgtype
                    or self.now() >= media["created_at"] + self.MEDIA_TTL):
                raise ApiError(40007)

    def _webhook_key(self, query: dict) -> str:
        key = query.get("key", "")
        if not key or (self.webhook_keys is not None and key not in self.webhook_keys):
            raise ApiError(93000)
        return key

    def _upload(self, query: dict, body: dict, key: str | None, types) -> dict:
        mtype = query.get("type", "")
        if mtype not in types:
            raise ApiError(40004)
        part = body.get("media")
        if not isinstance(part, dict):
            raise ApiError(41005)
        if not 5 <= part["size"] <= MEDIA_MAX[mtype]:
            raise ApiError(40006)
        media_id = self._id(f"fake-{mtype}-")
        at = self.now()
        self.media[media_id] = {"type": mtype, "filename": part["filename"], "size": part["size"],
                                "created_at": at, "key": key, "data": part.pop("data", None)}
        kept = [m for m in self.media.values() if m["data"] is not None]
        for old in kept[:-self.MEDIA_KEPT]:
            old["data"] = None
        return {"type": mtype, "media_id": media_id, "created_at": str(int(at))}

    # -- endpoints: each returns the success fields, or raises ApiError ------------------------------
    def gettoken(self, query: dict, body: dict) -> dict:
        corpid, secret = query.get("corpid", ""), query.get("corpsecret", "")
        if not corpid:
            raise ApiError(41002)
        if self.corpid is not None and corpid != self.corpid:
            raise ApiError(40013)
        if not secret:
            raise ApiError(41004)
        if self.valid_secrets is not None and secret not in self.valid_secrets:
            raise ApiError(40001)
        now = self.now()
        for token, info in self.tokens.items():  # WeCom hands back the same token while it is valid
            if info["secret"] == secret and not info["expired"] and now < info["issued_at"] + self.TOKEN_TTL:
                return {"access_token": token, "expires_in": int(info["issued_at"] + self.TOKEN_TTL - now)}
        token = f"fake-token-{next(self._seq)}-{secrets.token_urlsafe(32)}"
        self.tokens[token] = {"secret": secret, "issued_at": now, "expired": False}
        return {"access_token": token, "expires_in": self.TOKEN_TTL}

    def message_send(self, query: dict, body: dict) -> dict:
        to = {k: str(body.get(k) or "") for k in ("touser", "toparty", "totag")}
        if not any(to.values()):
            raise ApiError(82001)
        self._check_content(body, MESSAGE_TYPES, APP_LIMITS)
        invalid = []
        if self.known_users is not None and to["touser"] != "@all":
            users = [u for u in to["touser"].split("|") if u]
            invalid = [u for u in users if u not in self.known_users]
            if invalid and len(invalid) == len(users) and not to["toparty"] and not to["totag"]:
                raise ApiError(81013)
        return {"invaliduser": "|".join(invalid), "invalidparty": "", "invalidtag": "",
                "unlicenseduser": "", "msgid": self._id("msg")}

    def appchat_send(self, query: dict, body: dict) -> dict:
        if not body.get("chatid"):
            raise ApiError(86003)
        self._check_content(body, APP_TYPES, APP_LIMITS)
        return {}

    def webhook_send(self, query: dict, body: dict) -> dict:
        self._check_content(body, WEBHOOK_TYPES, WEBHOOK_LIMITS, key=self._webhook_key(query))
        return {}

    def webhook_upload_media(self, query: dict, body: dict) -> dict:
        return self._upload(query, body, self._webhook_key(query), ("file", "voice"))

    def media_upload(self, query: dict, body: dict) -> dict:
        return self._upload(query, body, None, MEDIA_MAX)

    def aibot_response(self, query: dict, body: dict) -> dict:
        code = query.get("response_code", "")
        if not code or code in self.used_response_codes:  # errcode for reuse is undocumented; ours: 40029
            raise ApiError(40029, "invalid response_code, already used or expired")
        self._check_content(body, {"markdown", "template_card"}, {"markdown": (20480, 45002, None)})
        self.used_response_codes.add(code)
        return {}

    def kf_sync_msg(self, query: dict, body: dict) -> dict:
        now, token = self.now(), body.get("token") or ""
        if token and now >= self.kf_tokens.get(token, -1e18) + self.KF_TOKEN_TTL:
            raise ApiError(95007)
        limit, kf = _limit(body), body.get("open_kfid") or None
        log = self.kf_messages
        if body.get("cursor"):
            try:
                start = _decode_cursor(self._kf_cursor_kind, body["cursor"])
            except ApiError:
                if not _cursor_kind(body["cursor"]).startswith("kf"):
                    raise
                start = 0  # a cursor from an earlier run of the fake: its log starts again at 0
        else:  # like WeCom: start from the oldest message still kept (3 days)
            start = next((i for i, m in enumerate(log) if m["send_time"] >= now - self.KF_KEEP), len(log))
        picked, i = [], start
        while i < len(log) and len(picked) < limit:
            if kf is None or _kf_of(log[i]) == kf:
                picked.append(copy.deepcopy(log[i]))
            i += 1
        more = any(kf is None or _kf_of(m) == kf for m in log[i:])
        return {"next_cursor": _encode_cursor(self._kf_cursor_kind, i), "has_more": int(more), "msg_list": picked}

    def kf_send_msg(self, query: dict, body: dict) -> dict:
        kf, user = body.get("open_kfid") or "", body.get("touser") or ""
        if not kf:
            raise ApiError(95000)
        if not user:
            raise ApiError(40096)
        self._check_content(body, KF_TYPES, KF_LIMITS)
        msgid = body.get("msgid")
        if msgid is not None:
            # ≤ 32 bytes of [0-9a-zA-Z_-] (SendKfMsg.yaml); too long gets 40058 on WeCom. A repeat within
            # the kf account "returns an error" with no errcode documented; ours: 40058 too.
            if not isinstance(msgid, str) or len(msgid.encode()) > 32 or not KF_MSGID.fullmatch(msgid):
                raise ApiError(40058, "invalid msgid, exceed max length or bad charset")
            if msgid in self.kf_msgids.setdefault(kf, set()):
                raise ApiError(40058, "msgid already exists")
        session = self.kf_sessions.get((kf, user))
        if session is None or self.now() > session["last_customer"] + self.KF_WINDOW:
            raise ApiError(95018)
        if session["replies"] >= self.KF_REPLIES:
            raise ApiError(95001)
        session["replies"] += 1
        self.kf_greeted[(kf, user)] = self.now()  # written to: no welcome_code for 48 h
        if msgid:
            self.kf_msgids[kf].add(msgid)
        return {"msgid": msgid or self._id("kfsend")}

    def kf_send_msg_on_event(self, query: dict, body: dict) -> dict:
        info = self.kf_event_codes.get(body.get("code") or "")
        # The errcode for a used or expired code is undocumented; ours: 40029 (invalid code).
        if info is None or info.get("used") or self.now() > info["at"] + self.WELCOME_TTL:
            raise ApiError(40029, "invalid code, already used or expired")
        if body.get("msgtype") not in ("text", "msgmenu"):
            raise ApiError(40008)
        if body["msgtype"] == "text":
            self._check_content(body, {"text"}, KF_LIMITS)
        info["used"] = True
        self.kf_greeted[(info["kf"], info["user"])] = self.now()
        return {"msgid": body.get("msgid") or self._id("kfevent")}

    def kf_customer_batchget(self, query: dict, body: dict) -> dict:
        ids = body.get("external_userid_list") or []
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(40058, "external_userid_list must hold 1..100 ids")
        return {"customer_list": [copy.deepcopy(self.kf_customers[u]) for u in ids if u in self.kf_customers],
                "invalid_external_userid": [u for u in ids if u not in self.kf_customers]}

    def kf_add_contact_way(self, query: dict, body: dict) -> dict:
        kf, scene = body.get("open_kfid") or "", body.get("scene") or ""
        if not kf:
            raise ApiError(95000)
        return {"url": f"https://work.weixin.qq.com/kf/{kf}" + (f"?enc_scene=ENC{scene}" if scene else "")}

    def groupchat_get(self, query: dict, body: dict) -> dict:
        group = self.groups.get(body.get("chat_id") or "")
        if group is None:
            raise ApiError(40050)
        group = copy.deepcopy(group)
        group.pop("status", None)
        if "member_version" not in group:  # derived, so editing member_list changes it like WeCom does
            group["member_version"] = _member_version(group)
        return {"group_chat": group}

    def groupchat_list(self, query: dict, body: dict) -> dict:
        limit, status = _limit(body), body.get("status_filter") or 0
        owners = (body.get("owner_filter") or {}).get("userid_list") or None
        chats = [{"chat_id": cid, "status": g.get("status", 0)} for cid, g in self.groups.items()
                 if (owners is None or g["owner"] in owners) and (not status or g.get("status", 0) == status)]
        start = _decode_cursor("gc", body["cursor"]) if body.get("cursor") else 0
        end = start + limit
        return {"group_chat_list": chats[start:end],
                "next_cursor": _encode_cursor("gc", end) if end < len(chats) else ""}

    def add_msg_template(self, query: dict, body: dict) -> dict:
        chat_type, text = body.get("chat_type") or "single", (body.get("text") or {}).get("content", "")
        attachments = body.get("attachments") or []
        if _size(text) > 4000:
            raise ApiError(45002)
        if len(attachments) > 9:
            raise ApiError(40058, "attachments exceed 9")
        if not text and not attachments:
            raise ApiError(44004)
        sender = body.get("sender") or ""
        if chat_type == "group":
            if not sender:
                raise ApiError(40003, "sender required for chat_type group")
            targets = body.get("chat_id_list") or []
            fail = [c for c in targets if c not in self.groups or self.groups[c]["owner"] != sender]
        else:
            targets, fail = body.get("external_userid") or [], []
        msgid = self._id("msgGC")
        self.msg_templates.append({"msgid": msgid, "chat_type": chat_type, "sender": sender, "targets": targets,
                                   "text": text, "attachments": attachments, "fail_list": fail,
                                   "time": self.now()})
        return {"msgid": msgid, "fail_list": fail}

    def send_welcome_msg(self, query: dict, body: dict) -> dict:
        code = body.get("welcome_code") or ""
        if code in self.used_welcome_codes:
            raise ApiError(41051)
        if code not in self.welcome_codes or self.now() > self.welcome_codes[code] + self.WELCOME_TTL:
            raise ApiError(41050)
        if len(body.get("attachments") or []) > 9:
            raise ApiError(40058, "attachments exceed 9")
        self.used_welcome_codes.add(code)
        return {}

    def check_room_agree(self, query: dict, body: dict) -> dict:
        """Chat-archive consent of a group's external members: Agree unless listed in `disagree`."""
        group = self.groups.get(str(body.get("roomid", "")))
        if group is None:
            raise ApiError(40050, "invalid roomid")
        return {"agreeinfo": [{"status_change_time": group["create_time"], "exteranalopenid": m["userid"],
                               "agree_status": "Disagree" if m["userid"] in self.disagree else "Agree"}
                              for m in group["member_list"] if m["type"] == 2]}

    def kf_account_list(self, query: dict, body: dict) -> dict:
        return {"account_list": []}

    def ip_list_answer(self, query: dict, body: dict) -> dict:
        return {"ip_list": list(self.ip_list)}

    def agent_get(self, query: dict, body: dict) -> dict:
        agentid = query.get("agentid", "")
        if not agentid.isdigit():
            raise ApiError(40056)
        return {"agentid": int(agentid), "name": "qunbot", "square_logo_url": "", "description": "",
                "allow_userinfos": {"user": [{"userid": u} for u in sorted(self.known_users or ())]},
                "allow_partys": {"partyid": [1]}, "allow_tags": {"tagid": []}, "close": 0,
                "redirect_domain": "", "report_location_flag": 0, "isreportenter": 0, "home_url": ""}


def _matches(path: str, suffix: str) -> bool:
    suffix = suffix.strip("/")
    return path == suffix or path.endswith("/" + suffix)


def _member_version(group: dict) -> str:
    return hashlib.md5(",".join(sorted(m["userid"] for m in group["member_list"])).encode()).hexdigest()


def _kf_of(msg: dict) -> str:
    return msg.get("open_kfid") or msg.get("event", {}).get("open_kfid", "")


# path below /cgi-bin/ -> (needs access_token, handler)
ROUTES: dict[str, tuple[bool, Callable[[FakeWeCom, dict, dict], dict]]] = {
    "gettoken": (False, FakeWeCom.gettoken),
    "message/send": (True, FakeWeCom.message_send),
    "appchat/send": (True, FakeWeCom.appchat_send),
    "webhook/send": (False, FakeWeCom.webhook_send),
    "webhook/upload_media": (False, FakeWeCom.webhook_upload_media),
    "media/upload": (True, FakeWeCom.media_upload),
    "aibot/response": (False, FakeWeCom.aibot_response),
    "kf/sync_msg": (True, FakeWeCom.kf_sync_msg),
    "kf/send_msg": (True, FakeWeCom.kf_send_msg),
    "kf/send_msg_on_event": (True, FakeWeCom.kf_send_msg_on_event),
    "kf/customer/batchget": (True, FakeWeCom.kf_customer_batchget),
    "kf/account/list": (True, FakeWeCom.kf_account_list),
    "kf/add_contact_way": (True, FakeWeCom.kf_add_contact_way),
    "externalcontact/groupchat/get": (True, FakeWeCom.groupchat_get),
    "externalcontact/groupchat/list": (True, FakeWeCom.groupchat_list),
    "externalcontact/add_msg_template": (True, FakeWeCom.add_msg_template),
    "externalcontact/send_welcome_msg": (True, FakeWeCom.send_welcome_msg),
    "getcallbackip": (True, FakeWeCom.ip_list_answer),
    "get_api_domain_ip": (True, FakeWeCom.ip_list_answer),
    "agent/get": (True, FakeWeCom.agent_get),
    "msgaudit/check_room_agree": (True, FakeWeCom.check_room_agree),
}

FAKE_KEY = web.AppKey("fakewecom", FakeWeCom)


async def _read_body(request: web.Request) -> Any:
    if request.content_type.startswith("multipart/"):
        parts: dict[str, dict] = {}
        async for part in await request.multipart():
            if isinstance(part, BodyPartReader):
                data = await part.read()
                parts[part.name or ""] = {"filename": part.filename, "size": len(data),
                                          "content_type": part.headers.get("Content-Type", ""), "data": data}
        return parts
    raw = await request.text()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)  # WeCom parses the body as JSON whatever the Content-Type says
    except ValueError:
        return raw


async def _dispatch(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    call = Call(request.match_info["path"].strip("/"), dict(request.query), await _read_body(request),
                fake.now())
    fake.calls.append(call)
    status, payload = fake.answer(call)
    if payload is None:
        return web.Response(status=status, text=f"{status} fake upstream error")
    return web.json_response(payload, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def _aibot_ws(request: web.Request) -> web.WebSocketResponse:
    return await request.app[FAKE_KEY].aibot.serve(request)


async def _sandbox_calls(request: web.Request) -> web.Response:
    """What the service sent so far (for `qunbot chat`): calls after index `since`."""
    fake = request.app[FAKE_KEY]
    try:
        since = max(0, int(request.query.get("since", "0")))
    except ValueError:
        since = 0
    rows = [{"i": i, "path": c.path, "errcode": c.errcode, "file": _file_name(fake, c.body),
             "to": _event_user(fake, c),
             "body": c.body if isinstance(c.body, dict) and "upload" not in c.path else None,
             "query": {k: v for k, v in c.query.items() if k != "access_token"}}
            for i, c in enumerate(fake.calls[since:], start=since)]
    return web.json_response({"calls": rows, "next": len(fake.calls)},
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _event_user(fake: FakeWeCom, call: Call) -> str | None:
    """Who a kf enter_session greeting went to (its body names only the event's code)."""
    if call.path != "kf/send_msg_on_event" or not isinstance(call.body, dict):
        return None
    return (fake.kf_event_codes.get(str(call.body.get("code") or "")) or {}).get("user")


def _file_name(fake: FakeWeCom, body: Any) -> str | None:
    """The uploaded file's name for a message that sends a file (the console shows it with a link)."""
    if not isinstance(body, dict) or body.get("msgtype") != "file":
        return None
    media = fake.media.get(str((body.get("file") or {}).get("media_id", "")))
    return media["filename"] if media else None


async def _sandbox_kf(request: web.Request) -> web.Response:
    """Queue a shopper's kf message (or enter_session event) as WeCom would, and return the callback token."""
    fake = request.app[FAKE_KEY]
    try:
        data = await request.json()
        msg = fake.kf_push(str(data["open_kfid"]), str(data["external_userid"]), str(data.get("text", "")),
                           msgtype=str(data.get("msgtype", "text")), event=data.get("event"), welcome=True)
    except (ValueError, KeyError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    if data.get("nickname"):  # the WeChat name kf/customer/batchget answers with
        fake.kf_customers[str(data["external_userid"])]["nickname"] = str(data["nickname"])
    return web.json_response({"msgid": msg["msgid"], "token": fake.kf_token()})


async def _sandbox_welcome_code(request: web.Request) -> web.Response:
    """A WelcomeCode, as WeCom puts in the add_external_contact event (valid 20 s)."""
    return web.json_response({"welcome_code": request.app[FAKE_KEY].welcome_code()})


async def _sandbox_group(request: web.Request) -> web.Response:
    """Make sure a customer group exists (for `qunbot chat`): create it, or add members to it."""
    fake = request.app[FAKE_KEY]
    try:
        data = await request.json()
        chat_id, owner = str(data["chat_id"]), str(data["owner"])
        members = [str(m) for m in data.get("members") or []]
    except (ValueError, KeyError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    group = fake.groups.get(chat_id)
    created = group is None
    if created:
        group = fake.add_group(chat_id, owner, members, name=str(data.get("name") or ""))
        last, added = "", []
    else:
        have = {m["userid"] for m in group["member_list"]}
        last = _member_version(group)
        added = [m for m in dict.fromkeys(members) if m not in have]
        group["member_list"] += [{"userid": m, "type": 2 if m.startswith(("wm", "wo")) else 1,
                                  "join_time": int(fake.now()), "join_scene": 1} for m in added]
    # What the change_external_chat event WeCom would send carries: who joined, versions before/after.
    return web.json_response({"chat_id": chat_id, "owner": group["owner"], "created": created,
                              "members": [m["userid"] for m in group["member_list"]], "added": added,
                              "last_version": last, "version": _member_version(group)})


async def _sandbox_media(request: web.Request) -> web.Response:
    """The bytes of a file the service uploaded (the console prints this link for 提货单, digest XLSX)."""
    media = request.app[FAKE_KEY].media.get(request.match_info["media_id"])
    if media is None or media.get("data") is None:
        return web.json_response({"error": "unknown or no longer kept media_id"}, status=404)
    name = quote(media["filename"] or "file")
    return web.Response(body=media["data"], content_type="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


class AibotHub:
    """WeCom's side of the 智能机器人 long connection (docs/aibot-websocket.md), for tests and the sandbox.

    Frames are JSON {cmd, headers: {req_id}, body}; answers are {headers: {req_id}, errcode, errmsg}.
    One live connection per bot: a new subscription kicks the old one with a disconnected_event.
    Where WeCom's answer is not documented (a bad secret's errcode, an unknown req_id, a refresh of a
    finished stream) the fake refuses, with the errcodes other clients report, so a client that copes
    here copes there. Every frame a client sends is recorded in FakeWeCom.calls as "aibot_ws/<cmd>".
    """

    REPLY_WINDOW = DAY  # replies to a callback are accepted for 24 h
    STREAM_MAX = 20480

    def __init__(self, fake: "FakeWeCom") -> None:
        self.fake = fake
        self.secrets: dict[str, str] = {}  # bot_id -> secret
        self.live: dict[str, web.WebSocketResponse] = {}  # bot_id -> its one subscribed connection
        self.subscribes: list[dict] = []  # {bot_id, ok, errcode}
        self.req_ids: dict[str, dict] = {}  # callback req_id -> {bot, at, chat}
        self.chats: set[tuple[str, str]] = set()  # (bot, chatid) that wrote to the bot (push allowed)
        self.finished: set[tuple[str, str]] = set()  # (req_id, stream id) already sent with finish
        self.ignore_pings = False  # fault: stop answering pings (the client must notice and redial)
        self.connected = 0  # connections accepted so far
        self.kicks = 0  # connections replaced by a newer subscription (disconnected_event sent)

    def bot(self, bot_id: str, secret: str) -> None:
        self.secrets[bot_id] = secret

    async def push(self, bot_id: str, body: dict, *, req_id: str | None = None,
                   cmd: str = "aibot_msg_callback") -> str:
        """Deliver a callback to the bot's live connection; returns its req_id (reuse it to redeliver)."""
        ws = self.live.get(bot_id)
        if ws is None or ws.closed:
            raise RuntimeError(f"bot {bot_id} has no live connection")
        rid = req_id or f"cb_{next(self.fake._seq)}_{secrets.token_hex(6)}"
        chatid = body.get("chatid") or (body.get("from") or {}).get("userid", "")
        self.req_ids[rid] = {"bot": bot_id, "at": self.fake.now(), "chat": chatid}
        self.chats.add((bot_id, chatid))
        await ws.send_str(json.dumps({"cmd": cmd, "headers": {"req_id": rid}, "body": body}, ensure_ascii=False))
        return rid

    async def drop(self, bot_id: str) -> None:
        """The network drops the connection (closed without a disconnected_event)."""
        ws = self.live.pop(bot_id, None)
        if ws is not None:
            await ws.close(code=1012, message=b"fake: dropped")

    def replies(self, bot_id: str | None = None, *, ok: bool = True) -> list[Call]:
        return [c for c in self.fake.calls if c.path in ("aibot_ws/aibot_respond_msg", "aibot_ws/aibot_send_msg",
                                                        "aibot_ws/aibot_respond_welcome_msg")
                and (bot_id is None or c.query.get("bot") == bot_id) and (c.errcode == 0) == ok]

    def texts(self, bot_id: str | None = None) -> list[str]:
        """What users saw: the content of every accepted reply, push and welcome, in order."""
        out = []
        for c in self.replies(bot_id):
            body = c.body or {}
            mt = body.get("msgtype")
            out.append(str((body.get(mt) or {}).get("content", "")))
        return out

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=4 << 20)
        await ws.prepare(request)
        self.connected += 1
        bot: str | None = None
        try:
            async for raw in ws:
                if raw.type != web.WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(raw.data)
                    rid = str(frame["headers"]["req_id"])
                    cmd = str(frame.get("cmd") or "")
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=1003, message=b"bad frame")  # undocumented; the strict answer
                    break
                if cmd == "aibot_subscribe":
                    bot = await self._subscribe(ws, rid, frame.get("body") or {})
                    if bot is None:
                        break
                    continue
                if bot is None or self.live.get(bot) is not ws:
                    await self._answer(ws, rid, 40058, "not subscribed")
                    continue
                if cmd == "ping":
                    if not self.ignore_pings:
                        await self._answer(ws, rid, 0)
                    continue
                call = Call(f"aibot_ws/{cmd}", {"bot": bot, "req_id": rid}, frame.get("body"), self.fake.now())
                self.fake.calls.append(call)
                code, text = self._reply(bot, cmd, rid, frame.get("body"))
                call.errcode = code
                await self._answer(ws, rid, code, text)
        finally:
            if bot is not None and self.live.get(bot) is ws:
                del self.live[bot]
        return ws

    async def _answer(self, ws: web.WebSocketResponse, rid: str, code: int, text: str | None = None) -> None:
        if not ws.closed:
            await ws.send_str(json.dumps({"headers": {"req_id": rid}, "errcode": code,
                                          "errmsg": "ok" if code == 0 else self.fake._errmsg(code, text)}))

    async def _subscribe(self, ws: web.WebSocketResponse, rid: str, body: dict) -> str | None:
        bot_id, secret = str(body.get("bot_id") or ""), str(body.get("secret") or "")
        # Reported by WeCom's own CLI for bot credentials: 93019 invalid bot_id, 853000 bad secret.
        code = 93019 if bot_id not in self.secrets else (853000 if self.secrets[bot_id] != secret else 0)
        self.subscribes.append({"bot_id": bot_id, "ok": code == 0, "errcode": code})
        if code:
            await self._answer(ws, rid, code, "invalid bot_id" if code == 93019 else "signature is incorrect")
            await ws.close(code=1008, message=b"auth failed")
            return None
        old = self.live.get(bot_id)
        self.live[bot_id] = ws
        if old is not None and not old.closed:
            self.kicks += 1
            await old.send_str(json.dumps({"cmd": "aibot_event_callback", "headers": {"req_id": f"ev_{rid}"},
                                           "body": {"msgid": f"dc_{rid}", "create_time": int(self.fake.now()),
                                                    "aibotid": bot_id, "msgtype": "event",
                                                    "event": {"eventtype": "disconnected_event"}}}))
            # Not awaited: closing waits for the old client's answer, and the new one must not wait on it.
            asyncio.get_running_loop().create_task(old.close(code=1000, message=b"replaced by a new connection"))
        await self._answer(ws, rid, 0)
        return bot_id

    def _reply(self, bot: str, cmd: str, rid: str, body: Any) -> tuple[int, str | None]:
        scripted = next((q.pop(0) for s, q in self.fake._scripts.items() if q and s == cmd), None)
        if isinstance(scripted, int):
            return scripted, None
        if not isinstance(body, dict):
            return 40058, "missing body"
        if cmd == "aibot_send_msg":
            chatid = str(body.get("chatid") or "")
            if (bot, chatid) not in self.chats:  # only chats that wrote to the bot can be pushed to
                return 40058, "chat has not talked to the bot"
            if body.get("msgtype") not in ("markdown", "template_card"):
                return 40008, None
            return self._content(body, "markdown")
        if cmd not in ("aibot_respond_msg", "aibot_respond_welcome_msg"):
            return 40058, f"unknown cmd {cmd}"
        origin = self.req_ids.get(rid)
        if origin is None or origin["bot"] != bot or self.fake.now() > origin["at"] + self.REPLY_WINDOW:
            return 40058, "invalid req_id"  # WeCom's errcode here is not documented
        if cmd == "aibot_respond_welcome_msg":
            return self._content(body, "text") if body.get("msgtype") == "text" else (40008, None)
        if body.get("msgtype") != "stream":
            return (0, None) if body.get("msgtype") in ("markdown", "template_card") else (40008, None)
        stream = body.get("stream") or {}
        sid = str(stream.get("id") or "")
        if not sid:
            return 40058, "stream.id required"
        if (rid, sid) in self.finished:
            return 40058, "stream already finished"
        if _size(stream.get("content")) > self.STREAM_MAX:
            return 40058, "stream.content exceed max length 20480"
        if stream.get("finish"):
            self.finished.add((rid, sid))
        return 0, None

    @staticmethod
    def _content(body: dict, msgtype: str) -> tuple[int, str | None]:
        content = (body.get(msgtype) or {}).get("content") if isinstance(body.get(msgtype), dict) else None
        if not content:
            return 44004, None
        return (40058, f"{msgtype}.content exceed max length 20480") if _size(content) > 20480 else (0, None)


def create_fake_app(state: FakeWeCom | None = None) -> web.Application:
    app = web.Application(client_max_size=32 << 20)  # media uploads go up to 20 MB
    app[FAKE_KEY] = state if state is not None else FakeWeCom()
    app.router.add_route("*", "/cgi-bin/{path:.*}", _dispatch)
    app.router.add_get("/openws", _aibot_ws)  # the 智能机器人 long connection (wss://openws.work.weixin.qq.com)
    app.router.add_get("/sandbox/calls", _sandbox_calls)
    app.router.add_post("/sandbox/kf", _sandbox_kf)
    app.router.add_post("/sandbox/group", _sandbox_group)
    app.router.add_post("/sandbox/welcome_code", _sandbox_welcome_code)
    app.router.add_get("/sandbox/media/{media_id}", _sandbox_media)
    install_oauth(app)  # the console's sign-in (OAuth2 for self-built apps)
    from bot import fakefaults  # fault modes switchable at runtime (POST /sandbox/faults)
    fakefaults.install(app, app[FAKE_KEY])
    return app


# -- OAuth2 sign-in for self-built apps (the console) --------------------------------------------
# open.weixin.qq.com/connect/oauth2/authorize -> redirect_uri?code&state; cgi-bin/auth/getuserinfo
# turns the code into a userid. Codes are single-use and expire after 5 minutes (40029 otherwise),
# as WeCom documents. The authorize page is a picker: sign in as any user of `directory`, or type one.
OAUTH_CODE_TTL = 300


@dataclass
class FakeOAuth:
    directory: dict[str, str]  # userid -> description shown on the picker
    codes: dict[str, tuple[str, float]]  # code -> (userid, issued at)


def oauth_of(fake: FakeWeCom) -> FakeOAuth:
    """The OAuth state of a fake (kept on it, made on first use)."""
    state = fake.__dict__.get("_oauth")
    if state is None:
        state = fake.__dict__["_oauth"] = FakeOAuth({}, {})
    return state


def oauth_code(fake: FakeWeCom, userid: str) -> str:
    """What WeCom's authorize page hands the browser for `userid` (tests skip the picker with it)."""
    code = secrets.token_urlsafe(24)
    oauth_of(fake).codes[code] = (userid, fake.now())
    return code


def _auth_getuserinfo(fake: FakeWeCom, query: dict, body: dict) -> dict:
    found = oauth_of(fake).codes.pop(query.get("code", ""), None)
    if found is None or fake.now() >= found[1] + OAUTH_CODE_TTL:
        raise ApiError(40029)
    userid = found[0]
    if userid.startswith(("wm", "wo")):  # not a member of the corp: WeCom answers an openid instead
        return {"openid": f"o{hashlib.sha1(userid.encode()).hexdigest()[:27]}", "external_userid": userid}
    return {"userid": userid, "user_ticket": secrets.token_urlsafe(32)}


ROUTES["auth/getuserinfo"] = (True, _auth_getuserinfo)


def _authorize_problem(fake: FakeWeCom, q) -> str | None:
    if fake.corpid is not None and q.get("appid") != fake.corpid:
        return "appid is not this corp's CorpID"
    if q.get("response_type") != "code" or q.get("scope") not in ("snsapi_base", "snsapi_privateinfo"):
        return "response_type must be code and scope snsapi_base"
    redirect = q.get("redirect_uri", "")
    if not redirect.startswith(("http://", "https://")):
        return "redirect_uri missing (WeCom: redirect_uri参数错误)"
    state = q.get("state", "")
    if len(state) > 128 or not all(c.isascii() and c.isalnum() for c in state):
        return "state must be a-zA-Z0-9, at most 128 bytes"
    return None


async def _oauth_authorize(request: web.Request) -> web.Response:
    """GET: the picker. POST (the picker's form): issue a code and send the browser back."""
    fake = request.app[FAKE_KEY]
    q = dict(request.query) if request.method == "GET" else dict(await request.post())
    problem = _authorize_problem(fake, q)
    if problem:
        return web.Response(status=400, text=f"fake WeCom authorize: {problem}")
    sep = "&" if "?" in q["redirect_uri"] else "?"
    if request.method == "POST":
        userid = str(q.get("userid") or q.get("typed") or "").strip()
        if not userid:
            return web.Response(status=400, text="fake WeCom authorize: pick a user")
        target = f"{q['redirect_uri']}{sep}" + urlencode({"code": oauth_code(fake, userid), "state": q.get("state", "")})
        raise web.HTTPFound(target)
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(str(v))}">' for k, v in q.items())
    users = "".join(f'<button name="userid" value="{html.escape(u)}" id="pick-{html.escape(u)}">{html.escape(u)}'
                    f' <small>{html.escape(d)}</small></button>' for u, d in oauth_of(fake).directory.items())
    page = (f'<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f'<title>Fake WeCom sign-in</title><h3>Fake WeCom: sign in as</h3>'
            f'<form method="post" style="display:grid;gap:8px;max-width:360px">{hidden}{users}'
            f'<input name="typed" placeholder="any userid" id="userid"><button id="go">OK</button></form>')
    return web.Response(text=page, content_type="text/html")


def install_oauth(app: web.Application) -> None:
    app.router.add_route("GET", "/connect/oauth2/authorize", _oauth_authorize)
    app.router.add_route("POST", "/connect/oauth2/authorize", _oauth_authorize)
