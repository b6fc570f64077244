"""New contacts: a customer adds a guide; within 20 s the store's welcome goes out with the
event's WelcomeCode (externalcontact/send_welcome_msg), with the store's kf link attached.

Sent from the handler, not the outbox: the code dies 20 s after the event and a queue could eat
that. 41050 (code expired) and 41051 (already chatting, or another app welcomed first) are
ordinary outcomes. The contact is remembered, so the shopper's store is known when they write.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.config import Config
from bot.message import Message, Reply
from bot.render import renderer
from bot.router import Router
from handlers.shoppers import scenes
from handlers.shoppers.context import Shoppers
from handlers.shoppers.wecom_calls import contact_secret, send_once
from store import Store

if TYPE_CHECKING:
    from bot.wecom_api import WeComClient

log = logging.getLogger(__name__)
router = Router(__name__)

WINDOW = 20  # seconds a WelcomeCode lives
EXPECTED = {41050: "welcome code expired", 41051: "customer already chatting or welcomed by another app"}
NEW_CONTACT = ("add_external_contact", "add_half_external_contact")


async def link_attachment(shoppers: Shoppers, store_id: str, scene: str = "") -> dict | None:
    """The store's kf link as a WeCom `link` attachment, or None without a kf account."""
    url = await shoppers.kf_link(store_id, scene)
    if not url:
        return None
    s = shoppers.store_config(store_id)
    name = (s.name if s else "") or store_id
    render = renderer(shoppers.cfg)
    return {"msgtype": "link", "link": {
        "title": render(Reply("shoppers/link_title.txt.j2", store_name=name)),
        "desc": render(Reply("shoppers/link_desc.txt.j2", store_name=name)), "url": url}}


async def welcome_body(shoppers: Shoppers, store_id: str, user: str, guide: str) -> dict:
    extras = []
    for extra in shoppers.welcome_extras:
        try:
            line = await extra(store_id, user, guide)
        except Exception:  # another feature's add-on must not cost the shopper the welcome
            log.exception("welcome extra %r failed", extra)
            continue
        if line:
            extras.append(line)
    link = await link_attachment(shoppers, store_id) if shoppers.settings.welcome_link else None
    s = shoppers.store_config(store_id)
    text = renderer(shoppers.cfg)(Reply("shoppers/welcome.txt.j2", store_name=(s.name if s else "") or store_id,
                        guide_name="", has_link=link is not None, extras=extras))
    return {"text": {"content": text}, "attachments": [link] if link else []}


@router.event("change_external_contact")
async def new_contact(msg: Message, shoppers: Shoppers, store: Store, api: WeComClient, config: Config,
                      now: float) -> None:
    raw = msg.raw
    if raw.get("ChangeType") not in NEW_CONTACT:
        return None
    user, guide = str(raw.get("ExternalUserID") or ""), str(raw.get("UserID") or "")
    store_id = scenes.store_from_scene(config, str(raw.get("State") or "")) or shoppers.store_of_guide(guide)
    if store_id and user:
        await store.shoppers.add_contact(user, store_id, guide, msg.time)
    code = str(raw.get("WelcomeCode") or "")
    if not code or not store_id or not shoppers.settings.welcome:
        return None  # no code: the admin console's own welcome applies, or the customer chatted before
    if now - msg.time > WINDOW:
        log.info("welcome for %s skipped: event is %.0fs old, the code lived %ds", user, now - msg.time, WINDOW)
        return None
    body = {"welcome_code": code, **await welcome_body(shoppers, store_id, user, guide)}
    await send_once(api, "externalcontact/send_welcome_msg", contact_secret(config), body, f"welcome for {user}",
                    EXPECTED)
    return None
