"""The router middleware every kf shopper message meets first.

It keeps the conversation's recent lines (for a guide who takes over), keeps the bot quiet while a
guide has the conversation (the shopper's words go to the guide instead), and, when nothing tells
which store the shopper belongs to, asks once, holds the message that prompted the question, and
answers it as soon as the shopper picks a store (or without a store, when the answer names none).
Everything else passes on to the routes.
"""
from __future__ import annotations

from bot import conversation
from bot.answers import choice
from bot.message import Message, Reply, Target
from bot.feature import Deps
from bot.router import CallNext, Router
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


@router.outer_middleware
async def shopper_gate(msg: Message, deps: Deps, call_next: CallNext) -> list[Reply] | Reply:
    parts = kf_parts(msg) if msg.kind not in ("event", "schedule") else None
    if parts is None:
        return await call_next(msg, deps)
    shoppers: Shoppers = deps["shoppers"]
    store: Store = deps["store"]
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
        return await call_next(msg, deps)
    ctx = await shoppers.context(msg)
    if ctx is None or ctx.store_id is not None:
        return await call_next(msg, deps)
    of_kf = shoppers.stores_of_kf(parts[0])
    candidates = of_kf if len(of_kf) > 1 else [s.id for s in shoppers.cfg.stores]
    if len(candidates) < 2:
        return await call_next(msg, deps)
    pending = await store.shoppers.pending(conv)
    if pending is not None:
        held = Message.from_json(pending)
        as_shopper = {**deps, "role": "shopper"}
        chosen = pick_store(shoppers, msg.text, candidates)
        if chosen is None:
            # Not an answer. Asked once, never again: the held question is answered without a
            # store, then this message goes its own way.
            await store.shoppers.drop_pending(conv)
            return [*await call_next(held, as_shopper), *await call_next(msg, deps)]
        await store.shoppers.choose_store(conv, chosen)
        shoppers.changed(conv)
        replies = await call_next(held, as_shopper)
        return [Reply("shoppers/store_chosen.txt.j2", store_name=shoppers.store_config(chosen).name or chosen),
                *replies]
    if await store.shoppers.ask_once(conv, msg.to_json(), conversation.settings(deps["config"]).pending_seconds):
        return Reply("shoppers/ask_store.txt.j2",
                     stores=[(shoppers.store_config(s).name or s) for s in candidates])
    return await call_next(msg, deps)
