"""Who is claiming: the shopper's id, their store, where replies reach them, and when they joined.

The shopper channel (`deps["shoppers"]`, handlers/shoppers) answers all of it: the store from the
kf scene, the shopper's choice, the kf account, their groups or their contact; the join time from
the group members it keeps current.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.message import Message
from handlers.shoppers import Shoppers


@dataclass
class Shopper:
    id: str  # external_userid
    store_id: str | None
    target: str  # kf reply target "open_kfid:external_userid"; empty when replies cannot reach them
    shoppers: Shoppers | None = field(default=None, repr=False)
    _joined: int | None = field(default=None, repr=False)
    _looked_up: bool = field(default=False, repr=False)

    async def joined_at(self) -> int | None:
        """Earliest join time of this shopper in any group of their store, or None if not a member."""
        if not self._looked_up:
            known = self.shoppers is not None and self.store_id
            self._joined = await self.shoppers.join_time(self.id, self.store_id) if known else None
            self._looked_up = True
        return self._joined


async def shopper_of(msg: Message, shoppers: Shoppers) -> Shopper | None:
    """The shopper behind a customer message, or None when it is not a kf shopper."""
    ctx = await shoppers.context(msg) if msg.sender_kind == "customer" else None
    if ctx is None:
        return None
    return Shopper(id=ctx.external_userid, store_id=ctx.store_id, target=ctx.target.to, shoppers=shoppers,
                   _joined=ctx.joined_at, _looked_up=True)


def contact_shopper(store_id: str, external_userid: str, shoppers: Shoppers | None = None) -> Shopper:
    """A shopper known only by store and id (new contacts, API calls); replies cannot reach them."""
    return Shopper(id=external_userid, store_id=store_id, target="", shoppers=shoppers)
