"""Catalog names in a shopper line, found in time proportional to the line.

Reading a 接龙 line needs two things from the catalog: whether the line names a product that is
not one of the open 团 (then it is no join: 我要两斤五花肉 while 草莓 is open), and where the names
holding numerals are (三只松鼠, 五花肉), so their digits are not read as quantities. Cleaning and
sorting every catalog name on every line made a +1 cost about 100 ms of CPU on 5,000 SKUs. Here
the names are cleaned once per catalog (`CatalogNames`), indexed by their first two characters
(`NameIndex`), and the names of the open 团 are set apart once per set of open 团 (`OtherNames`);
a line then costs one dictionary lookup per character.

A hand-written index rather than an Aho-Corasick automaton (pyahocorasick): shopper lines are a
few dozen characters, so one lookup per character plus a `startswith` on the few names sharing
two leading characters is already a few microseconds, with no C extension to install.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from .numerals import PROTECTED_NAMES
from .text import clean


_SPACE = re.compile(r"\s+")


def squash(s: str) -> str:
    """A name as /开团 titles are compared: without spaces, lower-cased."""
    return _SPACE.sub("", s).lower()


class NameIndex:
    """Names indexed by their first two characters (one-character names on their own)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._heads: dict[str, list[str]] = {}
        self._singles: set[str] = set()
        for n in set(names):
            if len(n) == 1:
                self._singles.add(n)
            elif n:
                self._heads.setdefault(n[:2], []).append(n)

    def occurrences(self, text: str) -> list[tuple[int, str]]:
        """(start, name) of every occurrence of every name in `text`, overlapping ones included."""
        found: list[tuple[int, str]] = []
        heads, singles = self._heads, self._singles
        for i in range(len(text)):
            if singles and text[i] in singles:
                found.append((i, text[i]))
            for n in heads.get(text[i:i + 2], ()):
                if text.startswith(n, i):
                    found.append((i, n))
        return found


def mask_found(text: str, found: Iterable[tuple[int, str]], fill: str) -> str:
    """What `numerals.mask(text, names, fill)` returns, given every occurrence of those names.

    mask() replaces the longest names first, each name's occurrences left to right; a later name
    cannot match where an earlier one was masked. So: longer names first, and an occurrence counts
    only if none of its characters is masked yet and it does not overlap the previous occurrence
    of the same name taken (str.replace never overlaps its own matches).
    """
    by_name: dict[str, list[int]] = {}
    for start, n in found:
        by_name.setdefault(n, []).append(start)
    if not by_name:
        return text
    chars = list(text)
    masked = [False] * len(text)
    for n in sorted(by_name, key=len, reverse=True):
        size, free_from = len(n), 0
        for s in sorted(by_name[n]):
            if s < free_from or any(masked[s:s + size]):
                continue
            for j in range(s, s + size):
                masked[j], chars[j] = True, fill
            free_from = s + size
    return "".join(chars)


class OtherNames:
    """Catalog names that are not one of the open 团 (`other_products` of parse_shopper), plus the
    numeral-holding names every line protects, ready to look up in a line.

    `inactive` are indexed names that do not count as another product here (the open 团's own
    names); `anything` is set when some other name cleans to nothing, which every line contains.
    """

    def __init__(self, index: NameIndex, catalog: frozenset[str], inactive: frozenset[str] = frozenset(),
                 anything: bool = False) -> None:
        self.index, self.catalog, self.inactive, self.anything = index, catalog, inactive, anything

    @classmethod
    def of(cls, names: Iterable[str]) -> "OtherNames":
        """From a plain list of names (callers without a catalog; costs time proportional to it)."""
        cleaned = {clean(o, emoji_words=False) for o in names if o}
        catalog = frozenset(c for c in cleaned if c)
        return cls(NameIndex([*catalog, *PROTECTED_NAMES]), catalog, anything="" in cleaned)

    def other(self, name: str) -> bool:
        return name in self.catalog and name not in self.inactive

    def read(self, work: str, fill: str) -> tuple[bool, str]:
        """(whether `work` names another product, `work` with those names and the protected ones
        replaced by `fill`), as `any(clean(o) in work for o in others)` and
        `mask(work, (*PROTECTED_NAMES, *map(clean, others)), fill)` would give."""
        found = self.index.occurrences(work)
        if not found:
            return self.anything, work
        hit = self.anything or any(self.other(n) for _, n in found)
        protected = _PROTECTED
        return hit, mask_found(work, [(s, n) for s, n in found if n in protected or self.other(n)], fill)


_PROTECTED = frozenset(PROTECTED_NAMES)
OTHERS_KEPT = 256  # sets of open 团 per catalog: one per store running a 团, with room


class CatalogNames:
    """Every name and alias of one catalog, cleaned and indexed once.

    `rows` are (sku, names) in catalog order. `others(skus, own)` answers for one set of open 团
    and keeps the answer, so each store's set of 团 costs one pass over the catalog, not one per line.
    """

    def __init__(self, rows: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        self.rows = tuple(rows)
        skus_of: dict[str, set[str]] = {}
        for sku, names in self.rows:
            for n in names:
                if len(n) >= 2:
                    skus_of.setdefault(n, set()).add(sku)
        self.skus_of = skus_of
        self.cleaned = {n: clean(n, emoji_words=False) for n in skus_of}
        self.raws_of: dict[str, list[str]] = {}
        for n, c in self.cleaned.items():
            self.raws_of.setdefault(c, []).append(n)
        catalog = frozenset(c for c in self.raws_of if c)
        self.index = NameIndex([*catalog, *PROTECTED_NAMES])
        self.catalog = catalog
        self._others: OrderedDict[tuple, OtherNames] = OrderedDict()
        self._squashed: dict[str, set[str]] | None = None

    def skus_near(self, title: str) -> set[str]:
        """SKUs with a name or alias that is in `title` or holds it (both with spaces removed and
        lower-cased, as a /开团 title is compared): the only rows a title can name."""
        if self._squashed is None:
            squashed: dict[str, set[str]] = {}
            for n, skus in self.skus_of.items():
                sq = squash(n)
                if len(sq) >= 2:
                    squashed.setdefault(sq, set()).update(skus)
            self._squashed = squashed
        near: set[str] = set()
        for sq, skus in self._squashed.items():
            if sq in title or (len(title) >= 2 and title in sq):
                near |= skus
        return near

    def others(self, skus: Iterable[str], own: Iterable[str]) -> OtherNames:
        """Names of rows other than `skus` that neither contain nor are contained in one of the
        open 团's names `own` (as handlers.groupbuy.context.other_products always chose them)."""
        skus, own = frozenset(skus), tuple(dict.fromkeys(t for t in own if t))
        key = (skus, own)
        hit = self._others.get(key)
        if hit is not None:
            self._others.move_to_end(key)
            return hit
        excluded = {n for n, row_skus in self.skus_of.items()
                    if row_skus <= skus or any(n in t or t in n for t in own)}
        inactive = frozenset(c for c in {self.cleaned[n] for n in excluded}
                             if all(r in excluded for r in self.raws_of[c]))
        anything = "" in self.raws_of and "" not in inactive
        found = self._others[key] = OtherNames(self.index, self.catalog, inactive, anything)
        while len(self._others) > OTHERS_KEPT:
            self._others.popitem(last=False)
        return found
