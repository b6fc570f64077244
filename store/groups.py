"""Customer groups (客户群) as the bot knows them: members with their join times, the member-list
version WeCom last reported, the owner, and the one-群发-per-day claims.

Membership events carry the version before and after the change (LastMemVer/CurMemVer). A delta is
applied only on top of the version it was computed from; anything else (lost or reordered events,
a group never seen) is a gap, and the caller re-syncs the whole list from groupchat/get.
The group's own keys ({grp:<chat_id>}) change in one MULTI; the set of known groups and the reverse
index (which groups a customer is in) live in other hash slots and are written after it,
idempotently, so a crash between the two is healed by the redelivered event or the next sync.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from store.keys import DAY, Keys, RetentionSettings
from store.lua import bind


@dataclass(frozen=True)
class GroupMeta:
    chat_id: str
    owner: str
    name: str
    version: str
    status: str  # live | dismissed
    synced_at: int


class Groups:
    def __init__(self, redis: Redis, keys: Keys, retention: RetentionSettings = RetentionSettings()) -> None:
        self.r, self.k = redis, keys
        self.member_ttl = retention.customer_days * DAY  # a member's group index, refreshed on change and lookup
        self._delta = bind(redis, "groups_delta")
        self._claim = bind(redis, "groups_claim_post_day")
        self._unclaim = bind(redis, "groups_release_post_day")

    # -- reading ----------------------------------------------------------------------------------
    async def meta(self, chat_id: str) -> GroupMeta | None:
        raw = {k.decode(): v.decode() for k, v in (await self.r.hgetall(self.k.group(chat_id, "meta"))).items()}
        if not raw:
            return None
        return GroupMeta(chat_id, raw.get("owner", ""), raw.get("name", ""), raw.get("version", ""),
                         raw.get("status", "live"), int(raw.get("synced_at") or 0))

    async def members(self, chat_id: str) -> dict[str, int]:
        raw = await self.r.hgetall(self.k.group(chat_id, "members"))
        return {k.decode(): int(v) for k, v in raw.items()}

    async def groups_of(self, member: str) -> dict[str, int]:
        """Known groups this member is in -> join time."""
        key = self.k.member_groups(member)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, self.member_ttl)
            raw, _ = await pipe.execute()
        return {k.decode(): int(v) for k, v in raw.items()}

    async def known(self) -> set[str]:
        return {v.decode() for v in await self.r.smembers(self.k.groups_known())}

    # -- membership changes ------------------------------------------------------------------------
    async def apply(self, chat_id: str, op: str, members: list[str], at: int, last_ver: str, cur_ver: str,
                    *, force: bool = False) -> str:
        """Apply an add/del delta. 'applied', 'dup' (already in), 'gap' or 'unknown' (re-sync needed).
        force=True applies without a version check (when a re-sync is impossible right now)."""
        if force:
            key = self.k.group(chat_id, "members")
            async with self.r.pipeline(transaction=True) as pipe:
                for m in members:
                    if op == "add":
                        pipe.hset(key, m, at)
                    else:
                        pipe.hdel(key, m)
                pipe.hdel(self.k.group(chat_id, "meta"), "version")  # unknown now: next event re-syncs
                await pipe.execute()
            await self.r.sadd(self.k.groups_known(), chat_id)  # another slot: after the group, idempotent
            res = "applied"
        else:
            res = await self._delta(keys=[self.k.group(chat_id, "meta"), self.k.group(chat_id, "members")],
                                    args=[op, last_ver, cur_ver, at, *members])
            res = res.decode() if isinstance(res, bytes) else str(res)
        if res == "applied":
            await self._index(chat_id, {m: at for m in members} if op == "add" else {}, members if op == "del" else [])
        return res

    async def replace(self, chat_id: str, group_chat: dict, now: int) -> dict[str, int]:
        """Make the stored group exactly what groupchat/get returned; returns the members."""
        members = {str(m["userid"]): int(m.get("join_time") or 0) for m in group_chat.get("member_list") or []}
        old = await self.members(chat_id)
        meta = {"owner": str(group_chat.get("owner") or ""), "name": str(group_chat.get("name") or ""),
                "version": str(group_chat.get("member_version") or ""), "status": "live", "synced_at": now}
        mkey = self.k.group(chat_id, "members")
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(mkey)
            if members:
                pipe.hset(mkey, mapping=members)
            pipe.hset(self.k.group(chat_id, "meta"), mapping=meta)
            pipe.persist(self.k.group(chat_id, "meta"))  # live again if it was dismissed
            if not meta["version"]:
                pipe.hdel(self.k.group(chat_id, "meta"), "version")
            await pipe.execute()
        await self.r.sadd(self.k.groups_known(), chat_id)
        await self._index(chat_id, members, [m for m in old if m not in members])
        return members

    async def set_meta(self, chat_id: str, **fields: str | int) -> None:
        await self.r.hset(self.k.group(chat_id, "meta"), mapping=fields)

    async def dismiss(self, chat_id: str, now: int) -> None:
        old = await self.members(chat_id)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(self.k.group(chat_id, "members"))
            pipe.hset(self.k.group(chat_id, "meta"), mapping={"status": "dismissed", "synced_at": now})
            pipe.hdel(self.k.group(chat_id, "meta"), "version")
            pipe.expire(self.k.group(chat_id, "meta"), self.member_ttl)
            await pipe.execute()
        await self.r.srem(self.k.groups_known(), chat_id)
        await self._index(chat_id, {}, list(old))

    async def _index(self, chat_id: str, present: dict[str, int], gone: list[str]) -> None:
        if not present and not gone:
            return
        async with self.r.pipeline(transaction=False) as pipe:
            for m, at in present.items():
                pipe.hset(self.k.member_groups(m), chat_id, at)
                pipe.expire(self.k.member_groups(m), self.member_ttl)
            for m in gone:
                pipe.hdel(self.k.member_groups(m), chat_id)
            await pipe.execute()

    # -- one 群发 per group per day ------------------------------------------------------------------
    async def claim_post_day(self, chat_id: str, day: str, post_id: str, record: dict) -> dict | None:
        """None when this post may use the group's post of `day`, else the record of the post that did."""
        doc = json.dumps({**record, "post": post_id}, ensure_ascii=False)
        res = await self._claim(keys=[self.k.group_post_day(chat_id, day)], args=[post_id, doc, 2 * DAY])
        res = res.decode() if isinstance(res, bytes) else str(res)
        return json.loads(res) if res else None

    async def release_post_day(self, chat_id: str, day: str, post_id: str) -> bool:
        return bool(await self._unclaim(keys=[self.k.group_post_day(chat_id, day)], args=[post_id]))

    # -- group post plans -------------------------------------------------------------------------------
    async def save_plan(self, store_id: str, origin: str, plan: dict) -> None:
        await self.r.set(self.k.group_post_plan(store_id, origin), json.dumps(plan, ensure_ascii=False), ex=3 * DAY)

    async def plan(self, store_id: str, origin: str) -> dict | None:
        v = await self.r.get(self.k.group_post_plan(store_id, origin))
        return json.loads(v) if v else None
