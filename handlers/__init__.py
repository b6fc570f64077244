"""The feature list. Routers are tried in this order; the catch-all comes last.

- shoppers first: its gate sees every kf message (handed-off conversations stay with the guide,
  a shopper of unknown store is asked once), and it takes the kf / group / contact events;
- confirm: decides once which draft a 确认 means (coupons and 接龙 act on what it routes to them),
  and notes every other staff message, which ends a bare 确认's reach;
- help; then the features with commands and specific shopper phrases (coupons, 接龙, digest);
  each returns SKIP for what is not its own, so a shared word (确认) reaches the right one;
- smalltalk answers a bare greeting, thanks or emoji in a 1:1 chat (once a while);
- qa answers whatever is left as a product or store question; help.fallback has the last word
  for staff.

`setup(deps)` runs once per process after Redis and the WeCom client exist; features use it to
add what their handlers need to the injected dependencies. The shopper channel goes first: the
others plug into it (scene resolvers, welcome lines).
"""
from __future__ import annotations

from typing import Any

from bot import conversation
from bot.scheduler import Job
from handlers import confirm, coupons, digest, groupbuy, help, qa, shoppers, smalltalk

ROUTERS = [
    shoppers.router,
    confirm.router,
    help.router,
    coupons.router,
    groupbuy.router,
    digest.router,
    smalltalk.router,
    qa.router,
    help.fallback,
]

# Scheduled jobs and their default timing; `[schedule] <name> = "<cron>"` in config overrides one.
JOBS: list[Job] = [*shoppers.JOBS, *coupons.JOBS, *groupbuy.JOBS, *digest.JOBS]


async def setup(deps: dict[str, Any]) -> None:
    conversation.settings(deps["config"])  # a wrong [conversation] key stops the start, not a message
    await shoppers.setup(deps)
    for feature in (coupons, groupbuy, digest, smalltalk):
        await feature.setup(deps)
    await qa.setup(deps)


async def teardown(deps: dict[str, Any]) -> None:
    for feature in (digest, shoppers):
        await feature.teardown(deps)
