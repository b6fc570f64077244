"""Which stores a member of staff runs: the one rule every feature asks.

- admins and buyers: every configured store;
- guides: the stores whose `[[stores]] guides` list them;
- a guide listed under no store (only in `[roles] guides`): the only store when exactly one is
  configured (a one-shop operator should not have to list every guide twice), otherwise none. In a
  chain an unassigned guide must not act for every store (open a 团, issue coupons, read another
  store's digest); features answer such a guide with their "no store" template instead;
- anyone else (shoppers, unknown ids): none.

Order follows `[[stores]]`, so "the first store" of a guide of several is the same everywhere.
"""
from __future__ import annotations

from bot.config import Config


def stores_of(config: Config, userid: str) -> tuple[str, ...]:
    """Store ids `userid` runs, in `[[stores]]` order; () for no store."""
    role = config.role_of(userid)
    every = tuple(dict.fromkeys(s.id for s in config.stores))  # a repeated id counts once
    if role in ("admin", "buyer"):
        return every
    if role != "guide":
        return ()
    mine = tuple(dict.fromkeys(s.id for s in config.stores if userid in s.guides))
    if mine:
        return mine
    return every if len(every) == 1 else ()


def runs(config: Config, userid: str, store_id: str) -> bool:
    """Whether `userid` runs `store_id` (by the rule above)."""
    return store_id in stores_of(config, userid)


def home_store(config: Config, userid: str) -> str | None:
    """The store `userid` acts for when they name none: a guide's first store; for admins and buyers,
    who run every store, the store that lists them under guides or the only one; else None."""
    mine = stores_of(config, userid)
    if not mine:
        return None
    if config.role_of(userid) == "guide":
        return mine[0]
    listed = next((s.id for s in config.stores if userid in s.guides), None)
    return listed or (mine[0] if len(mine) == 1 else None)
