"""The Jinja2 environment: every word a user sees comes from templates/.

A `Renderer` is built for one timezone (`[bot] timezone`), which the `clock` and `day` filters show
times in; `renderer(config)` gives the one for a config. Nothing here is set process-wide, so two
services with different timezones in one process (tests, the sandbox) render each in its own.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.message import Reply

if TYPE_CHECKING:
    from bot.config import Config

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_TIMEZONE = "Asia/Shanghai"
WEEKDAYS = "一二三四五六日"


def yuan(fen: int | None) -> str:
    """Integer fen -> '36.9' style yuan for display (no trailing zeros)."""
    if fen is None:
        return "-"
    s = f"{fen / 100:.2f}".rstrip("0").rstrip(".")
    return s


def day_label(d: date, today: date) -> str:
    """A day as shoppers read it: 12月6日 周六, with the year when it is not this year's."""
    year = f"{d.year}年" if d.year != today.year else ""
    return f"{year}{d.month}月{d.day}日 周{WEEKDAYS[d.weekday()]}"


class Renderer:
    """`renderer(reply) -> str`, with times shown in `timezone`."""

    def __init__(self, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.tz = ZoneInfo(timezone)
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            autoescape=False,
        )
        self.env.filters["yuan"] = yuan
        self.env.filters["clock"] = self.clock
        self.env.filters["day"] = self.day

    def __call__(self, reply: Reply) -> str:
        return self.env.get_template(reply.template).render(**reply.ctx).strip()

    def compile_all(self) -> int:
        """Compile every template now (the environment keeps them: 97 cost ~0.3 s of CPU once), so
        no message pays for a template's first use (a 团 receipt with its macros: ~35 ms)."""
        names = self.env.list_templates(extensions=["j2"])
        for name in names:
            self.env.get_template(name)
        return len(names)

    def clock(self, ts: int | float | None, fmt: str = "%m-%d %H:%M") -> str:
        """Epoch seconds -> local time string."""
        if not ts:
            return "-"
        return datetime.fromtimestamp(ts, self.tz).strftime(fmt)

    def day(self, ts: int | float | None) -> str:
        """Epoch seconds -> '12月6日 周六 20:00' (a moment shown absolutely, never 明天/周六 alone)."""
        if not ts:
            return "-"
        t = datetime.fromtimestamp(ts, self.tz)
        return f"{day_label(t.date(), datetime.now(self.tz).date())} {t:%H:%M}"


@lru_cache(maxsize=8)
def for_timezone(name: str) -> Renderer:
    """One renderer per timezone (an environment caches its compiled templates)."""
    return Renderer(name)


def renderer(config: Config | None = None) -> Renderer:
    """The renderer for a config's `[bot] timezone` (the default timezone without a config)."""
    return for_timezone(config.bot.timezone if config is not None else DEFAULT_TIMEZONE)
