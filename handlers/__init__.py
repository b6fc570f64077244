"""The feature list. Routers are tried in this order, then the catch-alls (`fallbacks`: Q&A's
answerer, help's last word), also in this order.

- listen first: every customer-group line heard through the chat archive is handled there (接龙
  into the ledger, questions to the guide, demand to the digest) and reaches no other feature;
  it takes nothing else, so the shopper gate still sees every kf message first;
- shoppers next: its gate sees every kf message (handed-off conversations stay with the guide,
  a shopper of unknown store is asked once), and it takes the kf / group / contact events;
- confirm: decides once which draft a 确认 means (coupons and 接龙 act on what it routes to them),
  and notes every other staff message, which ends a bare 确认's reach;
- help; then the features with commands and specific shopper phrases (coupons, 接龙, digest);
  each returns SKIP for what is not its own, so a shared word (确认) reaches the right one;
- smalltalk answers a bare greeting, thanks or emoji in a 1:1 chat (once a while);
- qa's guide commands; then, after every feature's routers, qa answers whatever is left as a
  product or store question, and help's fallback has the last word for staff.

Each feature's `setup(deps)` runs once per process in this order, after Redis and the WeCom client
exist (teardown in reverse); features use it to add what their handlers need to the injected
dependencies. The shopper channel goes first: the others plug into it (scene resolvers, welcome
lines). Its jobs, settings, admin API routes and CLI commands come from the same entry; a new
feature is its package plus one line here (docs/architecture.md).
"""
from __future__ import annotations

from typing import Any

from bot import feature as contract
from bot.feature import Feature
from handlers import confirm, coupons, demo_data, digest, groupbuy, help, qa, shoppers, smalltalk
from handlers.groupbuy import listen

FEATURES: list[Feature] = [
    listen.feature,
    shoppers.feature,
    confirm.feature,
    help.feature,
    coupons.feature,
    groupbuy.feature,
    digest.feature,
    smalltalk.feature,
    qa.feature,
    demo_data.feature,  # after qa, whose setup seeds the demo catalog it makes 团 from
    help.fallback_feature,
]
contract.check_unique(FEATURES)

# Read from FEATURES, for tests and benches that wire a dispatcher or scheduler by hand.
ROUTERS = contract.routers(FEATURES)
JOBS = contract.jobs(FEATURES)


async def setup(deps: dict[str, Any]) -> None:
    await contract.setup(FEATURES, deps)


async def teardown(deps: dict[str, Any]) -> None:
    await contract.teardown(FEATURES, deps)
