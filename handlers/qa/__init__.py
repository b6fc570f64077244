"""Product Q&A: shoppers' questions about price, stock, spec and store policies, answered
from the catalog; guides change price, stock and promo in chat; the catalog lives in Redis.

`setup(deps)` adds `deps["qa"]` (this process's QACache: per-store indexes rebuilt when the catalog
version moves), `deps["qa_state"]` and `deps["qa_settings"]`, and seeds the configured demo files
into an empty catalog. `router` is the catch-all (a fallback), tried last but for help's. `api` is the
catalog upload (POST /api/catalog), `cli` is `qunbot ask` and `qunbot catalog import`.
"""
from __future__ import annotations

import logging
from typing import Any

from bot.config import ConfigError
from bot.feature import Feature
from bot.router import Router
from handlers.qa import api, chat, cli, console, edit, words
from handlers.qa.cache import QACache
from handlers.qa.settings import Settings, resolve, settings
from store.qa_state import FEATURE as QA_PENDING

__all__ = ["feature", "router", "setup", "QACache"]
log = logging.getLogger(__name__)

# The guide commands in feature order; the question answerer is a catch-all, tried after every
# feature's routers: "/库存 草莓 0" is a command, not a question about 库存, and so is a command of a
# feature listed after this one.
commands = Router(f"{__name__}.commands", routes=list(edit.router.routes), title="商品问答")
router = Router(__name__, routes=list(chat.router.routes), title="商品问答")


def _extend_words(config: Any, st: Any) -> None:
    """The operator's word files ([qa] regional / synonyms / kinds / packs), before any index is
    built. A configured file that is missing stops the start: the words would silently not apply."""
    found: dict[str, list] = {}
    for name in ("regional", "synonyms", "kinds", "packs"):
        found[name] = []
        for path in getattr(st, name):
            p = resolve(config, path)
            if p is None:
                raise ConfigError(f"[qa] {name}: no such file {path!r}")
            found[name].append(p)
    if any(found.values()):
        words.extend(**found)


async def setup(deps: dict[str, Any]) -> QACache:
    config, store = deps["config"], deps["store"]
    st = settings(config)
    _extend_words(config, st)
    cache = QACache(store, st.refresh_seconds)
    deps.update(qa=cache, qa_state=store.qa, qa_settings=st)
    if deps.get("shoppers") is not None:
        deps["shoppers"].add_pending_reads(QA_PENDING)  # the numbered list, checked on every question
    files = {}
    for name in ("catalog", "faq"):
        path = getattr(st, name)
        files[name] = resolve(config, path)
        if path and files[name] is None:
            log.warning("[qa] %s = %r: no such file (looked next to the config, in the working directory and "
                        "in the source tree); not seeded", name, path)
    cache.seed_files = (files["catalog"], files["faq"])
    await cache.seed(*cache.seed_files)
    return cache


feature = Feature("qa", routers=[commands], fallbacks=[router], settings=Settings, setup=setup, api=api.ROUTES,
                  cli=cli.COMMANDS, pages=console.PAGES)
