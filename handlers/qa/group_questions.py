"""Questions heard in customer groups (chat archive lines that are not 接龙).

The bot cannot answer in the group, so the group's guide gets, in WeCom, who asked what in which
group and the answer the Q&A engine would give, ready to paste. Questions of one group are sent
together once per `[listen] batch_seconds`, never in the quiet hours (held until they end), and
not at all for stores in `questions_off`. A shopper with an open kf session may get the answer
1:1 too (`kf_answers`). Chatter and remarks are no questions and go nowhere.

Asks for an out-of-stock product and items the store does not carry are demand for the buyers'
digest whether or not anyone is told, with the source "group".
"""
from __future__ import annotations

import logging
from typing import Any

from bot.config import Config
from bot.message import Message, Reply, Target
from bot.outbox import Emit
from bot.render import renderer
from bot.router import Router
from handlers.digest import demand_day
from handlers.qa.answer import reply_for
from handlers.qa.engine import Match
from store import Store

log = logging.getLogger(__name__)
router = Router(__name__)

QUESTIONS = ("product", "clarify", "faq", "promo_list", "unknown_product")
EXCERPT = 40  # characters of a question kept for the guide
UNKNOWN_STORE = "*"


def excerpt(text: str, n: int = EXCERPT) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[:n - 1] + "…"


async def record_demand(match: Match, msg: Message, store_id: str, guide: str, store, config, now: float) -> bool:
    """Out of stock -> unmet (SKU); not carried -> wish (term), counted once per shopper and day."""
    if match.demand is None:
        return False
    kind, item = match.demand
    await store.demand.record(demand_day(config, now), kind, store_id or UNKNOWN_STORE, item, msg.sender,
                              example=excerpt(msg.text, 20), guide=guide, source="group")
    return True


async def heard(msg: Message, store_id: str, group_name: str, guides: list[str], name: str, kf: str,
                store, config, shoppers, qa, st, now: float) -> list[Reply] | None:
    """Queue a group question for the guide (and answer 1:1 where asked for); None for chatter."""
    if qa is None:
        return None
    index = await qa.index(store_id)
    if qa.empty:
        return None
    match = index.match(msg.text or "")
    if match.intent not in QUESTIONS:
        return None
    noted = await record_demand(match, msg, store_id, guides[0] if guides else "", store, config, now)
    answer = reply_for(match, index, noted=noted, human=bool(kf))
    replies: list[Reply] = []
    if answer is not None and kf and st.kf_answers:
        answer.to = Target("kf", kf)
        replies.append(answer)
    if st.questions_on(store_id) and guides:
        paste = renderer(config)(reply_for(match, index, noted=noted)) if answer is not None else ""
        item = {"name": name or ("顾客" + msg.sender[-4:]), "text": excerpt(msg.text), "answer": paste,
                "at": int(msg.time or now), "group": group_name, "guides": guides}
        await store.listen.queue(msg.chat_id, msg.id, item, now + st.batch_seconds,
                                                     st.text_days * 86400)
    return replies


@router.schedule("listen_questions")
async def flush(msg: Message, store: Store, config: Config, emit: Emit, listen_settings: Any, now: float) -> None:
    """Send each group's waiting questions to its guide once its minute is up (not in quiet hours)."""
    st, state = listen_settings, store.listen
    for chat in await state.due(now):
        quiet = st.quiet_until(now, config.bot.timezone)
        if quiet is not None:
            await state.postpone(chat, quiet)
            continue
        items = await state.batch(chat)
        if not items:
            await state.sent(chat, 0)
            continue
        guides = items[-1].get("guides") or []
        reply = Reply("qa/group_questions.txt.j2", to=Target("app", "|".join(guides)),
                      group=items[-1].get("group") or chat, items=items)
        # Written at once (not on this job's ack) and named by the batch, so the batch can be trimmed
        # right after and a redelivered job finds it gone instead of sending it twice.
        await emit(msg, [reply], tag=f"~q~{chat}~{items[0]['at']}~{len(items)}")
        await state.sent(chat, len(items))
    return None
