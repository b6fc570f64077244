"""Who a kf shopper is, for every feature: their store, where they came from, their name, join
times, and whether a guide has the conversation.

Handlers take `shoppers` as a dependency and call `await shoppers.context(msg)`. The store is,
in order: the one the kf scene names (a store's link, or a scene another feature resolves, e.g.
a 团's link), the one the shopper picked when asked, the only store of that kf account, the store
of a known group the shopper is in (latest join wins), the store whose guide they added as a
contact, the only store configured; else unknown (the gate then asks once).
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot import staff
from bot.config import Config
from bot.message import Message, Target
from bot.wecom_api import WeComClient
from handlers.shoppers import scenes
from handlers.shoppers.groups import GroupDirectory
from handlers.shoppers.settings import Settings
from handlers.shoppers.wecom_calls import kf_link, nicknames
from store import Store
from store.shoppers import Snapshot

if TYPE_CHECKING:
    from handlers.shoppers.kf_pull import KfPuller
    from handlers.shoppers.posts import GroupPosts, PostResult

MEMO_SECONDS = 5.0  # one message's handling, with room for a slow WeCom call in between
MEMO_SIZE = 512  # messages handled concurrently by one process, with margin
SceneResolver = Callable[[str, str], Awaitable[str | None]]  # (scene, scene_param) -> store id
WelcomeExtra = Callable[[str, str, str], Awaitable[str | None]]  # (store, external_userid, guide) -> line


def kf_parts(msg: Message) -> tuple[str, str] | None:
    """(open_kfid, external_userid) of a kf customer message or event, else None."""
    if msg.channel != "kf" or msg.sender_kind != "customer" or not msg.conversation.startswith("kf:"):
        return None
    open_kfid, _, user = msg.conversation.removeprefix("kf:").partition(":")
    return (open_kfid, user or msg.sender) if open_kfid else None


def conversation_of(open_kfid: str, external_userid: str) -> str:
    return f"kf:{open_kfid}:{external_userid}"


@dataclass(frozen=True)
class ShopperContext:
    open_kfid: str
    external_userid: str
    store_id: str | None
    store_source: str  # scene | chosen | kf | group | contact | only | ""
    scene: str
    scene_param: str
    name: str
    handed_off: bool
    groups: dict[str, int] = field(default_factory=dict)  # known groups the shopper is in -> join time
    joined_at: int | None = None  # earliest join to one of store_id's groups

    @property
    def conversation(self) -> str:
        return conversation_of(self.open_kfid, self.external_userid)

    @property
    def target(self) -> Target:
        return Target("kf", f"{self.open_kfid}:{self.external_userid}")


class Shoppers:
    """The shopper-channel services other features use; one per process, in deps["shoppers"]."""

    def __init__(self, config: Config, store: Store, api: WeComClient | None, settings: Settings) -> None:
        self.cfg, self.store, self.api, self.settings = config, store, api, settings
        self.groups = GroupDirectory(config, store, api, settings)
        self.scene_resolvers: list[SceneResolver] = []
        self.welcome_extras: list[WelcomeExtra] = []
        self.pending_features: list[str] = []  # add_pending_reads
        self.puller: KfPuller | None = None  # set by handlers.shoppers.setup
        self.posts: GroupPosts | None = None
        # Per message id: (when, (conversation, what was read)).
        self._memo: OrderedDict[str, tuple[float, tuple[str, ShopperContext]]] = OrderedDict()
        self._snaps: OrderedDict[str, tuple[float, tuple[str, Snapshot]]] = OrderedDict()
        # Config lookups every message makes, indexed once (a chain has a thousand stores).
        self._stores = {s.id: s for s in reversed(config.stores)}  # the first of a repeated id wins
        self._kf_stores: dict[str, list[str]] = {}
        for s in config.stores:
            if s.kf:
                self._kf_stores.setdefault(s.kf, []).append(s.id)

    # -- extension points -------------------------------------------------------------------------
    def add_scene_resolver(self, fn: SceneResolver) -> None:
        """Another feature maps its own kf scenes to a store (e.g. 接龙: "gb12" -> the 团's store)."""
        self.scene_resolvers.append(fn)

    def add_pending_reads(self, feature: str) -> None:
        """Another feature reads its pending question of a kf conversation (store/pending.py) on most
        shopper lines: the gate reads it with its own reads, in the same round trip (e.g. Q&A's list)."""
        if feature not in self.pending_features:
            self.pending_features.append(feature)

    def add_welcome_extra(self, fn: WelcomeExtra) -> None:
        """Another feature adds a line to new contacts' welcome (e.g. a coupon)."""
        self.welcome_extras.append(fn)

    # -- context ----------------------------------------------------------------------------------
    async def read(self, msg: Message, *, line: bool = False) -> Snapshot:
        """The gate's read of a kf message's conversation (its state, handoff, the shopper's groups
        and cached nickname), always fresh and in one round trip; with `line` it also records the
        message's text for a guide who may take over. Kept so that `context(msg)` need not read
        it again. The message must be a kf shopper's (kf_parts(msg) is not None)."""
        open_kfid, user = kf_parts(msg)  # type: ignore[misc]
        await self.groups.sync_unseen()
        conv = conversation_of(open_kfid, user) if open_kfid else ""
        snap = await self.store.shoppers.snapshot(
            conv, user, (msg.id, msg.time, msg.text, self.settings.handoff_lines) if line else None,
            self.pending_features)
        if snap.pending:
            self.store.pending.prime(conv, msg.id, snap.pending)
        self._remember(self._snaps, msg.id, (conv, snap))
        return snap

    async def context(self, msg: Message) -> ShopperContext | None:
        """The shopper's context for this message. Every feature asks for it (the gate, coupons,
        接龙, Q&A); it is read once per message and kept a few seconds, which is far shorter than
        anything that could change it between two features handling the same message."""
        parts = kf_parts(msg)
        if parts is None:
            return None
        now = time.monotonic()
        hit = self._memo.get(msg.id)
        if hit is not None and now - hit[0] < MEMO_SECONDS:
            return hit[1][1]
        snap = self._snaps.get(msg.id)
        ctx = await self.context_for(*parts, snap=snap[1][1] if snap and now - snap[0] < MEMO_SECONDS else None,
                                     pulled_name=str((msg.raw or {}).get("nickname") or ""))
        self._remember(self._memo, msg.id, (ctx.conversation, ctx))
        return ctx

    @staticmethod
    def _remember(memo: OrderedDict, msg_id: str, value: tuple) -> None:
        memo[msg_id] = (time.monotonic(), value)
        while len(memo) > MEMO_SIZE:
            memo.popitem(last=False)

    def changed(self, conversation: str) -> None:
        """The conversation's store or handoff just changed: read its context afresh."""
        for memo in (self._memo, self._snaps):
            for mid in [m for m, (_, (conv, _)) in memo.items() if conv == conversation]:
                del memo[mid]

    async def context_for(self, open_kfid: str, external_userid: str, snap: Snapshot | None = None,
                          pulled_name: str = "") -> ShopperContext:
        """`pulled_name`: the nickname the kf pull put on the message (it asked the cache or WeCom
        moments ago and caches it in its last step, which the message's handling may overtake)."""
        if snap is None:
            await self.groups.sync_unseen()
            conv = conversation_of(open_kfid, external_userid) if open_kfid else ""
            snap = await self.store.shoppers.snapshot(conv, external_userid)
        c, groups = snap.conversation, snap.groups
        store_id, source = await self._resolve(open_kfid, external_userid, c, groups)
        joined = await self.join_time(external_userid, store_id, groups) if store_id else None
        name = pulled_name if snap.name is None and pulled_name else await self.name_of(external_userid, snap)
        return ShopperContext(open_kfid, external_userid, store_id, source, c.scene, c.scene_param, name,
                              snap.handoff is not None, groups, joined)

    async def name_of(self, external_userid: str, snap: Snapshot) -> str:
        """The nickname `names` gives, from the snapshot when it held the cached one."""
        if snap.name is not None:
            return snap.name
        # Not cached: ask WeCom (the snapshot just read the cache, so it is not read again).
        names = await nicknames(self.api, self.cfg, self.store, [external_userid],
                                self.settings.name_cache_days * 86400, cached={})
        return names.get(external_userid, "")

    async def _resolve(self, open_kfid: str, user: str, c: Any, groups: dict[str, int]) -> tuple[str | None, str]:
        if c is not None and c.scene:
            sid = scenes.store_from_scene(self.cfg, c.scene)
            for resolver in self.scene_resolvers:
                if sid:
                    break
                sid = await resolver(c.scene, c.scene_param)
            if sid and self.store_config(sid):
                return sid, "scene"
        if c is not None and c.chosen and self.store_config(c.chosen):
            return c.chosen, "chosen"
        of_kf = self.stores_of_kf(open_kfid)
        if len(of_kf) == 1:
            return of_kf[0], "kf"
        latest: tuple[int, str] | None = None
        for chat, at in groups.items():
            sid = await self.groups.store_of_group(chat)
            if sid and (not of_kf or sid in of_kf) and (latest is None or at > latest[0]):
                latest = (at, sid)
        if latest:
            return latest[1], "group"
        contact = await self.store.shoppers.contact(user)
        if contact.get("store") and self.store_config(contact["store"]):
            return contact["store"], "contact"
        if len(self.cfg.stores) == 1:
            return self.cfg.stores[0].id, "only"
        return None, ""

    async def post_to_groups(self, store_id: str, post: Any, *, origin: Message, scene: str = "",
                             now: float | None = None) -> PostResult:
        """Plan a 群发 to the store's customer groups (see handlers/shoppers/posts.py); the handler
        returns `result.replies`. `scene` tags the attached kf link (e.g. "gb12" for a 团)."""
        return await self.posts.create(store_id, post, origin=origin, scene=scene, now=now)

    # -- lookups ------------------------------------------------------------------------------------
    def store_config(self, store_id: str | None):
        return self._stores.get(store_id) if store_id is not None else None

    def stores_of_kf(self, open_kfid: str) -> list[str]:
        return list(self._kf_stores.get(open_kfid, ())) if open_kfid else []

    def store_of_guide(self, userid: str) -> str | None:
        return staff.home_store(self.cfg, userid)

    def guides_of(self, store_id: str | None) -> list[str]:
        s = self.store_config(store_id)
        return list(s.guides) if s and s.guides else list(self.cfg.roles.guides)

    async def join_time(self, external_userid: str, store_id: str,
                        groups: dict[str, int] | None = None) -> int | None:
        """When the customer first joined one of the store's groups (still a member), or None."""
        groups = groups if groups is not None else await self.groups.memberships(external_userid)
        times = [at for chat, at in groups.items() if await self.groups.store_of_group(chat) == store_id]
        return min(times) if times else None

    async def names(self, users: list[str], cached: dict[str, str] | None = None,
                    remember: list[tuple[dict[str, str], int]] | None = None) -> dict[str, str]:
        return await nicknames(self.api, self.cfg, self.store, users, self.settings.name_cache_days * 86400,
                               cached=cached, remember=remember)

    async def kf_link(self, store_id: str, scene: str = "") -> str:
        """The store's 微信客服 link; `scene` defaults to the store's own."""
        s = self.store_config(store_id)
        if s is None or not s.kf:
            return ""
        return await kf_link(self.api, self.cfg, self.store, s.kf, scenes.clean(scene) or scenes.store_scene(s.id))
