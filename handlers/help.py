"""帮助: what the sender may do, built from handler docstrings; and the last word for staff."""
from __future__ import annotations

from bot.feature import Feature
from bot.message import Message, Reply
from bot.router import PREFIXES, Dispatcher, Router

router = Router(__name__)
# Tried after every feature, Q&A included: staff who typed something nothing took get a pointer.
fallback = Router(f"{__name__}.fallback")

# More help lines than this and 帮助 shows a menu (command names per feature) instead: a guide's
# full list is past one WeCom text message, and nobody reads thirty lines to find one command.
FULL_LINES = 12


def _menu_line(lines: list[str]) -> str:
    """A section's commands by name ("/开团 /团 /代报"), its shopper phrases as they are."""
    commands = list(dict.fromkeys(line.split()[0] for line in lines if line.startswith(PREFIXES)))
    return " ".join(commands) if commands else lines[0]


@router.command("帮助", "help", "菜单", "?", "？")
async def help_(args: str, role: str, dispatcher: Dispatcher) -> Reply:
    """帮助 — 查看可用的指令"""
    sections = dispatcher.help_sections(role)
    topic = args.strip().lstrip("/／")
    if topic:
        found = [(title, [line for line in lines if topic in line or topic in title and topic])
                 for title, lines in sections]
        found = [(title, lines) for title, lines in found if lines]
        if found:
            return Reply("help.txt.j2", role=role, sections=found, topic=topic,
                         compact=False, missing="")
    compact = sum(len(lines) for _, lines in sections) > FULL_LINES
    if compact:
        sections = [(title, [_menu_line(lines)] if title else lines) for title, lines in sections]
    return Reply("help.txt.j2", role=role, sections=sections, topic="", compact=compact,
                 missing=topic)


@fallback.any_text()
async def not_understood(msg: Message, role: str) -> Reply | None:
    # Shoppers' chatter gets no answer (the Q&A handler before this decides what to say to them);
    # in a group only an @bot line (the 智能机器人 channel) is addressed to us.
    text = (msg.text or "").strip()
    addressed = msg.chat_type == "single" or msg.channel == "aibot"
    if role == "shopper" or msg.kind != "text" or not text or not addressed:
        return None
    if text.startswith(PREFIXES):
        return Reply("errors/unknown_command.txt.j2", command=text.split()[0][:16])
    return Reply("errors/not_understood.txt.j2", role=role)


feature = Feature("help", routers=[router])
# A feature of its own so it can be listed last: its catch-all comes after Q&A's.
fallback_feature = Feature("fallback", fallbacks=[fallback])
