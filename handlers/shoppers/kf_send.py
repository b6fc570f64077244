"""Replies to kf shoppers through kf/send_msg, keeping inside WeCom's rules before calling it.

WeCom allows at most 5 messages per customer message and nothing 48 h after the customer's last
message (95001 / 95018). The puller records each customer message's time; this channel counts
replies against it and refuses locally what WeCom would refuse, with the same errcodes, so the
sender gives up on them without a call and without a retry. A conversation with no recorded
customer message (older than the record) is left to WeCom to judge.
"""
from __future__ import annotations

import time

from bot.config import Config
from bot.wecom_api import WeComClient, WeComError
from store import Store

QUOTA, WINDOW = 95001, 95018


def kf_channel(config: Config, store: Store, api: WeComClient):
    async def deliver(out: dict, text: str) -> None:
        open_kfid, _, user = out["to"].partition(":")
        conv = f"kf:{open_kfid}:{user}"
        verdict = await store.kf.take_reply(conv, time.time())
        if verdict == "window":
            raise WeComError("kf/send_msg", WINDOW, "48 h since the customer's last message (checked locally)")
        if verdict == "quota":
            raise WeComError("kf/send_msg", QUOTA, "5 replies to this customer message already (checked locally)")
        try:
            await api.call("kf/send_msg", secret=config.wecom.app.secret, json_body={
                "touser": user, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": text}})
        except WeComError as exc:
            if verdict == "ok" and exc.errcode not in (QUOTA, WINDOW):
                await store.kf.refund_reply(conv)  # WeCom did not take it; the slot is still free
            raise
    return deliver
