"""Business days: which local date a moment belongs to, given the daily cutoff.

Business day D is the interval (cutoff of D-1, cutoff of D] in the configured timezone, so with
cutoff 21:00 a 团 closing at 20:59 on 06-13 belongs to 06-13 and one closing at 21:30 to 06-14.
Pure functions; every time is epoch seconds.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_cutoff(text: str) -> time:
    """ "21:00" -> time(21, 0); raises ValueError for anything else."""
    hh, _, mm = str(text).strip().partition(":")
    t = time(int(hh), int(mm or 0))
    return t


def shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def cutoff_ts(day: str, cutoff: time, tz: ZoneInfo) -> float:
    """The moment business day `day` ends."""
    return datetime.combine(date.fromisoformat(day), cutoff, tz).timestamp()


def window(day: str, cutoff: time, tz: ZoneInfo) -> tuple[float, float]:
    """(start, end] of business day `day`."""
    return cutoff_ts(shift(day, -1), cutoff, tz), cutoff_ts(day, cutoff, tz)


def business_day(ts: float, cutoff: time, tz: ZoneInfo) -> str:
    """The business day a moment belongs to (the first cutoff at or after it)."""
    local = datetime.fromtimestamp(ts, tz).date().isoformat()
    return local if ts <= cutoff_ts(local, cutoff, tz) else shift(local, 1)


def last_closed_day(ts: float, cutoff: time, tz: ZoneInfo) -> str:
    """The latest business day whose cutoff is at or before `ts` (the one a digest sent then covers)."""
    d = business_day(ts, cutoff, tz)
    return d if cutoff_ts(d, cutoff, tz) <= ts else shift(d, -1)


def weekday_name(day: str) -> str:
    return "一二三四五六日"[date.fromisoformat(day).weekday()]
