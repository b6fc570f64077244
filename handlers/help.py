"""帮助: what the sender may do, built from handler docstrings."""
from __future__ import annotations

from bot.message import Reply
from bot.router import Dispatcher, Router

router = Router(__name__)

ROLE_NAMES = {"shopper": "顾客", "guide": "导购", "buyer": "采购", "admin": "管理员"}


@router.command("帮助", "help", "菜单", "?", "？")
async def help_(role: str, dispatcher: Dispatcher) -> Reply:
    """帮助 — 查看可用的指令"""
    return Reply("help.txt.j2", role=ROLE_NAMES.get(role, role), lines=dispatcher.help_lines(role))
