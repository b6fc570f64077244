"""The first handler every kf shopper message meets.

It keeps the conversation's recent lines (for a guide who takes over), keeps the bot quiet while a
guide has the conversation (the shopper's words go to the guide instead), and, when nothing tells
which store the shopper belongs to, asks once, holds the message that prompted the question, and
answers it as soon as the shopper picks a store (or without a store, when the answer names none).
Everything else passes on (SKIP).
"""
from __future__ import annotations

from bot import conversation
from bot.answers import choice
from bot.message import Message, Reply, Target
from bot.router import SKIP, Dispatcher, Router
from handlers.shoppers.context import Shoppers, conversation_of, kf_parts
from store import Store

router = Router(__name__)

def pick_store(shoppers: Shoppers, text: str, candidates: list[str]) -> str | None:
    """The store a shopper's answer names: its number in the list, or a reply that is just its name
    or id (bot/answers.choice: "梅溪湖店的草莓多少钱" is a question, not an answer)."""
    names = []
    for sid in candidates:
        s = shoppers.store_config(sid)
        names.append((s.id, s.name, s.name.removesuffix("店")) if s else (sid,))
    i = choice(text, names)
    if i is None:  # ids are matched case-insensitively ("s02")
        i = next((k for k, sid in enumerate(candidates) if (text or "").strip().lower() == sid.lower()), None)
    return candidates[i] if i is not None else None


@router.any_text()
async def shopper_gate(msg: Message, shoppers: Shoppers, store: Store, dispatcher: Dispatcher, worker,
                       now: float):
    parts = kf_parts(msg)
    if parts is None:
        return SKIP
    conv = msg.conversation
    if conv == conversation_of(*parts):
        # One round trip: the line recorded, the handoff and the rest of the context read.
        snap = await shoppers.read(msg, line=bool(msg.text))
        handoff = snap.handoff
    else:  # a conversation id without its shopper part: taken as it is
        snap = None
        if msg.text:
            await store.shoppers.add_line(conv, msg.id, msg.time, msg.text, shoppers.settings.handoff_lines)
        handoff = await store.shoppers.handoff(conv)
    if handoff is not None:
        name = await shoppers.name_of(parts[1], snap) if snap else (await shoppers.names([parts[1]])).get(parts[1], "")
        return Reply("shoppers/handoff_forward.txt.j2", to=Target("app", "|".join(handoff.guides)),
                     ticket=handoff.ticket, name=name, text=msg.text)
    if not shoppers.settings.ask_store:
        return SKIP
    ctx = await shoppers.context(msg)
    if ctx is None or ctx.store_id is not None:
        return SKIP
    of_kf = shoppers.stores_of_kf(parts[0])
    candidates = of_kf if len(of_kf) > 1 else [s.id for s in shoppers.cfg.stores]
    if len(candidates) < 2:
        return SKIP
    pending = await store.shoppers.pending(conv)
    if pending is not None:
        deps = {**worker.deps, "role": "shopper", "now": now}
        held = Message.from_json(pending)
        chosen = pick_store(shoppers, msg.text, candidates)
        if chosen is None:
            # Not an answer. Asked once, never again: the held question is answered without a
            # store, then this message goes its own way (this gate lets it pass: nothing is pending).
            await store.shoppers.drop_pending(conv)
            return [*await dispatcher.dispatch(held, deps), *await dispatcher.dispatch(msg, deps)]
        await store.shoppers.choose_store(conv, chosen)
        shoppers.changed(conv)
        replies = await dispatcher.dispatch(held, deps)
        return [Reply("shoppers/store_chosen.txt.j2", store_name=shoppers.store_config(chosen).name or chosen),
                *replies]
    if await store.shoppers.ask_once(conv, msg.to_json(), conversation.settings(worker.cfg).pending_seconds):
        return Reply("shoppers/ask_store.txt.j2",
                     stores=[(shoppers.store_config(s).name or s) for s in candidates])
    return SKIP
