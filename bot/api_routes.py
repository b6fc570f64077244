"""Feature endpoints of the admin API (each a thin adapter over a store or handler function)."""
from __future__ import annotations

from aiohttp import web

from bot.api import reply, route
from bot.appkeys import STORE
from bot import api_coupons  # noqa: F401  (coupon endpoints register on import)
from bot import api_groupbuy  # noqa: F401  (group-buy endpoints register on import)
from bot import api_digest  # noqa: F401  (digest endpoint registers on import)
from bot import api_catalog  # noqa: F401  (catalog import endpoint registers on import)


@route("GET", "/api/stats")
async def stats(request: web.Request) -> web.Response:
    store = request.app[STORE]
    return reply({"inbox_pending": await store.inbox.pending_count(),
                              "outbox_pending": await store.outbox.pending_count()})
