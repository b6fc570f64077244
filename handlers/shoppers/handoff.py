"""Ask a human: a shopper writing 人工 / 转人工 / 找导购 is handed to the store's guides.

The guides get the conversation's last lines in WeCom with a short number; while the handoff is
active the gate keeps the bot quiet and forwards the shopper's words to them. A guide answers with
/回复 <number> <text> (sent through kf/send_msg, so WeCom's 5-reply / 48 h rules still apply) and
hands the conversation back with /结束 <number>; without it the bot speaks again after the timeout.
"""
from __future__ import annotations

import re

from bot.message import Message, Reply, Target
from bot.router import SKIP, Handled, Router
from handlers.shoppers.context import Shoppers, kf_parts
from store import Store
from store.shoppers import Handoff

router = Router(__name__)

# The whole message is the request ("人工", "我要转人工"), or it says so unmistakably ("能转人工吗").
# A complaint or "找人" wants a person too, never an FAQ answer about returns.
ASK_HUMAN = (r"^\s*(我要|我想|请|帮我)?\s*(转|找|接)?\s*(人工(客服|服务)?|真人|导购|店员|客服)\s*[!！。.~～]*\s*$"
             r"|^\s*(我要|我想|请|帮我)?\s*(找|叫)\s*(个|一下)?\s*(人|活人|店长|经理|老板|负责人|工作人员)\s*[!！。.~～]*\s*$"
             r"|^\s*(我要|我想|我得|要)?\s*投诉"
             r"|转人工|找人工|要人工|人工客服|找导购|转导购")
_TICKET = re.compile(r"^#?(\d{1,9})$")


@router.text(ASK_HUMAN, channels=("kf",))
async def ask_human(msg: Message, shoppers: Shoppers, store: Store, now: float) -> Handled:
    parts = kf_parts(msg)
    if parts is None:
        return SKIP
    ctx = await shoppers.context(msg)
    guides = shoppers.guides_of(ctx.store_id)
    if not guides:
        return Reply("shoppers/handoff_none.txt.j2")
    s = shoppers.settings
    handoff, started = await store.shoppers.start_handoff(msg.conversation, guides, ctx.store_id or "", int(now),
                                                          s.handoff_timeout_minutes * 60)
    shoppers.changed(msg.conversation)
    store_cfg = shoppers.store_config(ctx.store_id)
    store_name = store_cfg.name if store_cfg else ""
    replies = [Reply("shoppers/handoff_customer.txt.j2", started=started, store_name=store_name)]
    if started:
        lines = await store.shoppers.lines(msg.conversation, s.handoff_lines)
        replies.append(Reply("shoppers/handoff_guide.txt.j2", to=Target("app", "|".join(handoff.guides)),
                             ticket=handoff.ticket, name=ctx.name, store_name=store_name, lines=lines,
                             timeout_minutes=s.handoff_timeout_minutes))
    return replies


async def _find(store: Store, shoppers: Shoppers, guide: str, who: str) -> Handoff | None:
    """The active handoff `who` names: its number, the shopper's name or id; a bare command means
    the guide's latest."""
    m = _TICKET.match(who)
    if m:
        conv = await store.shoppers.ticket_conversation(int(m.group(1)))
        return await store.shoppers.handoff(conv) if conv else None
    for ticket in await store.shoppers.guide_tickets(guide):
        conv = await store.shoppers.ticket_conversation(ticket)
        handoff = await store.shoppers.handoff(conv) if conv else None
        if handoff is None:
            continue
        if not who:
            return handoff
        user = conv.rsplit(":", 1)[-1]
        if who == user or who == (await shoppers.names([user])).get(user):
            return handoff
    return None


async def _active(store: Store, shoppers: Shoppers, guide: str) -> list[dict]:
    out = []
    for ticket in await store.shoppers.guide_tickets(guide):
        conv = await store.shoppers.ticket_conversation(ticket)
        if conv and await store.shoppers.handoff(conv):
            user = conv.rsplit(":", 1)[-1]
            out.append({"ticket": ticket, "name": (await shoppers.names([user])).get(user, "")})
    return out


def _kf_target(conversation: str) -> Target:
    return Target("kf", conversation.removeprefix("kf:"))


@router.command("结束", roles=("guide",))
async def end_handoff(msg: Message, args: str, shoppers: Shoppers, store: Store) -> Handled:
    """/结束 编号 — 结束人工服务，机器人恢复回答这位顾客"""
    who = args.strip()
    handoff = await _find(store, shoppers, msg.sender, who)
    ended = await store.shoppers.end_handoff(handoff.conversation) if handoff else None
    if handoff:
        shoppers.changed(handoff.conversation)
    if ended is None:
        return Reply("shoppers/handoff_unknown.txt.j2", who=who, tickets=await _active(store, shoppers, msg.sender))
    user = ended.conversation.rsplit(":", 1)[-1]
    name = (await shoppers.names([user])).get(user, "")
    return [Reply("shoppers/handoff_ended_guide.txt.j2", ticket=ended.ticket, name=name),
            Reply("shoppers/handoff_ended_customer.txt.j2", to=_kf_target(ended.conversation))]


@router.command("回复", roles=("guide",))
async def relay(msg: Message, args: str, shoppers: Shoppers, store: Store) -> Handled:
    """/回复 编号 内容 — 把您的话发给正在人工服务的顾客"""
    who, _, text = args.strip().partition(" ")
    if not text.strip():
        return Reply("shoppers/relay_usage.txt.j2", ticket=who if _TICKET.match(who) else "")
    handoff = await _find(store, shoppers, msg.sender, who)
    if handoff is None:
        return Reply("shoppers/handoff_unknown.txt.j2", who=who, tickets=await _active(store, shoppers, msg.sender))
    await store.shoppers.touch_handoff(handoff.conversation, shoppers.settings.handoff_timeout_minutes * 60)
    return Reply("_raw.txt.j2", text=text.strip(), to=_kf_target(handoff.conversation))
