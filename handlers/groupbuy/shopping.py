"""A shopper's message against the ledger: parse it (handlers.groupbuy.intents), apply it to the
sender's own lines, and answer with a one-line receipt per 团.

Redeliveries: every ledger step is stored under the message id, and where a choice depends on the
ledger (which 团 a "改成3份" meant) the stored step is looked up first, so a redelivered message
takes the same path and gets the same receipt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.answers import choice
from bot.message import Message, Reply, Target
from handlers.groupbuy import context, views
from handlers.groupbuy.intents import GroupRef, ListPaste, parse_shopper
from store.groupbuy import GroupBuy, Line, Outcome
from store.pending import usable

if TYPE_CHECKING:
    from handlers.shoppers import Shoppers
    from store import Store

CHANGES = ("join", "multi", "set", "add", "cancel", "list_paste")  # intents that write the ledger
# 我的接龙 / 我的订单: the shopper's own lines, answered even when nothing is open (then "none").
MINE_WORDS = re.compile(r"^\s*(?:查(?:一下|询|看)?|看看)?\s*我的(?:接龙|订单|团购|团单|团|报名)(?:呢|列表|记录)?\s*[?？。!！]*\s*$")
# Words that can only mean "sign me up": answered even when no 团 is open.
JOIN_WORDS = re.compile(r"^\s*(?:[+＋]\s*[\d一二两三四五六七八九十俩仨]|接龙|我接|报名|跟团|算我一个|参团)")


def ref(gb: GroupBuy) -> GroupRef:
    return GroupRef(gb.id, gb.product, gb.aliases, gb.unit)


def promoted_replies(gb: GroupBuy, out: Outcome, actor: str) -> list[Reply]:
    """Tell each owner whose waiting line moved up; phoned-in lines (no chat) go to the guide.
    The actor's own promotion is already in their receipt."""
    replies = []
    for x in out.promoted:
        if x.owner == actor:
            continue
        to = context.target_from(x.target) or Target("app", gb.guide)
        replies.append(Reply("groupbuy/promoted.txt.j2", to=to, g=views.group(gb), line=views.line(x)))
    return replies


@dataclass
class Turn:
    """One shopper message being handled."""

    msg: Message
    store: Store
    now: float
    groups: dict[int, GroupBuy]  # the 团 this message can mean (open ones, else recently closed)
    closed: list[GroupBuy] = field(default_factory=list)  # recently closed 团 the sender is in
    sctx: object | None = None  # the shopper channel's context, when wired
    replies: list[Reply] = field(default_factory=list)
    ask_ttl: int = 300  # how long "which 团?" may be answered ([conversation] pending_minutes)

    @property
    def gbs(self):
        return self.store.groupbuys

    @property
    def owner(self) -> str:
        return context.owner_of(self.msg)

    # -- ledger steps --------------------------------------------------------------------------
    async def step(self, gid: int, kind: str, **kw) -> Outcome:
        gbs, m = self.gbs, self.msg
        common = dict(name=kw.pop("name", ""), tag=kw.pop("tag", ""), target=context.target_of(m))
        if kind == "join":
            return await gbs.join(gid, m.id, self.now, self.owner, kw["qty"], who=kw.get("who") or "", **common)
        if kind == "set":
            return await gbs.set_qty(gid, m.id, self.now, self.owner, kw["qty"], who=kw.get("who"), **common)
        if kind == "add":
            return await gbs.add_qty(gid, m.id, self.now, self.owner, kw["delta"], who=kw.get("who"), **common)
        return await gbs.cancel(gid, m.id, self.now, self.owner, who=kw.get("who"), entry_no=kw.get("entry_no"))

    def receipt(self, outs: list[Outcome]) -> None:
        """One receipt line per 团, then a note to everyone a step moved up from the waiting list."""
        items = [views.receipt(self.groups[o.gid], o) for o in outs]
        self.replies.append(Reply("groupbuy/receipt.txt.j2", items=items))
        for o in outs:
            self.replies += promoted_replies(self.groups[o.gid], o, self.owner)

    async def choose(self, ids: tuple[int, ...], entry_no: int | None = None) -> int | None | tuple[int, ...]:
        """The one 团 a change names: the one this message already changed (redelivery), the only
        candidate, or the only one where the sender has lines (with entry `entry_no`). A tuple
        means "ask which"; None means the sender has nothing to change."""
        ids = tuple(i for i in ids if i in self.groups)
        done = await self.gbs.applied_any(list(ids), self.msg.id)
        if done:
            return next(iter(done))
        if len(ids) == 1:
            return ids[0]
        have = []
        for gid in ids:
            mine = await self.gbs.mine(gid, self.owner)
            if mine and (entry_no is None or any(x.no == entry_no for x in mine)):
                have.append(gid)
        if len(have) == 1:
            return have[0]
        return tuple(have) if have else None


async def handle(msg: Message, store: Store, now: float, shoppers: Shoppers | None,
                 names: context.CatalogNamesCache, ask_ttl: int = 300) -> list[Reply] | None:
    """Replies for a shopper message, or None when it is not about 接龙 (the next handler tries)."""
    gbs = store.groupbuys
    sctx = await context.shopper_context(shoppers, msg)
    stores = await context.candidate_stores(store, msg, sctx)
    open_: list[GroupBuy] = []
    recent: list[int] = []
    for s in stores or [None]:
        open_ += await gbs.open_groups(s)
        recent += await gbs.recent_ids(s, now)
    owner = context.owner_of(msg)
    closed = [g for g in await gbs.many(sorted(set(recent))) if g.status != "open"
              and await gbs.mine(g.id, owner, ("active", "waiting", "collected"))]
    groups = open_ or closed
    turn = Turn(msg, store, now, {g.id: g for g in [*open_, *closed]}, closed, sctx, ask_ttl=ask_ttl)

    if MINE_WORDS.match(msg.text or ""):
        await query_mine(turn, tuple(g.id for g in open_))
        return turn.replies
    if not groups:  # no 团 to mean, so no "which 团?" question can be waiting either
        return [Reply("groupbuy/no_open.txt.j2")] if JOIN_WORDS.match(msg.text or "") else None
    # "Which 团?" takes only an answer (bot/answers.choice); anything else drops it and is read afresh.
    record, version = await context.pending_and_version(store, msg.conversation, msg.id)
    pending = usable(record, msg.id, now)
    if pending:
        options = [turn.groups[i] for i in pending["ids"] if i in turn.groups]
        # An answer that is an order of its own ("草莓2") stands for itself; a bare choice
        # ("2", "脐橙") completes the line that was asked about.
        own = parse_shopper(msg.text, [ref(g) for g in options]) if options else None
        if own is not None and own.kind in CHANGES:
            await store.pending.answered(msg.conversation, "groupbuy", msg.id)
            await apply(turn, own, msg.text)
            return turn.replies
        chosen = choice(msg.text, [(g.product, *g.aliases) for g in options], [g.id for g in options])
        if chosen is not None:
            await store.pending.answered(msg.conversation, "groupbuy", msg.id)
            intent = parse_shopper(pending["text"], [ref(options[chosen])])
            await apply(turn, intent, pending["text"])
            return turn.replies
        await store.pending.drop(msg.conversation, "groupbuy")

    others = await context.other_products(store, names, groups, version)
    intent = parse_shopper(msg.text, [ref(g) for g in groups], other_products=others)
    if intent.kind == "none":
        return None
    if intent.kind == "ask_which":
        # A shopper who came in through a 团's kf link means that 团.
        bound = await context.bound_gid(store, msg, sctx)
        if bound in intent.group_ids and bound in turn.groups:
            intent = parse_shopper(msg.text, [ref(turn.groups[bound])])
    await apply(turn, intent, msg.text)
    return turn.replies


async def ask_which(turn: Turn, ids: tuple[int, ...], text: str) -> None:
    await turn.store.pending.ask(turn.msg.conversation, "groupbuy", {"text": text, "ids": list(ids)}, now=turn.now,
                                 ttl=turn.ask_ttl)
    turn.replies.append(Reply("groupbuy/ask_which.txt.j2", groups=[views.group(turn.groups[i]) for i in ids]))


async def apply(turn: Turn, intent, text: str) -> None:
    kind = intent.kind
    name = context.shopper_name(turn.msg, getattr(intent, "name", None), turn.sctx)
    if kind == "join":
        out = await turn.step(intent.group_id, "join", qty=intent.qty, who=intent.on_behalf_of,
                              name=name, tag=intent.pickup_tag or "")
        turn.receipt([out])
    elif kind == "multi":
        outs = [await turn.step(it.group_id, "join", qty=it.qty, who=intent.on_behalf_of, name=name,
                                tag=intent.pickup_tag or "") for it in intent.items if it.group_id in turn.groups]
        turn.receipt(outs)
    elif kind in ("set", "add", "cancel"):
        entry = getattr(intent, "entry_no", None)
        gid = await turn.choose(intent.group_ids, entry)
        if isinstance(gid, tuple):
            await ask_which(turn, gid, text)
            return
        if gid is None:
            await query_mine(turn, intent.group_ids)
            return
        if kind == "set":
            out = await turn.step(gid, "set", qty=intent.qty, who=intent.on_behalf_of, name=name)
        elif kind == "add":
            out = await turn.step(gid, "add", delta=intent.delta, who=intent.on_behalf_of, name=name)
        else:
            out = await turn.step(gid, "cancel", who=intent.on_behalf_of, entry_no=entry)
        turn.receipt([out])
    elif kind == "list_paste":
        await paste(turn, intent)
    elif kind == "query_mine":
        await query_mine(turn, intent.group_ids)
    elif kind == "query_cutoff":
        gs = [turn.groups[i] for i in intent.group_ids if i in turn.groups]
        turn.replies.append(Reply("groupbuy/cutoff_info.txt.j2", groups=[
            {**views.group(g), "past": g.cutoff <= turn.now} for g in gs]))
    elif kind == "query_pickup":
        ids = list(dict.fromkeys([*(g.id for g in turn.closed), *intent.group_ids]))
        gs = [turn.groups[i] for i in ids if i in turn.groups]
        tags = [x.tag for g in gs for x in await turn.gbs.mine(g.id, turn.owner) if x.tag]
        turn.replies.append(Reply("groupbuy/pickup_info.txt.j2", groups=[views.group(g) for g in gs],
                                  tag=tags[0] if tags else ""))
    elif kind == "ask_which":
        await ask_which(turn, tuple(i for i in intent.group_ids if i in turn.groups), text)
    elif kind == "ask_unit":
        g = turn.groups[intent.group_ids[0]]
        turn.replies.append(Reply("groupbuy/ask_unit.txt.j2", product=g.product, unit=intent.unit,
                                  written=intent.written, reason=intent.reason))


async def query_mine(turn: Turn, ids: tuple[int, ...]) -> None:
    all_ids = list(dict.fromkeys([*ids, *(g.id for g in turn.closed)]))
    items = []
    for gid in all_ids:
        if gid not in turn.groups:
            continue
        mine = await turn.gbs.mine(gid, turn.owner, ("active", "waiting", "collected"))
        if mine:
            items.append({"g": views.group(turn.groups[gid]), "mine": [views.line(x) for x in mine]})
    turn.replies.append(Reply("groupbuy/mine.txt.j2", items=items,
                              open=any(g.status == "open" for g in turn.groups.values())))


def _same(a_name: str | None, a_tag: str | None, x: Line) -> bool:
    return bool((a_name and x.name and a_name == x.name) or (a_tag and x.tag and a_tag == x.tag))


def _row_of(x: Line, rows: list) -> object | None:
    """The one pasted row that is ledger line `x`: by name, else by pickup tag. Two rows with the
    tag (a household: 王姐 3栋502, 王姐老公 3栋502) are no answer; nothing is changed then."""
    named = [ll for ll in rows if ll.name and x.name and ll.name == x.name]
    found = named or [ll for ll in rows if ll.tag and x.tag and ll.tag == x.tag]
    return found[0] if len(found) == 1 else None


async def paste(turn: Turn, intent: ListPaste) -> None:
    """A reposted 接龙 list: only the sender's own line counts. The one row matching the sender's
    ledger line (by name, else pickup tag) with a new quantity changes it; otherwise the last line that
    matches nobody's ledger line is the sender's new entry. Everyone else's lines are ignored."""
    outs: list[Outcome] = []
    for gid in intent.group_ids:
        gb = turn.groups.get(gid)
        if gb is None:
            continue
        stored = await turn.gbs.applied(gid, turn.msg.id)  # redelivered: what it did the first time
        if stored is not None:
            outs.append(stored)
            continue
        mine_ = await turn.gbs.mine(gid, turn.owner)
        ledger = [x for x in await turn.gbs.lines(gid) if x.live]
        rows = [ll for ll in intent.lines if ll.group_id == gid and ll.qty]
        changed = next(((ll, x) for x in mine_ if (ll := _row_of(x, rows)) and ll.qty != x.qty), None)
        if changed:
            ll, x = changed
            outs.append(await turn.step(gid, "set", qty=ll.qty, who=x.who))
            continue
        new = [ll for ll in rows if not any(_same(ll.name, ll.tag, x) for x in ledger)]
        if new and not mine_:
            ll = new[-1]
            name = ll.name or context.shopper_name(turn.msg, None, turn.sctx)
            outs.append(await turn.step(gid, "join", qty=ll.qty, name=name, tag=ll.tag or ""))
            continue
        turn.replies.append(Reply("groupbuy/paste_nothing.txt.j2", product=gb.product, unit=gb.unit,
                                  mine=[views.line(x) for x in mine_]))
    if outs:
        turn.receipt(outs)
