"""Read a 截单 (cutoff) moment the way guides write it, relative to the time the command was sent.

Understood: 今晚20:00, 今天18点, 今晚8点, 明天12:00, 明早9点半, 后天, 周五20:00, 本周五, 下周一 10点,
12-31 20:00, 12月31日20点, 6.12 20:00, 今晚8.30, 2025-12-31 20:00, 25号20:00, and a bare 20:00 (today, or tomorrow
when that time has already passed today). A day without a clock time means the end of that day
(23:59). Period words (上午/中午/下午/晚上/今晚...) turn 8点 into 20:00 where they say so.
Past days (昨天, 前天, 上周五) are read as past, for the caller to refuse. `pickup_day` reads the
day of a 自提 text against the cutoff.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from .numerals import parse_number

# Past days are read too, so 截止昨天20:00 is refused as past instead of becoming today 20:00.
_REL_DAYS = (("大前天", -3), ("前天", -2), ("昨天", -1), ("昨日", -1), ("昨晚", -1), ("昨儿", -1),
             ("大后天", 3), ("后天", 2), ("后晚", 2), ("明天", 1), ("明日", 1), ("明晚", 1),
             ("明早", 1), ("明儿", 1), ("今天", 0), ("今日", 0), ("今晚", 0), ("今夜", 0),
             ("今早", 0), ("今儿", 0), ("当天", 0), ("当晚", 0))
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
             "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}

_FULL_DATE = re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?")
_MONTH_DAY = re.compile(r"(?<![\d:])(?P<m>\d{1,2})\s*(?:[-/]|月)\s*(?P<d>\d{1,2})(?![\d:])\s*[日号]?")
# "6.12" is a date next to a clock time (截止6.12 20:00) and "8.30" a time after a day word
# (今晚8.30); alone it could be either, so it is refused rather than guessed.
_DOTTED = re.compile(r"(?<![\d.])(?P<a>\d{1,2})\.(?P<b>\d{1,2})(?![\d.])")
_DAY_ONLY = re.compile(r"(?<![\d月/-])(?P<d>\d{1,2})\s*[日号]")
_WEEK = re.compile(r"(?P<pre>上上|上|下下|下|本|这)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])")
_REL = re.compile("|".join(k for k, _ in _REL_DAYS))
_CN = "零一二两三四五六七八九十"
_COLON = re.compile(r"(?<!\d)(?P<h>\d{1,2})\s*:\s*(?P<mi>\d{2})(?!\d)")
_DIAN = re.compile(rf"(?P<h>\d{{1,2}}|[{_CN}]{{1,3}})\s*[点时](?:\s*(?P<mi>\d{{1,2}}|[{_CN}]{{1,3}})\s*分?|(?P<half>半)|整)?")
_AM = ("凌晨", "早上", "早晨", "上午", "今早", "明早", "早")
_NOON = ("中午",)
_PM = ("下午", "午后", "傍晚", "晚上", "今晚", "明晚", "后晚", "当晚", "今夜", "昨晚", "夜里", "夜间", "晚", "夜")


def _clock(text: str) -> tuple[int, int, int] | None:
    """(hour 0-24, minute, start offset) of the clock time in `text`, with period words applied."""
    m = _COLON.search(text)
    if m:
        h, mi = int(m.group("h")), int(m.group("mi"))
    else:
        m = _DIAN.search(text)
        if not m:
            return None
        hv = parse_number(m.group("h"))
        if hv is None:
            return None
        h = int(hv)
        if m.group("half"):
            mi = 30
        elif m.group("mi"):
            mv = parse_number(m.group("mi"))
            if mv is None:
                return None
            mi = int(mv)
        else:
            mi = 0
    before = text[:m.start()]
    period = max(((before.rfind(w), kind) for kind, words in (("am", _AM), ("noon", _NOON), ("pm", _PM))
                  for w in words if w in before), default=(-1, ""))[1]
    if period == "pm" and h < 12:
        h += 12
    elif period == "pm" and h == 12:
        h = 24
    elif period == "noon" and h < 6:
        h += 12
    if h > 24 or mi > 59 or (h == 24 and mi):
        return None
    return h, mi, m.start()


def _at(day: date, hm: tuple[int, int] | None, tz) -> datetime:
    if hm is None:
        return datetime(day.year, day.month, day.day, 23, 59, tzinfo=tz)
    h, mi = hm
    if h == 24:
        day, h = day + timedelta(days=1), 0
    return datetime(day.year, day.month, day.day, h, mi, tzinfo=tz)


def parse_deadline(text: str, now: datetime) -> datetime | None:
    """The moment `text` names, as an aware datetime in `now`'s timezone, or None if unreadable.

    `now` must be aware. The result may lie in the past (e.g. 本周一 on a Friday, or 06-12 written on
    06-13); the caller decides that this is an error. A month-day that has passed this year means
    next year only when that is at most half a year away (12-30 writing 01-02).
    """
    tz = now.tzinfo
    today = now.date()
    if m := _DOTTED.search(text):
        rest = text[:m.start()] + " " + text[m.end():]
        if _clock(rest):
            text = f"{rest} {m['a']}月{m['b']}日"
        elif len(m["b"]) == 2 and (_REL.search(rest) or _WEEK.search(rest)):
            text = f"{rest} {m['a']}:{m['b']}"
        else:
            return None
    clock = _clock(text)
    hm = (clock[0], clock[1]) if clock else None
    try:
        if m := _FULL_DATE.search(text):
            return _at(date(int(m["y"]), int(m["m"]), int(m["d"])), hm, tz)
        if m := _MONTH_DAY.search(text):
            day = date(today.year, int(m["m"]), int(m["d"]))
            at = _at(day, hm, tz)
            if at <= now:
                nxt = _at(day.replace(year=today.year + 1), hm, tz)
                if nxt - now <= timedelta(days=183):
                    return nxt
            return at
        if m := _WEEK.search(text):
            wd, pre = _WEEKDAYS[m["wd"]], m["pre"] or ""
            if pre in ("本", "这"):
                delta = wd - today.weekday()
            elif pre.startswith("上"):
                delta = -7 * len(pre) - today.weekday() + wd
            elif pre:
                delta = 7 * len(pre) - today.weekday() + wd
            else:
                delta = (wd - today.weekday()) % 7
            at = _at(today + timedelta(days=delta), hm, tz)
            if not pre and at <= now:
                at = _at(today + timedelta(days=delta + 7), hm, tz)
            return at
        if m := _REL.search(text):
            return _at(today + timedelta(days=dict(_REL_DAYS)[m.group()]), hm, tz)
        if m := _DAY_ONLY.search(text):
            at = _at(today.replace(day=int(m["d"])), hm, tz)
            if at <= now:
                first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                at = _at(first_next.replace(day=int(m["d"])), hm, tz)
            return at
    except ValueError:  # 2-30, 13-01, 31号 in a short month
        return None
    if hm is None:
        return None
    at = _at(today, hm, tz)
    return at if at > now else _at(today + timedelta(days=1), hm, tz)


_TIME_RANGE = re.compile(r"\d{1,2}\s*[-~～到至]\s*\d{1,2}(?=\s*[点时])"
                         r"|\d{1,2}:\d{2}\s*[-~～到至]\s*\d{1,2}:\d{2}")


def pickup_day(text: str, now: datetime, cutoff: datetime) -> tuple[datetime, int, int] | None:
    """The pickup moment a 自提 text names, with the span of its day words, or None without a day.

    A bare weekday (自提周六) is the first such day on or after the cutoff's day, which is what a
    guide means; 今天/明天/12月6日/本周六 are read from `now` like a cutoff, so a pickup before the
    cutoff shows up as such. Without a clock time the moment is the end of that day; with a range
    (10-12点) it is the range's end.
    """
    tz, today = now.tzinfo, now.date()
    clock = _clock(text)
    hm = (clock[0], clock[1]) if clock else None
    # A time range (10-12点, 9:00-11:30) is no month-day: blank it out, keeping the offsets.
    text = _TIME_RANGE.sub(lambda m: " " * len(m.group()), text)
    try:
        if m := _FULL_DATE.search(text):
            d = date(int(m["y"]), int(m["m"]), int(m["d"]))
        elif m := _MONTH_DAY.search(text):
            d = date(today.year, int(m["m"]), int(m["d"]))
            if d < today and (d.replace(year=today.year + 1) - today).days <= 183:
                d = d.replace(year=today.year + 1)
        elif m := _WEEK.search(text):
            wd, pre = _WEEKDAYS[m["wd"]], m["pre"] or ""
            if pre:
                at = parse_deadline(m.group(), now)
                d = at.date() if at else None
            else:
                start = cutoff.date()
                d = start + timedelta(days=(wd - start.weekday()) % 7)
        elif m := _REL.search(text):
            d = today + timedelta(days=dict(_REL_DAYS)[m.group()])
        else:
            return None
    except ValueError:
        return None
    if d is None:
        return None
    return _at(d, hm, tz), m.start(), m.end()
