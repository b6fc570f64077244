"""Daily demand digest for buyers: what shoppers want, per product and store.

- `build.build_digest` is the pure aggregation (inputs + history -> JSON-ready dict);
- `load` reads a day's inputs from Redis, freezes them at the cutoff, and builds digests;
- `deliver` is the every-minute job: freeze due days, deliver each recipient's digest once;
- `parts` / `sheet` turn a digest into chat messages under the byte limit and an XLSX file;
- `purchasing` posts signed order lines to the purchasing system through the outbox;
- `chat` has /需求 and /日报; `api` is GET /api/digest; `cli` is `qunbot digest`.
"""
from __future__ import annotations

from typing import Any

from bot.feature import Feature
from handlers.digest import api, cli, console, purchasing
from handlers.digest.chat import JOBS, router
from handlers.digest.day import business_day
from handlers.digest.model import UNKNOWN_STORE
from handlers.digest.settings import Section, settings

__all__ = ["feature", "router", "JOBS", "setup", "teardown", "demand_day", "UNKNOWN_STORE"]


def demand_day(config, now: float) -> str:
    """The business day a demand signal recorded at `now` belongs to (pass it to Demand.record):
    an ask after the cutoff counts toward tomorrow's digest instead of arriving after the freeze."""
    st = settings(config)
    return business_day(now, st.cutoff, st.tz)


async def setup(deps: dict[str, Any]) -> None:
    """Check [digest] (a bad value stops the start with its name) and add the purchasing channel."""
    st = settings(deps["config"])
    deps["digest_settings"] = st
    sender, api_client = deps.get("sender"), deps.get("api")
    if sender is not None and api_client is not None:
        # The digest job retries an unsettled request itself (purchasing.py): not held by the sender.
        sender.register(purchasing.CHANNEL, purchasing.channel(st, deps["store"], api_client.http), park=False)


async def teardown(deps: dict[str, Any]) -> None:
    pass


feature = Feature("digest", routers=[router], jobs=JOBS, settings=Section, setup=setup, teardown=teardown,
                  api=api.ROUTES, cli=cli.COMMANDS, pages=console.PAGES)
