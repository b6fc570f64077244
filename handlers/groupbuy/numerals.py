"""Targeted extraction of quantities (number + classifier) from shopper text.

A global numeral rewrite is wrong for shop talk: it turns 两斤五花 into 2斤5花 and 三只松鼠 into
3只松鼠. This module reads a number only where one is expected: a Chinese numeral counts only when
a classifier follows it (两盒, 一斤半, 半斤), or when the caller anchors the read right after a verb
(来俩, 我要两); ASCII digits count on their own unless the next character shows they are a time, a
price, an address or a date (20:00, 36.9元, 3栋, 12月). Known names that contain numerals are
masked before reading (`PROTECTED_NAMES` plus whatever product names the caller passes).

Input is expected to be `text.clean`ed, but full-width digits are accepted here too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Iterable

MASK = "\x00"

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
COLLOQUIAL = {"俩": 2, "仨": 3}

# Counting words a shopper may put after a number. Money (块/元) and grams are deliberately absent:
# "36块" is a price and "500g" a pack spec, never an order quantity.
CLASSIFIERS = ("公斤", "千克", "kg", "份", "盒", "箱", "斤", "个", "袋", "瓶", "提", "串", "把", "只",
               "包", "件", "桶", "罐", "听", "杯", "根", "条", "颗", "支", "套", "扎", "捆", "板", "束",
               "盆", "筐", "兜")
UNIT_ALIASES = {"千克": "公斤", "kg": "公斤"}
WEIGHT_GRAMS = {"斤": 500, "公斤": 1000}
GENERIC_UNITS = frozenset({"份"})

# Names that contain numerals and classifiers; masked before any read.
PROTECTED_NAMES = (
    "三只松鼠", "六个核桃", "五常大米", "五常", "五花肉", "五花", "三层肉", "五粮液", "十三香", "三元", "七喜",
    "九阳", "八宝粥", "八喜", "三文鱼", "四季豆", "千禧", "二锅头", "百香果", "三黄鸡", "五谷", "八角", "五香",
    "三鲜", "五仁", "百事", "百岁山", "千岛湖", "百草味", "一品",
)

_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_CN_NUM = "零〇一二两三四五六七八九十百千"
_CL_ALT = "|".join(sorted(map(re.escape, CLASSIFIERS), key=len, reverse=True))
_QTY = re.compile(
    rf"(?P<num>\d+(?:\.\d+)?|[{_CN_NUM}]+|[俩仨]|半)[ \t]*(?P<cl>{_CL_ALT})?(?P<half>半)?")
_NUM_START = re.compile(rf"[\d{_CN_NUM}俩仨半]")
# A preceding character that makes the number an ordinal, weekday, price or part of a code.
_BAD_BEFORE = set("第周拜期¥$.:栋幢楼室#") | set("0123456789")
# A following character that makes a bare ASCII number a time, price, address, date or code.
_BAD_AFTER_DIGITS = set("点时分:.号栋幢楼单室元块毛角月日年岁%折米层期天周位人/-~次届度克#") | \
    set("abcdefghijklmnopqrstuvwxyz")
# 提 is also "pick up" (提货) and 个 in 一个人 counts people, not goods.
_BAD_AFTER_CL = {"提": set("货前取早醒交供出现问"), "个": set("人月星礼")}
# Where a verb-anchored Chinese numeral without a classifier may end.
_SOFT_END = set(" ,.!?;:、。~)吧啊呀哈哦了的嘛呗") | {MASK}


@dataclass(frozen=True, slots=True)
class Quantity:
    """One quantity read from text: `value` in `unit` (None when no classifier was written).

    `start`/`end` index the text that was searched; `text` is the matched slice (e.g. "两盒").
    `unit` is normalised (kg/千克 -> 公斤).
    """

    value: Fraction
    unit: str | None
    start: int
    end: int
    text: str

    @property
    def whole(self) -> int | None:
        """The value as an int when it is a whole number, else None (半盒, 1.5斤)."""
        return int(self.value) if self.value.denominator == 1 else None


def parse_number(s: str) -> Fraction | None:
    """Read one number written in ASCII/full-width digits or Chinese numerals.

    Handles 1-9999 in Chinese (十二, 二十五, 一百零五, 两百, and the spoken 一百二 = 120), decimals
    in digits ("1.5"), 俩/仨 and 半 (1/2). A trailing 半 after a classifier (一斤半) is handled by
    the quantity readers, not here. Returns None when `s` is not exactly one number.
    """
    s = s.strip().translate(_FULLWIDTH)
    if not s:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return Fraction(s)
    if s == "半":
        return Fraction(1, 2)
    if s in COLLOQUIAL:
        return Fraction(COLLOQUIAL[s])
    n = _cn_int(s)
    return None if n is None else Fraction(n)


def _cn_int(s: str) -> int | None:
    total, pending, last_unit, zero_after_unit = 0, None, 0, False
    for ch in s:
        if ch in CN_DIGITS:
            d = CN_DIGITS[ch]
            if d == 0:
                if last_unit == 0 or pending is not None:
                    return None
                zero_after_unit = True
                continue
            if pending is not None:
                return None
            pending = d
        elif ch in CN_UNITS:
            unit = CN_UNITS[ch]
            if last_unit and unit >= last_unit:
                return None
            if pending is None:
                if unit != 10 or last_unit:
                    return None
                pending = 1  # 十二 = 12
            total += pending * unit
            pending, last_unit, zero_after_unit = None, unit, False
        else:
            return None
    if pending is not None:
        # Spoken shorthand: 一百二 = 120, 三千五 = 3500; after 零 the digit is a units digit.
        total += pending * (last_unit // 10 if last_unit >= 100 and not zero_after_unit else 1)
    elif last_unit == 0:
        return None
    return total


def mask(text: str, names: Iterable[str], fill: str = MASK) -> str:
    """Replace every occurrence of each name with `fill` characters of the same length.

    Longer names are masked first so 五花肉 wins over 五花. Offsets into `text` stay valid.
    """
    for name in _longest_first(tuple(names)):
        if name in text:
            text = text.replace(name, fill * len(name))
    return text


@lru_cache(maxsize=64)
def _longest_first(names: tuple[str, ...]) -> tuple[str, ...]:
    # Callers pass the same few name lists on every line (PROTECTED_NAMES, a 团's names): sort once.
    return tuple(sorted({n for n in names if n}, key=len, reverse=True))


def read_at(text: str, pos: int, *, anchored: bool = True) -> Quantity | None:
    """Read a quantity starting exactly at `pos` (leading blanks skipped), or None.

    With `anchored` (the caller knows a quantity belongs here, e.g. right after 来/要/改成/+) a
    Chinese numeral without a classifier is accepted when it ends the phrase (来俩, 我要两, 改成三).
    Without it only a classifier, 俩/仨, or ASCII digits make a quantity.
    """
    text = text.translate(_FULLWIDTH)
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    prev = text[pos - 1] if pos > 0 else ""
    if prev in "x×*" and not (pos >= 2 and text[pos - 2].isascii() and text[pos - 2].isalpha()):
        prev = " "  # 草莓x2: the x is a multiplication sign, not part of a code
    return _read(text, pos, anchored, prev)


def _read(text: str, pos: int, anchored: bool, prev: str) -> Quantity | None:
    m = _QTY.match(text, pos)
    if not m:
        return None
    num, cl, half = m.group("num"), m.group("cl"), m.group("half")
    if prev in _BAD_BEFORE or (num[0].isdigit() and prev.isascii() and prev.isalpha()):
        return None
    if prev == "-" and pos >= 2 and text[pos - 2].isdigit():  # the 502 of 3-502
        return None
    value = parse_number(num)
    if value is None:
        return None
    end = m.end()
    nxt = text[end] if end < len(text) else ""
    if cl:
        if nxt in _BAD_AFTER_CL.get(cl, ()):
            return None
        if half:
            if value.denominator != 1:
                return None
            value += Fraction(1, 2)
    else:
        end = m.end("num")
        nxt = text[end] if end < len(text) else ""
        if num[0].isdigit():
            if nxt in _BAD_AFTER_DIGITS:
                return None
        elif num not in COLLOQUIAL:
            if not anchored or (nxt and nxt not in _SOFT_END):
                return None
    unit = UNIT_ALIASES.get(cl, cl) if cl else None
    return Quantity(value, unit, pos, end, text[pos:end])


def find_quantities(text: str, protect: Iterable[str] = ()) -> list[Quantity]:
    """Every quantity in `text`, left to right, non-overlapping, never inside a protected name.

    Chinese numerals count only with a classifier; ASCII numbers count bare unless they look like a
    time/price/address/date. `x2`, `×2` and `*2` read as 2. Offsets index `text`.
    """
    masked = mask(text.translate(_FULLWIDTH), (*PROTECTED_NAMES, *protect))
    found: list[Quantity] = []
    i = 0
    while i < len(masked):
        ch = masked[i]
        start = i
        if ch in "x×*" and i + 1 < len(masked) and masked[i + 1].isdigit():
            word = i > 0 and masked[i - 1].isascii() and masked[i - 1].isalpha()  # xx2 is a code
            q = None if word else _read(masked, i + 1, False, " ")
            if q:
                found.append(Quantity(q.value, q.unit, start, q.end, masked[start:q.end]))
                i = q.end
                continue
        if _NUM_START.match(ch) and not (i and _NUM_START.match(masked[i - 1])):
            q = read_at(masked, i, anchored=False)
            if q:
                found.append(q)
                i = q.end
                continue
        i += 1
    return found


def convert(value: Fraction, unit: str | None, group_unit: str) -> Fraction | None:
    """Express `value` `unit` in the 团's counting unit, or None when the units do not match.

    No unit and 份 mean the 团's own unit. 个 is generic too, except for a weight-sold 团 (2个 of
    a 斤 item is not 2斤). Weights convert among themselves (1公斤 = 2斤). Anything else must equal
    the 团's unit. The result may be fractional; the caller decides whether that is acceptable.
    """
    group_unit = UNIT_ALIASES.get(group_unit, group_unit)
    if unit is None or unit in GENERIC_UNITS or unit == group_unit:
        return value
    if unit == "个" and group_unit not in WEIGHT_GRAMS:
        return value
    if unit in WEIGHT_GRAMS and group_unit in WEIGHT_GRAMS:
        return value * WEIGHT_GRAMS[unit] / WEIGHT_GRAMS[group_unit]
    return None
