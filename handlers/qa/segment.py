"""Word segmentation: jieba's main dictionary loaded once per process, private words per index.

An index adds its catalog words to its own overlay of the word table, so two indexes never see
each other's words, the shared dictionary is never modified, and a rebuild reloads nothing.
"""
from __future__ import annotations

import logging
import marshal
import os
import tempfile

import jieba

jieba.setLogLevel(logging.WARNING)


def base_tokenizer() -> jieba.Tokenizer:
    """jieba's default tokenizer with its main dictionary loaded; shared, never modified here.

    It is jieba.dt, so other features calling jieba.lcut use the same single load. jieba reads
    its cache with marshal.load on a file object, about three times slower than reading the
    bytes first; with the default dictionary and a cache in place we do the latter.
    """
    dt = jieba.dt
    if dt.initialized:
        return dt
    with dt.lock:
        if not dt.initialized and dt.dictionary == jieba.DEFAULT_DICT:
            cache = os.path.join(dt.tmp_dir or tempfile.gettempdir(), dt.cache_file or "jieba.cache")
            try:
                with open(cache, "rb") as f:
                    dt.FREQ, dt.total = marshal.loads(f.read())
                dt.initialized = True
            except (OSError, ValueError, EOFError, TypeError):
                pass  # no or bad cache: jieba builds it below
    dt.check_initialized()
    return dt


class WordTable(dict):
    """An index's own words over jieba's shared table: reads fall through, writes stay here.

    jieba's tokenizer reads its table with `in`, `[]` and `.get` and writes with `[]=`; copying the
    shared table (half a million entries, ~15 MB) for every store's index is what this avoids.
    """

    __slots__ = ("base",)

    def __init__(self, base: dict[str, int]) -> None:
        super().__init__()
        self.base = base

    def __missing__(self, k: str) -> int:
        return self.base[k]

    def __contains__(self, k: object) -> bool:
        return dict.__contains__(self, k) or k in self.base

    def get(self, k: str, default: int | None = None) -> int | None:  # type: ignore[override]
        if dict.__contains__(self, k):
            return dict.__getitem__(self, k)
        return self.base.get(k, default)


LEXICON_WORD_FREQ = 500  # keeps a grocery word whole ("烧卖"), below a catalog word's 1000
_LEXICON: tuple[int, dict[str, int], int] | None = None


def _with_lexicon() -> tuple[dict[str, int], int]:
    """jieba's table plus the grocery lexicon's words, one layer per process (rebuilt only when an
    operator's word files change it), shared by every index."""
    global _LEXICON
    from handlers.qa.words import WORDS
    if _LEXICON is None or _LEXICON[0] != WORDS.version:
        base = base_tokenizer()
        tk = jieba.Tokenizer()
        tk.FREQ = WordTable(base.FREQ)
        tk.total = base.total
        tk.initialized = True
        for w in WORDS.vocabulary():
            if len(w) > 1 and all("\u4e00" <= c <= "\u9fff" for c in w) and not base.FREQ.get(w):
                tk.add_word(w, LEXICON_WORD_FREQ)
        _LEXICON = (WORDS.version, tk.FREQ, tk.total)
    return _LEXICON[1], _LEXICON[2]


def private_tokenizer() -> jieba.Tokenizer:
    """A tokenizer whose added words touch no other index and never the shared dictionary."""
    freq, total = _with_lexicon()
    tk = jieba.Tokenizer()
    tk.FREQ = WordTable(freq)
    tk.total = total
    tk.initialized = True
    return tk


def cut_without(tk: jieba.Tokenizer, k: str) -> list[str]:
    """Segment a catalog string as if it were not itself a word, to see its parts."""
    freq = tk.FREQ
    saved = freq.get(k)
    if saved:
        freq[k] = 0  # jieba reads 0 as "a prefix, not a word"
    try:
        return tk.lcut(k, HMM=False)
    finally:
        if saved:
            freq[k] = saved


_PARTICLES = frozenset("吗呢啊呀吧嘛哦么啦")


def word_bounds(tokens: list[str]) -> set[int]:
    """Word boundaries; a sentence-final particle glued into a word ("雪花呢") is cut off again."""
    out = {0}
    pos = 0
    for t in tokens:
        if len(t) > 1 and t[-1] in _PARTICLES:
            out.add(pos + len(t) - 1)
        pos += len(t)
        out.add(pos)
    return out
