"""Who is claiming: the shopper's id, their store, where replies reach them, and when they joined.

This is the one place that knows how a shopper message maps to a store and a group join time.
When the shopper-channel feature (issue 3) is wired, `deps["shoppers"].context(msg)` answers both
(store from scene / choice / kf account / groups / contact; join time from its synced group
members). Without it (tests of this feature alone, or before it is wired) the store comes from the
kf account the shopper wrote to (config.stores[].kf) and the join time from WeCom's
externalcontact/groupchat/get over the store's groups (config.stores[].groups), cached briefly.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from bot.config import Config
from bot.message import Message
from bot.wecom_api import WeComError

log = logging.getLogger(__name__)

MEMBER_CACHE_SECONDS = 60.0  # a join shows up in groupchat/get with some lag anyway
# (api base, chat id) -> (fetched at, {userid: join_time})
_members: dict[tuple[str, str], tuple[float, dict[str, int]]] = {}


def kf_parts(msg: Message) -> tuple[str, str] | None:
    """(open_kfid, external_userid) of a kf conversation, or None for other channels."""
    if msg.channel != "kf" or not msg.conversation.startswith("kf:"):
        return None
    open_kfid, _, user = msg.conversation.removeprefix("kf:").partition(":")
    return (open_kfid, user or msg.sender) if open_kfid else None


def store_for_kf(config: Config, open_kfid: str) -> str | None:
    for s in config.stores:
        if s.kf and s.kf == open_kfid:
            return s.id
    return config.stores[0].id if len(config.stores) == 1 else None


@dataclass
class Shopper:
    id: str  # external_userid
    store_id: str | None
    target: str  # kf reply target "open_kfid:external_userid"
    deps: dict[str, Any] = field(repr=False, default_factory=dict)
    _joined: int | None = field(default=None, repr=False)
    _looked_up: bool = field(default=False, repr=False)

    async def joined_at(self) -> int | None:
        """Earliest join time of this shopper in any group of their store, or None if not a member."""
        if not self._looked_up:
            self._joined = await _join_time(self.deps, self.store_id, self.id) if self.store_id else None
            self._looked_up = True
        return self._joined


async def shopper_of(msg: Message, deps: dict[str, Any]) -> Shopper | None:
    """The shopper behind a customer message, or None when it is not a shopper channel."""
    if msg.sender_kind != "customer":
        return None
    kf = kf_parts(msg)
    if kf is None:
        return None
    open_kfid, user = kf
    shoppers = deps.get("shoppers")
    if shoppers is not None:
        ctx = await shoppers.context(msg)
        if ctx is None:
            return None
        return Shopper(id=ctx.external_userid, store_id=ctx.store_id, target=f"{ctx.open_kfid}:{ctx.external_userid}",
                       deps=deps, _joined=ctx.joined_at, _looked_up=True)
    return Shopper(id=user, store_id=store_for_kf(deps["config"], open_kfid), target=f"{open_kfid}:{user}", deps=deps)


def contact_shopper(store_id: str, external_userid: str, deps: dict[str, Any] | None = None) -> Shopper:
    """A shopper known only by store and id (new contacts, API calls); replies cannot reach them."""
    return Shopper(id=external_userid, store_id=store_id, target="", deps=deps or {})


async def _join_time(deps: dict[str, Any], store_id: str, user: str) -> int | None:
    if deps.get("shoppers") is not None:
        return await deps["shoppers"].join_time(user, store_id)
    config: Config = deps["config"]
    api = deps.get("api")
    store = next((s for s in config.stores if s.id == store_id), None)
    if store is None or api is None:
        return None
    times = []
    for chat_id in store.groups:
        members = await _group_members(api, config, chat_id)
        if user in members:
            times.append(members[user])
    return min(times) if times else None


async def _group_members(api: Any, config: Config, chat_id: str) -> dict[str, int]:
    key = (config.wecom.api_base, chat_id)
    hit = _members.get(key)
    if hit and time.monotonic() - hit[0] < MEMBER_CACHE_SECONDS:
        return hit[1]
    try:
        res = await api.call("externalcontact/groupchat/get",
                             secret=config.wecom.contact_secret or config.wecom.app.secret,
                             json_body={"chat_id": chat_id, "need_name": 0})
    except WeComError as exc:
        log.warning("groupchat/get %s failed (%s); treating join times as unknown", chat_id, exc)
        return {}
    members = {m["userid"]: int(m.get("join_time") or 0) for m in res.get("group_chat", {}).get("member_list", [])}
    _members[key] = (time.monotonic(), members)
    return members


def forget_members() -> None:
    """Drop cached member lists (tests; after a join event)."""
    _members.clear()
