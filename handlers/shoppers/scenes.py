"""Scene values: what a kf link or a 联系我 QR says about where the shopper came from.

kf/add_contact_way takes a scene of at most 32 bytes of [0-9A-Za-z_-]; WeCom hands it back in the
enter_session event. A store's own links use "s_<store id>"; other features use their own
prefixes (接龙 uses "gb<团 number>") and register a resolver that maps theirs to a store.
"""
from __future__ import annotations

import re

from bot.config import Config

_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")
STORE_PREFIX = "s_"


def clean(scene: str) -> str:
    return _UNSAFE.sub("", scene)[:32]


def store_scene(store_id: str) -> str:
    return clean(STORE_PREFIX + store_id)


def store_from_scene(config: Config, scene: str) -> str | None:
    """The store a scene names ("s_S01", or the bare store id), or None."""
    if not scene:
        return None
    for s in config.stores:
        if scene in (store_scene(s.id), s.id):
            return s.id
    return None
