"""The one Jinja2 environment: every word a user sees comes from templates/."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.message import Reply

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_TZ = ZoneInfo("Asia/Shanghai")


def yuan(fen: int | None) -> str:
    """Integer fen -> '36.9' style yuan for display (no trailing zeros)."""
    if fen is None:
        return "-"
    s = f"{fen / 100:.2f}".rstrip("0").rstrip(".")
    return s


def clock(ts: int | float | None, fmt: str = "%m-%d %H:%M") -> str:
    """Epoch seconds -> local time string in the configured timezone."""
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, _TZ).strftime(fmt)


def set_timezone(name: str) -> None:
    global _TZ
    _TZ = ZoneInfo(name)


env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    autoescape=False,
)
env.filters["yuan"] = yuan
env.filters["clock"] = clock


def render(reply: Reply) -> str:
    return env.get_template(reply.template).render(**reply.ctx).strip()
