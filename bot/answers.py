"""What counts as an answer to a question the bot asked (store/pending.py).

Deliberately narrow: a number in range, or a reply that is nothing but one option's name (a few
filler characters allowed). "草莓多少钱" names 草莓 but is a question of its own, so it is no answer
to "which 团: 1. 草莓 2. 脐橙?" and is read afresh instead.
"""
from __future__ import annotations

import re

_CN = "一二三四五六七八九"
_NUMBER = re.compile(r"^(?:第)?([1-9]\d?|[一二三四五六七八九])(?:个|款|号|种|项|团|家)?$")
_FILLER = re.compile(r"^(?:我要|要|选|就|是)?(.+?)(?:的|那个|这个|吧|呀|啊|团|店)*$")
_PUNCT = re.compile(r"[\s,，.。!！~～、]+")


def number(text: str) -> int | None:
    """A bare number ("2", "第2个", "二"), or None."""
    t = _PUNCT.sub("", text or "")
    m = _NUMBER.match(t)
    if not m:
        return None
    d = m.group(1)
    return int(d) if d.isdigit() else _CN.index(d) + 1


def choice(text: str, names: list[tuple[str, ...]], ids: list[int] | None = None) -> int | None:
    """The index of the option a reply picks: its number in the list (1-based), its id written as
    团12 / 12号团 when `ids` are given, or a reply that is just (part of) exactly one option's name."""
    t = _PUNCT.sub("", text or "")
    if not t:
        return None
    if ids:
        m = re.fullmatch(r"(?:团号?|#)(\d{1,9})|(\d{1,9})号?团", t)
        if m and int(m.group(1) or m.group(2)) in ids:
            return ids.index(int(m.group(1) or m.group(2)))
    n = number(t)
    if n is not None:
        return n - 1 if n <= len(names) else None
    core = _FILLER.match(t).group(1)
    if len(core) < 2 or len(core) > 24:
        return None
    hits = [i for i, ns in enumerate(names) if any(x and (core == x or core in x) for x in ns)]
    return hits[0] if len(hits) == 1 else None

