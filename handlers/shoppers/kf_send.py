"""Replies to kf shoppers through kf/send_msg, each with a msgid so a retry is never shown twice.

WeCom allows at most 5 messages per customer message and nothing 48 h after the customer's last
message (95001 / 95018). The puller records each customer message's time; the sender checks a
reply against it (store/kf.py, in the same round trip as its other checks) and refuses locally
what WeCom would refuse: a closed window is dead-lettered, a used-up quota waits for the
customer's next message. A conversation with no recorded customer message is left to WeCom.

kf/send_msg takes a caller msgid (≤ 32 bytes of [0-9a-zA-Z_-], unique per kf account) and
refuses a repeat. The msgid is derived from the outbox entry's id and the part number, so every
retry of one part, by any worker and after a replay, carries the same msgid. When an earlier try
went unanswered (timeout, 5xx) and WeCom then refuses the msgid as a repeat, the first try did
arrive: that counts as delivered. WeCom does not document which errcode a repeat gets; the fake
and the default [sender] kf_duplicate_errcodes assume 40058 (its invalid-parameter code, which it
also gives an over-long msgid). Verify it on a tenant and set the list.
"""
from __future__ import annotations

import base64
import hashlib
import logging

from bot.config import Config
from bot.wecom_api import WeComClient, WeComError
from store import Store

log = logging.getLogger(__name__)


def kf_msgid(outbox_id: str, part: int) -> str:
    """32 characters of [0-9a-zA-Z_-]: 'q' + 31 of a SHA-256 of the outbox id and part number."""
    digest = hashlib.sha256(f"{outbox_id}#{part}".encode()).digest()
    return "q" + base64.urlsafe_b64encode(digest).decode()[:31]


def kf_channel(config: Config, store: Store, api: WeComClient):
    duplicate = frozenset(config.sender.kf_duplicate_errcodes)

    async def deliver(out: dict, text: str) -> None:
        open_kfid, _, user = out["to"].partition(":")
        attempt = out.get("_try") or {}
        body = {"touser": user, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": text}}
        if attempt.get("oid"):
            body["msgid"] = kf_msgid(attempt["oid"], int(attempt.get("index", 0)))
        try:
            await api.call("kf/send_msg", secret=config.wecom.app.secret, json_body=body)
        except WeComError as exc:
            if exc.errcode in duplicate and attempt.get("maybe_sent") and "msgid" in body:
                log.info("kf/send_msg refused msgid %s as a repeat (errcode %s) after an unanswered try: "
                         "the first try arrived", body["msgid"], exc.errcode)
                return
            raise
    return deliver
