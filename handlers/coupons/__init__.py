"""Coupons: guides create campaigns in chat, shoppers claim one code each, the till redeems it once.
Rules are parsed in `rules`, codes made and checked in `codes`, the ledger is store/coupons.py (one
Lua step per claim or redemption); `api` is the POS and admin API."""
from __future__ import annotations

from typing import Any

from bot.feature import Feature
from handlers.coupons import api, console
from handlers.coupons.chat import JOBS, router, welcome_extra

__all__ = ["feature", "router", "JOBS", "setup"]


async def setup(deps: dict[str, Any]) -> None:
    """Runs after the shopper channel's setup: new contacts' welcome then carries the store's
    welcome coupon."""
    shoppers = deps.get("shoppers")
    if shoppers is not None:
        shoppers.add_welcome_extra(welcome_extra(deps["store"], deps["config"]))


feature = Feature("coupons", routers=[router], jobs=JOBS, setup=setup, api=api.ROUTES, pages=console.PAGES)
