"""Ranking: Okapi BM25 over the tokens of product names (the fallback for words no alias covers),
and size/pack reading that picks one of near-duplicate products ("大瓶雪碧", "金龙鱼5L").
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence


class BM25:
    """Okapi BM25 over the name and alias tokens of each product (k1 1.2, b 0.75)."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.k1, self.b = 1.2, 0.75
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / len(docs)) if docs else 1.0
        for i, d in enumerate(docs):
            counts: dict[str, int] = defaultdict(int)
            for t in d:
                counts[t] += 1
            for t, c in counts.items():
                self.postings[t].append((i, c))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def top(self, tokens: Sequence[str]) -> tuple[int, ...]:
        """Best-scoring products whose score is within 10% of the best (a tie is several).

        Only products that contain every token qualify: a word no product has ("伊利冰淇淋")
        means the line asks for something else, not for the closest name.
        """
        if not tokens or any(t not in self.postings for t in tokens):
            return ()
        scores: dict[int, float] = defaultdict(float)
        for t in tokens:
            for i, tf in self.postings.get(t, ()):
                denom = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                scores[i] += self.idf[t] * tf * (self.k1 + 1) / denom
        need = set(tokens)
        docs = {i for i in scores if all(any(d == i for d, _ in self.postings[t]) for t in need)}
        scores = {i: v for i, v in scores.items() if i in docs}
        if not scores:
            return ()
        best = max(scores.values())
        return tuple(sorted((i for i, v in scores.items() if v >= 0.9 * best), key=lambda i: (-scores[i], i)))


# --- size and pack: which of near-duplicate products a shopper means ----------------------------

_BASE = {"ml": ("ml", 1.0), "毫升": ("ml", 1.0), "l": ("ml", 1000.0), "升": ("ml", 1000.0),
         "g": ("g", 1.0), "克": ("g", 1.0), "kg": ("g", 1000.0), "公斤": ("g", 1000.0), "千克": ("g", 1000.0),
         "斤": ("g", 500.0)}
_NUM = r"(\d+(?:\.\d+)?|[一二两三四五六七八九十半]+)"
_AMOUNT = re.compile(_NUM + r"\s*(毫升|ml|千克|公斤|kg|升|l|克|g|斤)(?![a-z])")
_TIMES = re.compile(r"[*x×](\d+)")
_COUNT = re.compile(r"(\d+)\s*(?:袋|包|罐|瓶|盒|支|片|抽|卷|枚|个|只|听|杯|粒|条)")
_CN = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "半": 0.5}
# The classifier after a number says the pack form ("要两箱", "一罐几钱").
_UNIT_FORM = {"箱": "case", "件": "case", "罐": "can", "听": "can", "瓶": "bottle", "桶": "barrel", "袋": "bag",
              "包": "pack", "提": "pack", "组": "pack", "排": "pack", "盒": "box", "杯": "cup",
              "斤": "bulk", "公斤": "bulk", "kg": "bulk", "两": "bulk"}
_FORM_WORDS = {"case": ("整箱", "箱装", "/箱", "箱"), "can": ("罐",), "bottle": ("瓶",), "barrel": ("桶",),
               "bag": ("袋",), "pack": ("连包", "包"), "box": ("盒",), "cup": ("杯",), "bulk": ("散装", "散称")}


def _number(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        if s == "十":
            return 10.0
        if len(s) == 2 and s[0] == "十":
            return 10 + _CN.get(s[1], 0)
        if len(s) >= 2 and s[1] == "十":
            return _CN.get(s[0], 0) * 10 + (_CN.get(s[2], 0) if len(s) > 2 else 0)
        return float(_CN.get(s[0], 0)) + (0.5 if s.endswith("半") and len(s) > 1 else 0)


def amounts(text: str) -> list[tuple[str, float]]:
    """Sizes written in `text` in base units: ("ml", 5000.0) for "5l", ("g", 500.0) for "1斤"."""
    out = []
    for m in _AMOUNT.finditer(text):
        dim, f = _BASE[m.group(2)]
        out.append((dim, _number(m.group(1)) * f))
    return out


@dataclass(frozen=True, slots=True)
class Pack:
    """A product's sizes (each unit and the whole pack), pack forms and a magnitude to order by."""

    sizes: tuple[tuple[str, float], ...]
    forms: frozenset[str]
    magnitude: tuple[int, float]  # (0 = by volume or weight, 1 = by count), the whole pack
    sold_as: str = ""             # the form of the unit it is sold by ("can" for 罐, "case" for 箱)


def pack_of(name: str, spec: str, unit: str) -> Pack:
    text = f"{name} {spec}".lower()
    sizes = amounts(text)
    forms = {f for u, f in _UNIT_FORM.items() if unit == u}
    for form, marks in _FORM_WORDS.items():
        if any(w in text for w in marks):
            forms.add(form)
    if unit in ("斤", "kg", "公斤", "两") and not any(w in text for w in ("/盒", "/袋", "/瓶", "/箱")):
        forms.add("bulk")
    times = 1.0
    for m in _TIMES.finditer(text):
        times *= float(m.group(1))
    if sizes:
        dim, each = sizes[0]
        magnitude = (0, each * times)
    else:
        counts = [float(m.group(1)) for m in _COUNT.finditer(text)]
        magnitude = (1, max(counts) if counts else 1.0)
    if "case" in forms and magnitude[1] <= 1:
        magnitude = (magnitude[0], magnitude[1] * 12)  # a case holds many of whatever the row is
    return Pack(tuple(sizes), frozenset(forms), magnitude, _UNIT_FORM.get(unit, ""))


@dataclass(frozen=True, slots=True)
class PackAsk:
    """What a question says about size and pack: sizes, forms, and big / small."""

    sizes: tuple[tuple[str, float], ...] = ()
    forms: frozenset[str] = frozenset()
    prefer: str = ""

    def __bool__(self) -> bool:
        return bool(self.sizes or self.forms or self.prefer)


class PackReader:
    """Reads pack words ([qa] packs, data/lexicon/packs.tsv) and sizes from a question."""

    def __init__(self, packs: dict[str, str]) -> None:
        self.packs = dict(packs)
        words = sorted(self.packs, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(w) for w in words)) if words else None
        self._unit = re.compile(r"(?:\d+|[一二两三四五六七八九十几]+)\s*(" + "|".join(
            sorted(_UNIT_FORM, key=len, reverse=True)) + ")")

    def read(self, text: str) -> PackAsk:
        forms: set[str] = set()
        prefer = ""
        if self._re is not None:
            for m in self._re.finditer(text):
                what = self.packs[m.group(0)]
                if what in ("big", "small"):
                    prefer = prefer or what
                else:
                    forms.add(what)
        for m in self._unit.finditer(text):
            if m.group(1) not in ("斤", "两", "公斤", "kg"):  # "一斤多少钱" asks the price by weight
                forms.add(_UNIT_FORM[m.group(1)])
        # "多少钱一斤" quotes a price by weight; it picks nothing.
        sizes = tuple(a for a, m in zip(amounts(text), _AMOUNT.finditer(text)) if m.group(2) != "斤")
        return PackAsk(sizes, frozenset(forms), prefer)


def pick(ids: Sequence[int], packs: Sequence[Pack], ask: PackAsk) -> list[int]:
    """The candidates that fit the size, then the pack form, then big or small; a signal that
    fits none of them is ignored (the shopper may have the size wrong, the product is still asked)."""
    cands = list(ids)
    if ask.sizes:
        fit = [i for i in cands if any(d == pd and abs(v - pv) <= 0.02 * pv
                                       for d, v in ask.sizes for pd, pv in packs[i].sizes)]
        cands = fit or cands
    if ask.forms:
        # "一罐" is the can sold as a can before the case of 24 cans.
        fit = [i for i in cands if packs[i].sold_as in ask.forms] or [i for i in cands if packs[i].forms & ask.forms]
        cands = fit or cands
    if ask.prefer and len(cands) > 1:
        dims = {packs[i].magnitude[0] for i in cands}
        dim = min(dims)
        same = [i for i in cands if packs[i].magnitude[0] == dim]
        mags = {packs[i].magnitude[1] for i in same}
        if len(mags) > 1:
            best = max(mags) if ask.prefer == "big" else min(mags)
            cands = [i for i in same if packs[i].magnitude[1] == best]
    return cands


_READER: tuple[int, PackReader] | None = None


def pack_reader() -> PackReader:
    """The pack words of this process (shipped plus [qa] packs), compiled once per change."""
    global _READER
    from handlers.qa.words import WORDS
    if _READER is None or _READER[0] != WORDS.version:
        _READER = (WORDS.version, PackReader(WORDS.packs))
    return _READER[1]
