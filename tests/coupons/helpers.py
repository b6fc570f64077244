"""Shared helpers for coupon tests: campaigns straight into the ledger, kf shopper messages."""
from __future__ import annotations

import itertools
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.message import Message
from handlers.coupons import service
from handlers.coupons.rules import CampaignSpec, parse_campaign
from store import Store

TZ = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def spec(text: str, now: float | None = None) -> CampaignSpec:
    parsed = parse_campaign(text, datetime.fromtimestamp(now or time.time(), TZ), TZ)
    assert isinstance(parsed, CampaignSpec), parsed
    return parsed


async def live_campaign(store: Store, text: str, *, owner: str = "S01", now: float | None = None,
                        welcome: bool = False) -> str:
    now = time.time() if now is None else now
    cid = await service.create_campaign(store, spec(text, now), owner=owner, by="xiaowang", now=now, welcome=welcome)
    assert await store.coupons.confirm(cid, by="xiaowang", now=now) == "live"
    return cid


def kf_message(user: str, text: str, *, kf: str = "wkS01", msg_id: str | None = None) -> Message:
    return Message(id=msg_id or f"kf:m{next(_seq)}-{time.monotonic_ns()}", channel="kf",
                   conversation=f"kf:{kf}:{user}", sender=user, sender_kind="customer", text=text,
                   time=int(time.time()))


async def shopper_says(service_h, user: str, text: str, *, kf: str = "wkS01", msg_id: str | None = None,
                       drain: bool = True) -> list[str]:
    """A kf shopper writes (the fake opens their 48 h window); returns the kf texts sent back."""
    service_h.fake.kf_push(kf, user, text)
    msg = kf_message(user, text, kf=kf, msg_id=msg_id)
    before = len(service_h.sent_texts(user, path="kf/send_msg"))
    await service_h.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    if drain:
        await service_h.drain()
    return service_h.sent_texts(user, path="kf/send_msg")[before:]


CODE = re.compile(r"券码[:：]\s*([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z])")


def codes_in(texts: list[str]) -> list[str]:
    return [m for t in texts for m in CODE.findall(t)]


async def make_live(shop, text: str = "新人券 满50减10 100张 每人1张 有效3天 全员", user: str = "xiaowang") -> str:
    [draft] = await shop.ask(f"/发券 {text}", user=user)
    cid = re.match(r"(C\d+)「", draft).group(1)
    [live] = await shop.ask("确认", user=user)
    assert "上线了" in live, live
    return cid
