"""The shipped word data (data/lexicon/*.tsv), read once per process and extendable from config.

- regional.tsv: regional phrasing read as plain Mandarin ("仲有冇" -> "还有没有"), applied by
  normalize() to questions and to catalog strings alike, so both sides meet in one form.
- synonyms.tsv: grocery names that mean the same goods (红薯 = 地瓜 = 番薯), regional names and
  common misspellings. A group helps only where the catalog knows one of its words.
- kinds.tsv: a kind and its members (纸巾: 抽纸, 手帕纸...), so a generic word asks about every
  member the store sells.
- packs.tsv: pack and size words (大瓶, 整箱, 散装) and what they select.
- bare.tsv: what a single character alone means (油 is cooking oil, not 酱油).

Nothing here names a store's product; the engine joins these words to a catalog when it builds an
index (once per catalog version), never per message.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from bot.text import fold

log = logging.getLogger(__name__)
DATA = Path(__file__).resolve().parents[2] / "data" / "lexicon"
_SPLIT = re.compile(r"[|｜,，、]")


def read_tsv(path: Path) -> list[list[str]]:
    """Rows of a tab-separated word file; blank lines and lines starting with # are skipped."""
    rows = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rows.append([c.strip() for c in line.split("\t")])
    return rows


def _plain(word: str) -> str:
    """A word file's entry in the form questions take (NFKC, simplified, lower case, no spaces)."""
    return re.sub(r"\s+", "", fold(word))


def _words(cell: str) -> list[str]:
    return [w for w in (_plain(x) for x in _SPLIT.split(cell)) if w]


@dataclass
class Words:
    regional: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (phrase, not_after, not_before)
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    packs: dict[str, str] = field(default_factory=dict)
    bare: dict[str, str] = field(default_factory=dict)  # a character alone -> the kind it means
    version: int = 0
    _regex: re.Pattern[str] | None = None
    _replace: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    _vocab: dict[int, frozenset[str]] = field(default_factory=dict)

    # --- loading -------------------------------------------------------------------------------

    def add_regional(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            if not row or not row[0]:
                continue
            cells = row + [""] * (4 - len(row))
            phrase = _plain(cells[0])
            self.regional[(phrase, cells[2], cells[3])] = _plain(cells[1])
        self._regex = None
        self.version += 1

    def add_synonyms(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            group = tuple(dict.fromkeys(w for c in row[:2] for w in _words(c)))
            if len(group) > 1:
                self.synonyms.append(group)
        self.version += 1

    def add_kinds(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            if len(row) < 2 or not row[0]:
                continue
            kind = _plain(row[0])
            members = tuple(w for w in _words(row[1]) if w != kind)
            self.kinds[kind] = tuple(dict.fromkeys(self.kinds.get(kind, ()) + members))
        self.version += 1

    def add_packs(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            if len(row) >= 2 and row[0] and row[1]:
                self.packs[_plain(row[0])] = row[1].strip().lower()
        self.version += 1

    def vocabulary(self) -> frozenset[str]:
        """Every grocery word of the synonym groups and kinds (what a wish-list term may be)."""
        got = self._vocab.get(self.version)
        if got is None:
            words = {w for g in self.synonyms for w in g}
            for k, members in self.kinds.items():
                words.add(k)
                words.update(members)
            got = frozenset(words)
            self._vocab = {self.version: got}
        return got

    def add_bare(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            if len(row) >= 2 and len(_plain(row[0])) == 1 and row[1]:
                self.bare[_plain(row[0])] = _plain(row[1])
        self.version += 1

    # --- regional reading ----------------------------------------------------------------------

    def regionalize(self, s: str) -> str:
        """`s` (already simplified and lower case) with regional phrasing read as Mandarin."""
        if self._regex is None:
            self._compile()
        assert self._regex is not None
        if not self._regex.search(s):
            return s
        return self._regex.sub(self._sub, s)

    def _compile(self) -> None:
        parts, replace = [], {}
        for (phrase, not_after, not_before), to in sorted(self.regional.items(), key=lambda kv: -len(kv[0][0])):
            p = re.escape(phrase)
            if not_after:
                p = f"(?<![{re.escape(not_after)}])" + p
            if not_before:
                p = p + f"(?![{re.escape(not_before)}])"
            parts.append(p)
            replace.setdefault(phrase, []).append((not_after, not_before, to))
        self._replace = replace
        self._regex = re.compile("|".join(parts)) if parts else re.compile(r"(?!x)x")

    def _sub(self, m: re.Match[str]) -> str:
        options = self._replace[m.group(0)]
        if len(options) == 1:
            return options[0][2]
        s, a, b = m.string, m.start(), m.end()
        for not_after, not_before, to in options:  # several rows for one phrase: the one whose context fits
            if (not not_after or a == 0 or s[a - 1] not in not_after) and (
                    not not_before or b == len(s) or s[b] not in not_before):
                return to
        return m.group(0)


def _load_shipped() -> Words:
    w = Words()
    w.add_regional(read_tsv(DATA / "regional.tsv"))
    w.add_synonyms(read_tsv(DATA / "synonyms.tsv"))
    w.add_kinds(read_tsv(DATA / "kinds.tsv"))
    w.add_packs(read_tsv(DATA / "packs.tsv"))
    w.add_bare(read_tsv(DATA / "bare.tsv"))
    return w


WORDS = _load_shipped()


def extend(regional: Iterable[Path] = (), synonyms: Iterable[Path] = (), kinds: Iterable[Path] = (),
           packs: Iterable[Path] = ()) -> None:
    """Add an operator's word files (config [qa] regional / synonyms / kinds) to the shipped ones.

    Called once at start, before any index is built: normalisation is process-wide.
    """
    for p in regional:
        WORDS.add_regional(read_tsv(p))
    for p in synonyms:
        WORDS.add_synonyms(read_tsv(p))
    for p in kinds:
        WORDS.add_kinds(read_tsv(p))
    for p in packs:
        WORDS.add_packs(read_tsv(p))
    log.info("qa words: %d regional phrases, %d synonym groups, %d kinds",
             len(WORDS.regional), len(WORDS.synonyms), len(WORDS.kinds))
