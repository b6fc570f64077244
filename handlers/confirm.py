"""Which draft a 确认 means, decided once for every feature.

A bare 确认 means only the draft the bot showed in the guide's previous exchange, within
[conversation] confirm_minutes; any other message of theirs in that chat in between ends that (the
hook below). A named 确认 (`确认 开团`, `确认 团6`, `确认 C12`) means that draft while it lives.
When neither finds a draft, the guide is told what is pending and how to confirm each by name, or
that nothing is. The decision is stored under the message id (store/confirmations.py `route`), and
the features' own 确认 handlers (coupons, 接龙) act only on what was routed to them.
"""
from __future__ import annotations

import re

from bot import conversation
from bot.config import Config
from bot.feature import Feature
from bot.message import Message, Reply
from bot.router import SKIP, Handled, Router, split_command
from store import Store

router = Router(__name__)

NAMES = ("确认", "确定", "确认开团")
_OPEN = re.compile(r"^(?:开团|团|团购|接龙)$")
_GROUP = re.compile(r"^(?:结团|截团|撤团|团号?|#)?(\d{1,9})$")
_CAMPAIGN = re.compile(r"^[Cc](\d+)$")


def offer_name(command: str, args: str) -> str | None:
    """The name a 确认 gives ("" for a bare one), or None when it names nothing we know how to read."""
    t = re.sub(r"\s+", "", args or "")
    if command == "确认开团" or _OPEN.match(t):
        return "开团"
    if not t:
        return ""
    m = _GROUP.match(t)
    if m:
        return f"团{int(m.group(1))}"
    m = _CAMPAIGN.match(t)
    if m:
        return f"C{int(m.group(1))}"
    return None


@router.any_text(roles=("guide",))
async def interrupted(msg: Message, store: Store) -> Handled:
    # Every other guide message in the chat where a draft was shown: a bare 确认 no longer means it.
    if msg.kind == "text" and not split_command(msg.text or "", NAMES):
        await store.confirmations.interrupted(msg.sender, msg.conversation, msg.id)
    return SKIP


@router.command(*NAMES, roles=("guide",))
async def which(command: str, args: str, msg: Message, store: Store, config: Config, now: float) -> Handled:
    conf = store.confirmations
    if await conf.routed(msg.id) is not None:
        return SKIP  # redelivered: the feature finds the same draft under this message id
    name = offer_name(command, args)
    offer = None
    if name == "":
        pointer = await conf.bare(msg.sender, msg.id, now)
        offer = await conf.get(msg.sender, pointer["name"], now) if pointer else None
    elif name is not None:
        offer = await conf.get(msg.sender, name, now)
    if offer is None and name and name.startswith("C"):
        return SKIP  # a campaign by id (e.g. drafted through the admin API): coupons decides
    if offer is None:
        st = conversation.settings(config)
        return Reply("confirm/pending.txt.j2", named=(args or "").strip() if name != "" else "",
                     offers=await conf.offers(msg.sender, now), minutes=round(st.confirm_minutes))
    await conf.route(msg.id, offer)
    return SKIP


async def meant(store, msg, feature: str) -> dict | None:
    """The draft of `feature` this 确认 message was routed to, or None (not this feature's)."""
    offer = await store.confirmations.routed(msg.id)
    return offer if offer and offer.get("feature") == feature else None


async def offer_draft(store, config, msg, name: str, *, feature: str, label: str, ttl: int, now: float, **extra) -> None:
    """Show-and-wait: the draft just shown to `msg.sender` is confirmable by `确认 <name>` for
    `ttl` seconds, and by a bare 确认 in the next exchange."""
    st = conversation.settings(config)
    await store.confirmations.offer(msg.sender, name, feature=feature, label=label, conversation=msg.conversation,
                                    msg_id=msg.id, now=now, ttl=ttl, window=st.confirm_seconds, **extra)


# [conversation] (bot/conversation.py) is a core section: the app checks it before any feature starts.
feature = Feature("confirm", routers=[router])
