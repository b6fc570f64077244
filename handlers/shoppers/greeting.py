"""A shopper who opens the store's 微信客服 is greeted: the enter_session event carries a one-shot
welcome_code (only when WeCom has not greeted or heard from them within 48 h), spent with
kf/send_msg_on_event within 20 s. The greeting names the store the scene or the kf account points
to and says what the bot can do, so the first thing a shopper sees is not silence.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.config import Config
from bot.message import Message, Reply
from bot.render import renderer
from bot.router import Router
from handlers.shoppers.context import Shoppers
from handlers.shoppers.wecom_calls import send_once

if TYPE_CHECKING:
    from bot.wecom_api import WeComClient

log = logging.getLogger(__name__)
router = Router(__name__)

WINDOW = 20  # seconds a kf welcome_code lives
EXPECTED = {40029: "welcome code used or expired", 95018: "session state does not allow it"}


@router.event("kf_enter_session")
async def greet(msg: Message, shoppers: Shoppers, api: WeComClient, config: Config, now: float) -> None:
    code = str(msg.raw.get("welcome_code") or "")
    if not code or not shoppers.settings.kf_greeting:
        return None
    if now - msg.time > WINDOW:
        log.info("kf greeting for %s skipped: event is %.0fs old", msg.sender, now - msg.time)
        return None
    ctx = await shoppers.context(msg)
    s = shoppers.store_config(ctx.store_id) if ctx else None
    text = renderer(config)(Reply("shoppers/kf_greeting.txt.j2", store_name=s.name if s else ""))
    await send_once(api, "kf/send_msg_on_event", config.wecom.app.secret,
                    {"code": code, "msgtype": "text", "text": {"content": text}}, f"kf greeting for {msg.sender}",
                    EXPECTED)
    return None
