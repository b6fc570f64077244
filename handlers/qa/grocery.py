"""Join the shipped grocery lexicon (words.py) to one catalog, once per index build.

A store's catalog lists its own names and a few aliases; shoppers use everyday, regional and
misspelt names (地瓜 for 红薯, 面巾纸 for 抽纸) and generic words for a kind of goods (芒果 for both
台农芒果 and 贵妃芒). Here each lexicon word is resolved to the products the catalog already
reaches by one of its synonyms or kind members; the result is a plain word -> products table the
matcher reads like its aliases, so nothing of this runs per message.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable

from handlers.qa.words import WORDS, Words

Ids = tuple[int, ...]
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_HAS_CJK = re.compile(r"[\u4e00-\u9fff]")

# A product name ends in its size or pack more often than not ("可口可乐330ml罐装", "王老吉整箱24罐").
_UNITS = r"(?:ml|l|g|kg|毫升|升|克|千克|公斤|斤|枚|片|抽|卷|包|袋|罐|听|瓶|支|只|个|盒|箱|层|粒|入|件|条|卡|连包)"
_SPEC_TAIL = re.compile(
    r"(?:\d+(?:\.\d+)?" + _UNITS + r"?(?:[*x×]\d+" + _UNITS + r"?)?(?:/\S{1,2})?装?"
    r"|[xlms]{1,3}码|整箱|整件|罐装|瓶装|桶装|袋装|盒装|箱装|杯装|散装|[一二两三四五六七八九十]连包|连包|家庭装|"
    r"大瓶|小瓶|大桶|小桶|大包|小包)$")


def core_name(k: str) -> str:
    """A name key without its trailing size and pack ("农夫山泉5l桶装" -> "农夫山泉"); "" if nothing is left."""
    prev = None
    while prev != k:
        prev = k
        k = _SPEC_TAIL.sub("", k)
    return k if len(k) >= 2 and re.search(r"[\u4e00-\u9fff]", k) else ""


class Resolver:
    """What each lexicon word reaches in one catalog.

    known(word) is the catalog's own reading: an alias, the last word of names, or a category.
    A word reaches what it knows, what its synonyms know, and what its kind's members reach.
    """

    def __init__(self, known: Callable[[str], Iterable[int]], words: Words = WORDS) -> None:
        self.known = known
        self.words = words
        self.groups: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for g in words.synonyms:
            for w in g:
                self.groups[w].append(g)
        self._memo: dict[tuple[str, int], frozenset[int]] = {}

    def synonyms(self, w: str) -> set[str]:
        return {s for g in self.groups.get(w, ()) for s in g if len(s) >= 2}

    def reach(self, w: str, depth: int = 0) -> frozenset[int]:
        got = self._memo.get((w, depth))
        if got is not None:
            return got
        same = {w} | self.synonyms(w)
        ids: set[int] = set()
        for s in same:
            ids.update(self.known(s))
        if depth < 2:
            for s in same:
                for m in self.words.kinds.get(s, ()):
                    if m not in same:
                        ids |= self.reach(m, depth + 1)
        got = self._memo[(w, depth)] = frozenset(ids)
        return got

    def vocabulary(self) -> set[str]:
        out = set(self.groups)
        for k, members in self.words.kinds.items():
            out.add(k)
            out.update(members)
        return {w for w in out if len(w) >= 2}


@dataclass(frozen=True)
class Joined:
    """The lexicon joined to one catalog."""

    aliases: dict[str, Ids]  # words the catalog does not list itself -> the products they reach
    heads: dict[str, Ids]    # words the names already end in, for their pinyin ("yagao" -> 牙膏)
    bare: dict[str, Ids]     # a character alone -> the products of the kind it means (油 -> 食用油)


def lexicon_aliases(alias: dict[str, Ids], head: Callable[[str], Ids | None], categories: dict[str, Ids],
                    words: Words = WORDS) -> Joined:
    """Join the lexicon to a catalog.

    The store's own words win: a name or alias, or a category, keeps its meaning. A word that is
    only the last word of some names ("芒果" of 台农芒果) is added when its kind reaches more
    (贵妃芒 does not end in 芒果).
    """

    def known(w: str) -> Iterable[int]:
        got = alias.get(w)
        if got:
            return got
        if len(w) >= 2 and _HAS_CJK.search(w):
            got = head(w)
            if got:
                return got
        return categories.get(w, ())

    r = Resolver(known, words)
    out: dict[str, Ids] = {}
    heads: dict[str, Ids] = {}
    bare = {c: tuple(sorted(r.reach(kind))) for c, kind in words.bare.items()}
    for w in r.vocabulary():
        if w in alias or w in categories:
            continue
        ids = r.reach(w)
        if not ids:
            continue
        own = set(head(w) or ())
        if own and ids <= own and _CJK.match(w):
            heads[w] = tuple(sorted(own))  # the names already say it ("番茄" ends 普罗旺斯番茄)
            continue
        out[w] = tuple(sorted(ids | own))
    return Joined(out, heads, {c: ids for c, ids in bare.items() if ids})
