"""Service setup for the digest tests: four stores, the digest routes, the purchasing channel."""
from __future__ import annotations

from bot.router import Dispatcher
from handlers import confirm, help
from handlers.digest import chat, setup
from tests.conftest import make_config
from tests.digest import scenario
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-admin-token"}


def stores_config() -> list[dict]:
    return [{"id": sid, "name": name, "guides": [guide], "groups": [f"wr{sid}{i}" for i in range(groups)],
             "kf": f"wk{sid}"} for sid, (name, guide, groups) in scenario.STORES.items()]


def digest_config(prefix: str, api_base: str, **digest) -> object:
    section = {"cutoff": "21:00", "case_sizes": scenario.CASES, **digest}
    return make_config(prefix, api_base, stores=stores_config(), digest=section,
                       roles={"guides": [], "buyers": ["buyer1", "buyer2"], "admins": ["boss"]})


async def start(aiohttp_client, redis, fake, cfg) -> Harness:
    h = await Harness.start(aiohttp_client, redis, cfg, fake)
    use_digest(h)
    await setup(h.deps)
    return h


def use_digest(service) -> None:
    """Route through this feature only, until handlers/__init__.py lists it."""
    service.worker.dispatcher = Dispatcher([confirm.router, help.router, chat.router])
