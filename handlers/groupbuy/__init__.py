"""Group-buy (接龙) feature: a guide opens a 团 with /开团, shoppers join, change and cancel in free text.

Parsing is pure and lives in `opening` (the /开团 command), `intents` (shopper lines), `numerals`
(targeted Chinese quantities), `when` (cutoff times) and `text` (normalisation). The ledger
(store/groupbuy.py) and the routes (`chat`) build on their typed results; `api` is the read-only
admin API. There is no `[groupbuy]` section.
"""
from bot.feature import Feature
from handlers.groupbuy import api, console, roster_posts
from handlers.groupbuy.chat import JOBS, router, setup

__all__ = ["feature", "router", "JOBS", "setup"]

# roster_posts: /接龙单, the list for the guide and (as a 群发) for the groups.
feature = Feature("groupbuy", routers=[router, roster_posts.router], jobs=[*JOBS, *roster_posts.JOBS], setup=setup,
                  api=api.ROUTES, pages=console.PAGES)
