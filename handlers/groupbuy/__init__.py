"""Group-buy (接龙) feature: a guide opens a 团 with /开团, shoppers join, change and cancel in free text.

Parsing is pure and lives in `opening` (the /开团 command), `intents` (shopper lines), `numerals`
(targeted Chinese quantities), `when` (cutoff times) and `text` (normalisation). The ledger
(store/groupbuy.py) and the routes (`chat`) build on their typed results; `api` is the read-only
admin API. There is no `[groupbuy]` section.
"""
from bot.feature import Feature
from handlers.groupbuy import api, console
from handlers.groupbuy.chat import JOBS, router, setup

__all__ = ["feature", "router", "JOBS", "setup"]

feature = Feature("groupbuy", routers=[router], jobs=JOBS, setup=setup, api=api.ROUTES, pages=console.PAGES)
