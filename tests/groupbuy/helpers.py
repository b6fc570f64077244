"""Driving the 接龙 feature end to end: a guide on the app channel, shoppers on 微信客服 (kf)."""
from __future__ import annotations

import itertools
import time

from bot.message import Message
from bot.router import Dispatcher
from handlers import confirm, help
from handlers.groupbuy import chat
from handlers.qa.catalog import parse_catalog_csv

KF = "wkS01"
CATALOG = "/work/shared/data/catalog.csv"
_ids = itertools.count(1)


def use_groupbuy(service) -> None:
    """Route through this feature only, until handlers/__init__.py lists it."""
    service.worker.dispatcher = Dispatcher([confirm.router, help.router, chat.router])


async def load_catalog(service) -> None:
    with open(CATALOG, "rb") as f:
        products, errors = parse_catalog_csv(f.read())
    assert not errors
    await service.store.catalog.replace(products)


def kf_message(user: str, text: str, msg_id: str | None = None) -> Message:
    return Message(id=msg_id or f"kfm{next(_ids)}", channel="kf", conversation=f"kf:{KF}:{user}", sender=user,
                   sender_kind="customer", text=text, time=int(time.time()))


async def kf_put(service, msg: Message, dedupe_id: str | None = None) -> None:
    """Queue a shopper message as the kf ingestion would; also opens the fake's reply window."""
    service.fake.kf_push(KF, msg.sender, msg.text)
    await service.store.inbox.put(msg.conversation, dedupe_id or msg.id, msg.to_json())


def kf_sent(service, user: str) -> list[str]:
    return service.sent_texts(user, path="kf/send_msg")


async def shop(service, user: str, text: str) -> list[str]:
    """A shopper says something; returns what the bot sent back to that shopper."""
    before = len(kf_sent(service, user))
    await kf_put(service, kf_message(user, text))
    await service.drain()
    return kf_sent(service, user)[before:]


OPEN = "/开团 丹东99草莓 36.9元/盒 限200盒 每人限4盒 满20盒成团 截止明天20:00 自提周六10-12点服务台"


async def open_group(service, text: str = OPEN, guide: str = "xiaowang") -> int:
    draft = await service.ask(text, user=guide)
    assert draft and "请核对" in draft[0], draft
    opened = await service.ask("确认", user=guide)
    assert opened and "已开团" in opened[0], opened
    return int(opened[0].split("团号 ")[1].split("｜")[0])
