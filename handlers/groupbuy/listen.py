"""Customer-group lines heard through the chat archive (channel "archive", chat_type "group").

Nothing can be said back into the group in real time, so every archived line is handled here and
nowhere else (this router goes first and never passes one on):

- 接龙: `+1`, `+2 3栋502`, `接龙 2份`, `改成3份`, `取消` and, above all, a pasted list
  (handlers/groupbuy/paste.py says which of its lines are the sender's). They change the one
  ledger that kf lines and /代报 change, under the same caps, limits and waiting list. The result
  goes to the shopper 1:1 where a kf session is open and to the group's guide ([listen]).
- Anything else from a shopper goes to handlers/qa/group_questions.py: questions reach the guide
  with an answer to paste, out-of-stock asks and wishes become demand for the digest.
- Staff lines in the group (the guide's own posts) change nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config import Config
from bot.feature import Feature
from bot.message import Message, Reply, Target
from bot.router import SKIP, Handled, Router
from bot.scheduler import Job
from handlers.groupbuy import context, paste as pasting, views
from handlers.groupbuy.context import CatalogNamesCache
from handlers.groupbuy.intents import ListPaste, parse_shopper
from handlers.groupbuy.listen_settings import Settings, settings

__all__ = ["router", "JOBS", "settings"]
from handlers.groupbuy.shopping import promoted_replies, ref
from handlers.qa import group_questions
from store import Store
from store.groupbuy import GroupBuy, Outcome

if TYPE_CHECKING:
    from handlers.qa.cache import QACache
    from handlers.shoppers import Shoppers

log = logging.getLogger(__name__)
router = Router(__name__)
router.routes.extend(group_questions.router.routes)

JOBS = [Job("listen_questions", "@every 15")]

EXCERPT = 24  # characters of the shopper's line shown to the guide
CHANGES = ("join", "multi", "set", "add", "cancel", "list_paste")
ASKS = ("query_mine", "query_cutoff", "query_pickup")


@dataclass
class Heard:
    """One archived group line and where its results go."""

    msg: Message
    store_id: str
    group_name: str
    guides: list[str]
    name: str  # the sender's nickname, when known
    kf: str  # "open_kfid:external_userid" while a kf session is open, else ""
    outs: list[tuple[GroupBuy, Outcome]] = field(default_factory=list)
    ignored: int = 0
    unclear: list[str] = field(default_factory=list)
    problem: str = ""  # ask_which | ask_unit: the line was 接龙 but could not be placed
    paste_rows: int = 0  # a pasted list: how many numbered rows it had (the guide sees no whole list)


async def store_of_room(msg: Message, config, shoppers) -> str | None:
    """The store a group belongs to: what the archive reader stamped, else the configured groups,
    else the store of the group's owner."""
    sid = (msg.raw or {}).get("store")
    if sid and any(s.id == sid for s in config.stores):
        return sid
    for s in config.stores:
        if msg.chat_id in s.groups:
            return s.id
    if shoppers is not None:
        return await shoppers.groups.store_of_group(msg.chat_id)
    return None


async def kf_session(store, config, store_id: str, user: str, now: float) -> str:
    """"open_kfid:user" when the shopper wrote to the store's kf within WeCom's reply window."""
    s = next((s for s in config.stores if s.id == store_id), None)
    if s is None or not s.kf or not user.startswith(("wm", "wo")):
        return ""
    last = await store.listen.kf_last(f"kf:{s.kf}:{user}")
    if last is None or now > float(last) + store.kf.REPLY_WINDOW:
        return ""
    return f"{s.kf}:{user}"


async def _describe(msg: Message, store, config, shoppers, store_id: str, now: float) -> Heard:
    meta = await store.groups.meta(msg.chat_id)
    if (meta is None or not meta.owner) and shoppers is not None:
        await shoppers.groups.owner(msg.chat_id)  # reads the group from WeCom once
        meta = await store.groups.meta(msg.chat_id)
    owner = meta.owner if meta and meta.owner else ""
    guides = [owner] if owner else (shoppers.guides_of(store_id) if shoppers else list(config.roles.guides))
    name = (msg.raw or {}).get("nickname") or ""
    if not name and shoppers is not None:
        try:
            name = (await shoppers.names([msg.sender])).get(msg.sender, "")
        except Exception:  # a nickname is a nicety; the line still counts without it
            log.warning("no nickname for a group sender", exc_info=True)
    return Heard(msg, store_id, (meta.name if meta and meta.name else ""), guides, name[:16],
                 await kf_session(store, config, store_id, msg.sender, now))


@router.any_text()
async def heard(msg: Message, store: Store, config: Config, shoppers: Shoppers, qa: QACache,
                catalog_names: CatalogNamesCache, listen_settings: Settings, now: float) -> Handled:
    if msg.channel != "archive":
        return SKIP
    if msg.kind != "text" or msg.sender_kind != "customer" or not (msg.text or "").strip():
        return None
    st = listen_settings
    store_id = await store_of_room(msg, config, shoppers)
    if store_id is None:
        return None
    h = await _describe(msg, store, config, shoppers, store_id, now)
    replies = await jielong(h, store, catalog_names, st, now)
    if replies is not None:
        return replies
    return await group_questions.heard(msg, store_id, h.group_name, h.guides, h.name, h.kf, store, config,
                                       shoppers, qa, st, now)


# -- 接龙 -------------------------------------------------------------------------------------------
async def jielong(h: Heard, store, names, st: Settings, now: float) -> list[Reply] | None:
    """The replies for a 接龙 line, or None when the line is not about 接龙."""
    gbs = store.groupbuys
    open_ = await gbs.open_groups(h.store_id)
    if not open_:
        return None
    groups = {g.id: g for g in open_}
    text = pasting.strip_notes(h.msg.text)
    others = await context.other_products(store, names, open_)
    intent = parse_shopper(text, [ref(g) for g in open_], other_products=others)
    if intent.kind == "none" or intent.kind in ASKS:
        return None  # a question about the 团 is a question: the guide answers it
    owner, target = h.msg.sender, (f"kf:{h.kf}" if h.kf else "")
    common = dict(name=h.name, target=target)
    if isinstance(intent, ListPaste):
        h.paste_rows = len(intent.lines)
        await _paste(h, store, groups, intent, now)
    elif intent.kind == "join":
        h.outs.append((groups[intent.group_id], await gbs.join(
            intent.group_id, h.msg.id, now, owner, intent.qty, who=intent.on_behalf_of or "",
            tag=intent.pickup_tag or "", **{**common, "name": intent.name or h.name})))
    elif intent.kind == "multi":
        for it in intent.items:
            if it.group_id in groups:
                h.outs.append((groups[it.group_id], await gbs.join(
                    it.group_id, h.msg.id, now, owner, it.qty, who=intent.on_behalf_of or "",
                    tag=intent.pickup_tag or "", **common)))
    elif intent.kind in ("set", "add", "cancel"):
        gid = await _one_group(gbs, h.msg.id, owner, [i for i in intent.group_ids if i in groups])
        if gid is None:
            h.problem = "ask_which"
        elif intent.kind == "set":
            h.outs.append((groups[gid], await gbs.set_qty(gid, h.msg.id, now, owner, intent.qty,
                                                          who=intent.on_behalf_of, **common)))
        elif intent.kind == "add":
            h.outs.append((groups[gid], await gbs.add_qty(gid, h.msg.id, now, owner, intent.delta,
                                                          who=intent.on_behalf_of, **common)))
        else:
            h.outs.append((groups[gid], await gbs.cancel(gid, h.msg.id, now, owner, who=intent.on_behalf_of,
                                                         entry_no=intent.entry_no)))
    else:  # ask_which / ask_unit: 接龙 for sure, but which 团 or how much is for a person to read
        h.problem = intent.kind
    return _replies(h, st)


async def _one_group(gbs, msg_id: str, owner: str, ids: list[int]) -> int | None:
    """The 团 a change means: the one this message already changed, the only candidate, or the
    only one where the sender has lines."""
    done = await gbs.applied_any(ids, msg_id)
    if done:
        return next(iter(done))
    if len(ids) == 1:
        return ids[0]
    have = [gid for gid in ids if await gbs.mine(gid, owner)]
    return have[0] if len(have) == 1 else None


async def _paste(h: Heard, store, groups: dict[int, GroupBuy], intent: ListPaste, now: float) -> None:
    """Read the paste once per message (the plan is stored before any step runs), then run its
    steps; each step has its own id, so a redelivery repeats none of them."""
    gbs, owner = store.groupbuys, h.msg.sender
    state = store.listen
    stored = await state.plan(h.msg.id)
    if stored is None:
        plans = {}
        for gid in intent.group_ids:
            if gid not in groups:
                continue
            p = pasting.plan(intent, gid, await gbs.lines(gid), owner, {h.name} if h.name else set(),
                             unit=groups[gid].unit)
            plans[str(gid)] = {"steps": [s.as_dict() for s in p.steps], "ignored": p.ignored, "unclear": p.unclear}
        stored = await state.fix_plan(h.msg.id, plans)
    target = f"kf:{h.kf}" if h.kf else ""
    for gid_s, p in stored.items():
        gid = int(gid_s)
        gb = groups.get(gid) or await gbs.get(gid)
        if gb is None:
            continue
        h.ignored += int(p.get("ignored") or 0)
        h.unclear += list(p.get("unclear") or [])
        for k, d in enumerate(p["steps"]):
            s, sid = pasting.Step.of(d), f"{h.msg.id}~{gid}~{k}"
            if s.kind == "join":
                out = await gbs.join(gid, sid, now, owner, s.qty, name=s.name or h.name, tag=s.tag, target=target)
            elif s.kind == "set":
                out = await gbs.set_qty(gid, sid, now, owner, s.qty, who=s.who, target=target)
            else:
                out = await gbs.cancel(gid, sid, now, owner, entry_no=s.no)
            h.outs.append((gb, out))


def _replies(h: Heard, st: Settings) -> list[Reply]:
    replies: list[Reply] = []
    items = [views.receipt(gb, out) for gb, out in h.outs]
    if items and h.kf and st.kf_receipts:
        replies.append(Reply("groupbuy/receipt.txt.j2", to=Target("kf", h.kf), items=items))
    if st.guide_receipts and h.guides and (items or h.ignored or h.unclear or h.problem):
        replies.append(Reply("groupbuy/heard.txt.j2", to=Target("app", "|".join(h.guides)),
                             group=h.group_name, name=h.name, sender_tail=h.msg.sender[-4:],
                             excerpt=_excerpt(h.msg.text), paste_rows=h.paste_rows, items=items, ignored=h.ignored,
                             unclear=[_excerpt(u) for u in h.unclear], problem=h.problem))
    for gb, out in h.outs:
        replies += promoted_replies(gb, out, h.msg.sender)
    return replies


def _excerpt(text: str) -> str:
    """The first line of a message, cut short: the guide sees what was said, not a whole list."""
    first = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    return first if len(first) <= EXCERPT else first[:EXCERPT - 1] + "…"


feature = Feature("listen", routers=[router], jobs=JOBS, settings=Settings)
