"""Customer-group membership kept current from change_external_chat events, re-synced from
externalcontact/groupchat/get when the member-list version shows a gap.

Configured groups are read from WeCom the first time they are needed (a few per message, so a
chain with thousands of groups never makes one shopper wait for all of them), and the scheduled
`group_resync` job re-reads the rest and any group older than group_sync_minutes, a batch at a
time: a lost event with no later one to reveal the gap is healed there.

Which store a group belongs to: the store that lists it in config ([[stores]] groups), else the
store whose guide owns it (guides create new groups all the time; they count without a config edit).
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from bot import staff
from bot.config import Config
from bot.message import Message
from bot.router import Router
from bot.wecom_api import WeComClient, WeComError
from handlers.shoppers.settings import Settings
from handlers.shoppers.wecom_calls import contact_secret
from store import Store

if TYPE_CHECKING:
    from handlers.shoppers.context import Shoppers

log = logging.getLogger(__name__)
router = Router(__name__)

MEMBER_OPS = {"add_member": "add", "del_member": "del"}
INLINE_SYNCS = 5  # never-seen configured groups read while a message waits; the job does the rest


class GroupDirectory:
    def __init__(self, config: Config, store: Store, api: WeComClient | None, settings: Settings) -> None:
        self.cfg, self.store, self.api, self.settings = config, store, api, settings
        self.configured = {chat: s.id for s in config.stores for chat in s.groups}
        self._seen: set[str] = set()  # configured groups known to be in Redis (meta is never deleted)
        self._all_seen = not self.configured  # then every message skips the walk over a chain's groups

    # -- WeCom reads ------------------------------------------------------------------------------
    async def fetch(self, chat_id: str) -> dict | None:
        if self.api is None:
            return None
        try:
            res = await self.api.call("externalcontact/groupchat/get", secret=contact_secret(self.cfg),
                                      json_body={"chat_id": chat_id, "need_name": 0})
        except (WeComError, OSError, TimeoutError) as exc:
            log.warning("groupchat/get %s failed: %s", chat_id, exc)
            return None
        return res.get("group_chat") or None

    async def sync(self, chat_id: str, now: float | None = None) -> dict[str, int] | None:
        """Re-read one group from WeCom; None when WeCom would not say (the attempt is still noted,
        so a missing group is not asked for on every message)."""
        now = int(now or time.time())
        group = await self.fetch(chat_id)
        if group is None:
            await self.store.groups.set_meta(chat_id, synced_at=now)
            return None
        return await self.store.groups.replace(chat_id, group, now)

    async def sync_unseen(self, limit: int = INLINE_SYNCS, now: float | None = None) -> int:
        """Read up to `limit` configured groups never synced; returns how many were read."""
        if self._all_seen:
            return 0
        done = 0
        for chat in self.configured:
            if chat in self._seen:
                continue
            if await self.store.groups.meta(chat) is None:
                if done >= limit:
                    break
                await self.sync(chat, now)
                done += 1
            self._seen.add(chat)
        else:
            self._all_seen = True
        return done

    async def resync_stale(self, batch: int, now: float | None = None) -> int:
        """Re-read up to `batch` configured or tracked groups, never synced or oldest first."""
        now = int(now or time.time())
        cutoff = now - self.settings.group_sync_minutes * 60
        stale: list[tuple[int, str]] = []
        for chat in dict.fromkeys([*self.configured, *sorted(await self.store.groups.known())]):
            meta = await self.store.groups.meta(chat)
            if meta is None or (meta.status == "live" and meta.synced_at <= cutoff):
                stale.append((meta.synced_at if meta else 0, chat))
        for _, chat in sorted(stale)[:batch]:
            await self.sync(chat, now)
            self._seen.add(chat)
        return min(len(stale), batch)

    # -- questions other parts ask ---------------------------------------------------------------------
    async def memberships(self, member: str) -> dict[str, int]:
        """Known groups the member is in -> join time (a few never-read configured groups first)."""
        await self.sync_unseen()
        return await self.store.groups.groups_of(member)

    async def store_of_group(self, chat_id: str) -> str | None:
        if chat_id in self.configured:
            return self.configured[chat_id]
        meta = await self.store.groups.meta(chat_id)
        if meta is None or meta.status != "live":
            return None
        return staff.home_store(self.cfg, meta.owner)

    async def store_groups(self, store_id: str) -> list[str]:
        """The store's customer groups: configured ones, then live tracked groups its guides own."""
        store = next((s for s in self.cfg.stores if s.id == store_id), None)
        if store is None:
            return []
        chats = list(store.groups)
        for chat in sorted(await self.store.groups.known()):
            if chat not in chats and chat not in self.configured and await self.store_of_group(chat) == store_id:
                chats.append(chat)
        return chats

    async def owner(self, chat_id: str) -> str:
        meta = await self.store.groups.meta(chat_id)
        if meta is None or not meta.owner:
            await self.sync(chat_id)
            meta = await self.store.groups.meta(chat_id)
        return meta.owner if meta else ""

    # -- change_external_chat ----------------------------------------------------------------------
    async def on_change(self, raw: dict, at: int, now: float) -> str:
        chat, change = str(raw.get("ChatId") or ""), str(raw.get("ChangeType") or "")
        if not chat:
            return "ignored"
        if change == "dismiss":
            await self.store.groups.dismiss(chat, int(now))
            return "dismissed"
        if change == "create":
            await self.sync(chat, now)
            return "created"
        detail = str(raw.get("UpdateDetail") or "")
        if detail in MEMBER_OPS:
            return await self._members_changed(chat, MEMBER_OPS[detail], raw, at, now)
        if detail in ("change_owner", "change_name"):
            await self.sync(chat, now)
            return "refreshed"
        return "ignored"  # change_notice and future details carry nothing we keep

    async def _members_changed(self, chat: str, op: str, raw: dict, at: int, now: float) -> str:
        members = raw.get("MemChangeList") or []
        members = [members] if isinstance(members, str) else [str(m) for m in members if m]
        last, cur = str(raw.get("LastMemVer") or ""), str(raw.get("CurMemVer") or "")
        res = await self.store.groups.apply(chat, op, members, at, last, cur)
        if res in ("applied", "dup"):
            return res
        group = await self.fetch(chat)
        if group is None:
            # WeCom unreachable: keep the event's news rather than nothing; the version is
            # cleared so the next event re-syncs.
            await self.store.groups.apply(chat, op, members, at, last, cur, force=True)
            return "forced"
        await self.store.groups.replace(chat, group, int(now))
        version = str(group.get("member_version") or "")
        if last and version == last:
            # groupchat/get lags right after an event (documented): the list is from just
            # before this change, so the change goes on top.
            await self.store.groups.apply(chat, op, members, at, last, cur)
        elif not version and cur:
            # No version from WeCom: put the change on top (idempotent either way) and adopt the
            # event's, so the next event applies as a delta instead of another full re-sync.
            await self.store.groups.apply(chat, op, members, at, last, cur, force=True)
            await self.store.groups.set_meta(chat, version=cur)
        log.info("group %s re-synced after a version gap (had event %s->%s, WeCom says %s)",
                 chat, last, cur, version)
        return "resynced"


@router.schedule("group_resync")
async def group_resync(shoppers: Shoppers) -> None:
    """Re-reads groups whose membership may have drifted (a lost event nothing later revealed)."""
    n = await shoppers.groups.resync_stale(shoppers.settings.group_sync_batch)
    if n:
        log.info("group_resync: re-read %d group(s) from WeCom", n)


@router.event("change_external_chat")
async def group_changed(msg: Message, shoppers: Shoppers, now: float) -> None:
    outcome = await shoppers.groups.on_change(msg.raw, msg.time, now)
    log.debug("change_external_chat %s: %s", msg.raw.get("ChatId"), outcome)
