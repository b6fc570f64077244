"""Where the 接龙 feature meets the rest of the service: who a shopper is, which 团 they can mean,
which store a guide runs, how a reply reaches someone later, the catalog and the kf link.

Each question is answered in one function so that wiring a richer source (the shopper-channel
feature's nickname cache and conversation context) is a one-line change.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from bot import staff
from bot.config import Config
from bot.message import Message, Target
from bot.outbox import default_target
from handlers.groupbuy.names import CatalogNames, OtherNames, squash

if TYPE_CHECKING:
    from store import Store
    from store.groupbuy import GroupBuy

log = logging.getLogger(__name__)

SCENE = re.compile(r"^gb(\d{1,9})$")


# -- shoppers -----------------------------------------------------------------------------------
def owner_of(msg: Message) -> str:
    """The ledger owner: the WeCom external_userid for customers, the userid for staff testing as
    shoppers. The two id spaces do not overlap (external ids start with wm/wo)."""
    return msg.sender


def target_of(msg: Message) -> str:
    """Where the sender can be reached later (promotion, close result), as "channel:to"."""
    t = default_target(msg)
    return f"{t.channel}:{t.to}" if t else ""


def target_from(stored: str) -> Target | None:
    channel, sep, to = stored.partition(":")
    return Target(channel, to) if sep and to else None


async def shopper_context(shoppers, msg: Message):
    """The shopper-channel view of a kf shopper (store, scene, nickname), or None."""
    if shoppers is None or msg.channel != "kf":
        return None
    return await shoppers.context(msg)


def shopper_name(msg: Message, given: str | None, sctx=None) -> str:
    """The name shown in the 接龙 list: what the shopper wrote in the line, else their WeChat
    nickname (shopper channel), else empty (the list then shows a masked id)."""
    nickname = getattr(sctx, "name", "") or msg.raw.get("nickname") or ""
    return (given or nickname).strip()[:16]


def scene_gid(scene: str | None) -> int | None:
    m = SCENE.match(scene or "")
    return int(m.group(1)) if m else None


async def bound_gid(store: Store, msg: Message, sctx=None) -> int | None:
    """The 团 whose kf link brought this shopper in, if any (preferred when several are open)."""
    gid = scene_gid(getattr(sctx, "scene", ""))
    return gid if gid is not None else await store.groupbuys.bound(msg.conversation)


async def candidate_stores(store: Store, msg: Message, sctx=None) -> list[str] | None:
    """Stores whose 团 this shopper may mean; None means every store. The shopper channel knows
    the store (scene, choice, kf account, groups); without it a 团 link's binding decides."""
    if getattr(sctx, "store_id", None):
        return [sctx.store_id]
    gid = await store.groupbuys.bound(msg.conversation)
    if gid is not None:
        gb = await store.groupbuys.get(gid)
        if gb is not None:
            return [gb.store_id]
    return None


async def pending_and_version(store: Store, conversation: str, msg_id: str = "") -> tuple[dict | None, int]:
    """The conversation's "which 团?" record (store/pending.py, read it with pending.usable) and the
    catalog version, in one round trip at most: every line that may mean a 团 needs both (none when
    the shopper gate read the record with its own reads for message `msg_id`)."""
    return await store.pending_with_catalog_version(conversation, "groupbuy", msg_id)


async def store_of_scene(store: Store, scene: str, scene_param: str = "") -> str | None:
    """Scene resolver for the shopper channel: "gb12" -> the store of 团 12."""
    gid = scene_gid(scene)
    gb = await store.groupbuys.get(gid) if gid is not None else None
    return gb.store_id if gb else None


# -- staff --------------------------------------------------------------------------------------
def may_manage(config: Config, userid: str, role: str, gb: GroupBuy) -> bool:
    return role == "admin" or gb.guide == userid or staff.runs(config, userid, gb.store_id)


# -- catalog --------------------------------------------------------------------------------------
async def resolve_product(store: Store, names: CatalogNamesCache, title: str, store_id: str):
    """The catalog product a /开团 title names, or None to keep the title as free text.

    A product matches when its full name is in the title (丹东99草莓 500g), the title is part of
    its name (99草莓), or the title is exactly one of its aliases. An alias merely contained in
    the title does not count: 手工水饺 is not 思念水饺 although 水饺 is an alias of it. The longest
    match wins; a store's own row beats the all-stores row.

    The catalog's names, indexed once per catalog, pick the SKUs that may match; only their rows
    for this store are read (a chain's catalog is half a million rows).
    """
    t = squash(title)
    try:
        index = await names.names(store, await store.catalog.version())
        skus = index.skus_near(t)
        _, products = await store.catalog.rows_for({sku: (store_id,) for sku in skus})
    except Exception:  # the catalog is optional for 接龙; a broken one must not block a 团
        log.exception("catalog unavailable; %r stays free text", title)
        return None
    best, best_key = None, (0, False)
    for p in products:
        if not p.carried_by(store_id):
            continue
        name = squash(p.name)
        hit = 0
        if len(name) >= 2 and name in t:
            hit = len(name)
        elif len(t) >= 2 and (t in name or t in map(squash, p.aliases)):
            hit = len(t)
        key = (hit, bool(p.stores))
        if hit and key > best_key:
            best, best_key = p, key
    return best


async def _names_kept(store: Store, names: CatalogNames, since: int) -> bool:
    """Did only edits that keep every row's names happen since version `since`?"""
    changes = await store.catalog.changes(since)
    if changes is None:
        return False  # an import, or more edits than the log keeps
    return all(p is not None and all(p.sku in names.skus_of.get(n, ()) for n in (p.name, *p.aliases) if len(n) >= 2)
               for p in changes[1].values())


# -- kf link and the group post -------------------------------------------------------------------
async def kf_link(shoppers, store_id: str, gid: int) -> str:
    """A 微信客服 link whose scene names the 团 ("gb12"), made by the shopper channel; "" when the
    store has no kf account or WeCom refuses (the announcement then goes out without a link)."""
    return await shoppers.kf_link(store_id, f"gb{gid}")


class CatalogNamesCache:
    """The catalog's cleaned, indexed names, kept per service (the `catalog_names` dependency) for
    the catalog version they were read at; not per process, so two services in one process (tests,
    the sandbox) never read each other's catalog."""

    def __init__(self) -> None:
        self._kept: tuple[int, CatalogNames] | None = None

    async def names(self, store: Store, version: int) -> CatalogNames:
        hit = self._kept
        if hit is not None and hit[0] == version:
            return hit[1]
        if hit is not None and await _names_kept(store, hit[1], hit[0]):
            # A guide's price/stock/promo edit moved the version: read the rows it wrote, not a chain's
            # half a million rows (about 14 s of CPU on the next 接龙 line otherwise).
            self._kept = (version, hit[1])
            return hit[1]
        _, products, _ = await store.catalog.load()
        rows = tuple((p.sku, (p.name, *p.aliases)) for p in products)
        names = hit[1] if hit is not None and hit[1].rows == rows else CatalogNames(rows)
        self._kept = (version, names)
        return names


async def other_products(store: Store, cache: CatalogNamesCache, groups: list[GroupBuy],
                         version: int | None = None) -> OtherNames:
    """Catalog names that are not one of these 团, so "我要两斤五花肉" is not read as a 草莓 join.

    The catalog's names are cleaned and indexed once per catalog (a price edit bumps the version
    but keeps the names, and keeps the index), and the names of one set of open 团 are set apart
    once per set; pass `version` when it was already read with something else."""
    try:
        version = await store.catalog.version() if version is None else version
        names = await cache.names(store, version)
    except Exception:
        log.exception("catalog unavailable for 接龙 parsing")
        return OtherNames.of(())
    own = [t for g in groups for t in (g.product, *g.aliases) if t]
    return names.others((g.sku for g in groups if g.sku), own)
