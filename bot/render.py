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


WEEKDAYS = "一二三四五六日"


def day_label(d, today=None) -> str:
    """A day as shoppers read it: 12月6日 周六, with the year when it is not this year's."""
    today = today or datetime.now(_TZ).date()
    year = f"{d.year}年" if d.year != today.year else ""
    return f"{year}{d.month}月{d.day}日 周{WEEKDAYS[d.weekday()]}"


def day(ts: int | float | None) -> str:
    """Epoch seconds -> '12月6日 周六 20:00' (a moment shown absolutely, never 明天/周六 alone)."""
    if not ts:
        return "-"
    t = datetime.fromtimestamp(ts, _TZ)
    return f"{day_label(t.date())} {t:%H:%M}"


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
env.filters["day"] = day


def render(reply: Reply) -> str:
    return env.get_template(reply.template).render(**reply.ctx).strip()
