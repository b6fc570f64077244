"""Group posts (企业群发): the only way a bot's words reach a customer group.

`post_to_groups` turns a Reply meant for "the store's customer groups" into a plan: the groups,
each taking one of its group's 群发 of the quota period (`[shoppers] group_post_quota`: as many per
month as it has days, 7 per week or 1 per day, as the tenant's admin set it in WeCom; a post past
the quota is refused right away, with the reason, to the guide), grouped by owner (a group task must be
sent by the guide who owns the groups), with a link attachment to the store's 微信客服. The
returned Replies go out like any other: the post to Target("group_post", store id), which the
sender hands to `deliver`, which creates the externalcontact/add_msg_template tasks and tells the
owners a post awaits their confirmation (with the text, for a guide who prefers to paste it).
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.message import Message, Reply, Target
from bot.outbox import Emitter
from bot.render import renderer
from bot.router import Handled, Router
from bot.wecom_api import RateLimited, Transient, WeComError
from handlers.shoppers.context import Shoppers
from handlers.shoppers.welcome import link_attachment
from handlers.shoppers.wecom_calls import contact_secret
from store.post_quota import period_of

log = logging.getLogger(__name__)
router = Router(__name__)

MAX_BYTES = 4000  # add_msg_template text limit
HEAD = 16  # characters of an earlier post quoted in a refusal


@dataclass
class PostResult:
    ok: bool  # at least one group will get the post
    replies: list[Reply]  # return these from the handler
    text: str  # the post as sent, for a guide who prefers to paste it
    chat_ids: list[str] = field(default_factory=list)
    refused: dict[str, dict] = field(default_factory=dict)  # chat id -> the post that used today


def trim(text: str, limit: int = MAX_BYTES) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit - 3].decode(errors="ignore") + "…"


class GroupPosts:
    def __init__(self, shoppers: Shoppers) -> None:
        self.sh = shoppers
        self.store, self.cfg, self.api = shoppers.store, shoppers.cfg, shoppers.api
        self.tz = ZoneInfo(self.cfg.bot.timezone)
        self.render = renderer(self.cfg)
        # Runs in the sender too (the "group_post" channel), where no handler deps exist.
        self.emit = Emitter(self.store, self.render)
        self.quota = self.store.post_quota

    def day(self, now: float) -> str:
        return datetime.fromtimestamp(now, self.tz).strftime("%Y%m%d")

    def period(self, now: float) -> tuple[str, int, int]:
        """(period, posts per group in it, record lifetime) under the tenant's 群发 quota."""
        return period_of(self.sh.settings.group_post_quota, datetime.fromtimestamp(now, self.tz))

    def _store_name(self, store_id: str) -> str:
        s = self.sh.store_config(store_id)
        return (s.name if s else "") or store_id

    async def create(self, store_id: str, post: Reply | str, *, origin: Message, scene: str = "",
                     now: float | None = None) -> PostResult:
        now = now if now is not None else time.time()
        text = trim(self.render(post) if isinstance(post, Reply) else str(post).strip())
        requester = origin.sender if origin.sender_kind == "staff" and origin.channel != "schedule" else ""
        notify = requester or "|".join(self.sh.guides_of(store_id))
        name = self._store_name(store_id)
        chats = await self.sh.groups.store_groups(store_id)
        if not chats:
            return PostResult(False, [Reply("shoppers/post_refused.txt.j2", to=Target("app", notify),
                                            reason="no_groups", store_name=name, everything=True, text=text,
                                            skipped=0, earlier_at=0, earlier_head="", link="")], text)
        (day, limit, ttl), post_id = self.period(now), f"{store_id}:{origin.id}"
        record = {"at": int(now), "by": requester, "head": text[:HEAD]}
        claimed, refused = [], {}
        for chat in chats:
            earlier = await self.quota.claim(chat, day, limit, ttl, post_id, record)
            if earlier is None:
                claimed.append(chat)
            else:
                refused[chat] = earlier
        first = next(iter(refused.values()), {})
        refusal = dict(reason="used_today", store_name=name, text=text, skipped=len(refused),
                       earlier_at=first.get("at", 0), earlier_head=first.get("head", ""), link="",
                       quota=self.sh.settings.group_post_quota, limit=limit)
        if not claimed:
            # The guide may paste it by hand: give them the kf link the post would have carried.
            link = await self.sh.kf_link(store_id, scene) if self.sh.settings.post_link else ""
            return PostResult(False, [Reply("shoppers/post_refused.txt.j2", to=Target("app", notify),
                                            everything=True, **{**refusal, "link": link})], text, [], refused)
        plan = await self.store.groups.plan(store_id, origin.id)
        if plan is None:  # a redelivered message finds its plan and keeps it
            plan = await self._plan(store_id, post_id, day, claimed, scene, requester, len(refused))
            await self.store.groups.save_plan(store_id, origin.id, plan)
        replies = [Reply("_raw.txt.j2", text=text, to=Target("group_post", store_id))]
        if refused:
            replies.append(Reply("shoppers/post_refused.txt.j2", to=Target("app", notify), everything=False,
                                 **refusal))
        return PostResult(True, replies, text, claimed, refused)

    async def _plan(self, store_id: str, post_id: str, day: str, chats: list[str], scene: str, requester: str,
                    skipped: int) -> dict:
        fallback = next(iter(self.sh.guides_of(store_id)), "")
        by_owner: dict[str, list[str]] = {}
        for chat in chats:
            by_owner.setdefault(await self.sh.groups.owner(chat) or fallback, []).append(chat)
        link = await link_attachment(self.sh, store_id, scene) if self.sh.settings.post_link else None
        return {"post": post_id, "store": store_id, "day": day, "requester": requester, "skipped": skipped,
                "link": link, "tasks": [{"owner": o, "chats": c} for o, c in by_owner.items()]}

    # -- the sender channel "group_post" ---------------------------------------------------------
    async def deliver(self, out: dict, text: str) -> None:
        store_id, origin = out["to"], out.get("origin", "")
        plan = await self.store.groups.plan(store_id, origin)
        if plan is None:
            # A Reply addressed to group_post without post_to_groups: plan (and claim) it now.
            # No origin: the post is named by its store, day and text, so a redelivery is the same post
            # and two posts in one second are not (a time-only id dropped the second).
            digest = hashlib.sha1(text.encode()).hexdigest()[:16]
            msg = Message(id=origin or f"post:{store_id}:{self.day(time.time())}:{digest}", channel="schedule",
                          conversation="", sender_kind="system")
            res = await self.create(store_id, text, origin=msg)
            if not res.ok:
                await self._notify(origin, "refused", res.replies[0])
                return
            plan = await self.store.groups.plan(store_id, msg.id)
        failed = 0
        link = ((plan.get("link") or {}).get("link") or {}).get("url", "")  # for a guide who pastes instead
        for task in plan["tasks"]:
            if "msgid" in task or "error" in task:
                continue  # done on an earlier try
            body = {"chat_type": "group", "sender": task["owner"], "chat_id_list": task["chats"],
                    "allow_select": False, "text": {"content": text},
                    "attachments": [plan["link"]] if plan.get("link") else []}
            try:
                res = await self.api.call("externalcontact/add_msg_template", secret=contact_secret(self.cfg),
                                          json_body=body)
            except (Transient, RateLimited):
                raise  # retried by the sender; tasks already made are skipped then
            except WeComError as exc:
                task["error"] = exc.errcode
                await self._release(plan, task["chats"])
                await self.store.groups.save_plan(store_id, origin, plan)
                await self._notify(origin, f"fail:{task['owner']}", Reply(
                    "shoppers/post_failed.txt.j2", to=Target("app", task["owner"]),
                    store_name=self._store_name(store_id),
                    errcode=exc.errcode, config_problem=exc.fix is not None, text=text, link=link))
                continue
            task["msgid"] = res.get("msgid", "")
            task["fail"] = list(res.get("fail_list") or [])
            failed += len(task["fail"])
            await self._release(plan, task["fail"])
            await self.store.groups.save_plan(store_id, origin, plan)
        made = [t for t in plan["tasks"] if t.get("msgid")]
        name = self._store_name(store_id)
        # Each owner confirms their own task; a requester who owns none hears about all of them.
        for task in made:
            await self._notify(origin, f"pending:{task['owner']}", Reply(
                "shoppers/post_pending.txt.j2", to=Target("app", task["owner"]), store_name=name,
                groups=len(task["chats"]) - len(task["fail"]), failed=len(task["fail"]),
                skipped=plan.get("skipped", 0), text=text, link=link))
        requester = plan.get("requester")
        if made and requester and requester not in {t["owner"] for t in made}:
            await self._notify(origin, "pending", Reply(
                "shoppers/post_pending.txt.j2", to=Target("app", requester), store_name=name,
                groups=sum(len(t["chats"]) - len(t["fail"]) for t in made), failed=failed,
                skipped=plan.get("skipped", 0), text=text, link=link))

    async def _release(self, plan: dict, chats: list[str]) -> None:
        """A group WeCom would not take gives its slot back, so a later post may use it."""
        for chat in chats:
            await self.quota.release(chat, plan["day"], plan["post"])

    async def _notify(self, origin: str, tag: str, reply: Reply) -> None:
        await self.emit(origin, [reply], tag=f"#gpost:{tag}")


async def post_to_groups(shoppers: Shoppers, store_id: str, post: Reply | str, *, origin: Message,
                         scene: str = "", now: float | None = None) -> PostResult:
    """Plan a post to the store's customer groups; return `result.replies` from the handler."""
    return await shoppers.posts.create(store_id, post, origin=origin, scene=scene, now=now)


@router.command("群发", roles=("guide",), strict=True)
async def group_post(msg: Message, args: str, shoppers: Shoppers, now: float) -> Handled:
    """/群发 内容 — 给本店客户群建一条群发（在企业微信里确认后发出）"""
    store_id = shoppers.store_of_guide(msg.sender)
    if store_id is None:
        return Reply("shoppers/post_usage.txt.j2", no_store=True)
    if not args.strip():
        return Reply("shoppers/post_usage.txt.j2", no_store=False)
    res = await post_to_groups(shoppers, store_id, Reply("_raw.txt.j2", text=args.strip()), origin=msg, now=now)
    return res.replies
