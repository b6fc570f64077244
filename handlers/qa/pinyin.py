"""Tone-less pinyin for matching: syllables of characters, sounds typists confuse, typed pinyin.

Pure functions over pypinyin's single-character readings, cached per character.
"""
from __future__ import annotations

from pypinyin import lazy_pinyin

from handlers.qa import lexicon as lx

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r",
             "z", "c", "s", "y", "w")

_SYLLABLE: dict[str, str] = {}


def syllable(ch: str) -> str:
    """Tone-less pinyin of one character (the character itself when it has none)."""
    s = _SYLLABLE.get(ch)
    if s is None:
        s = lazy_pinyin(ch)[0] if "\u4e00" <= ch <= "\u9fff" else ch
        _SYLLABLE[ch] = s
    return s


# Characters whose reading inside words often differs from their single-character default
# (调和 tiao, 长沙 chang, 番茄 qie). Derived once: over jieba's dictionary words of 2-4 characters,
# those where pypinyin's phrase reading differs from the character's own in at least 3 words and
# 10% of its uses; plus 豉 (豆豉), too rare there to count.
HETERONYMS = frozenset(
    "长重行调乐还着了薄朝都佛弹似给没塞校参称差勒的泊降卜什攒嚼劲屏削仔朴伺椎粘藉尉畜龈茄柏琢厦刹栅否诘沓肋剥呢刨扒咽啜潦呱吓"
    "吭蛤匙辟曝裳鹄吁辗牟靓耙傀颤擘扛磅柞拗咋伽俟吖缪澹蹊钥叨咖囤絜纶膀陂偻嚓纥坻埶捋擿朘柚槟莞铛豉")


def readings(k: str) -> list[tuple[str, ...]]:
    """Syllables of a catalog string: character by character, and as in words when one of its
    characters is read differently there (调和油 is "tiao he you", not "diao he you")."""
    chars = tuple(map(syllable, k))
    if not any(c in HETERONYMS for c in k):
        return [chars]
    in_words = tuple(_in_context(k, p) if c in HETERONYMS else chars[p] for p, c in enumerate(k))
    return [chars] if in_words == chars else [chars, in_words]


_CONTEXT: dict[str, tuple[str, ...]] = {}


def _in_context(k: str, p: int) -> str:
    """The reading of k[p] among its neighbours; windows repeat across a catalog, so they are cached."""
    a = max(0, p - 1)
    window = k[a:p + 2]
    got = _CONTEXT.get(window)
    if got is None:
        got = _CONTEXT[window] = tuple(lazy_pinyin(window))
    return got[p - a] if len(got) == len(window) else syllable(k[p])


def split(s: str) -> tuple[str, str]:
    for ini in _INITIALS:
        if s.startswith(ini) and len(s) > len(ini):
            return ini, s[len(ini):]
    return "", s


_FUZZY: dict[str, str] = {}


def fuzzy(s: str) -> str:
    """Merge the sounds pinyin typists confuse: zh/z, ch/c, sh/s, n/l, -ng/-n."""
    f = _FUZZY.get(s)
    if f is None:
        f = _FUZZY[s] = _fuzzy_uncached(s)
    return f


def _fuzzy_uncached(s: str) -> str:
    ini, fin = split(s)
    ini = {"zh": "z", "ch": "c", "sh": "s", "l": "n"}.get(ini, ini)
    if fin.endswith("ng") and fin[:-2][-1:] in ("a", "e", "i"):
        fin = fin[:-1]
    return ini + fin


def near(a: str, b: str) -> bool:
    """Two characters a slip could swap: homophones (fuzzy), or the same initial ("挑"/"桃")."""
    sa, sb = syllable(a), syllable(b)
    if fuzzy(sa) == fuzzy(sb):
        return True
    ia, _ = split(sa)
    ib, _ = split(sb)
    return bool(ia) and ia == ib


def strip_cues(text: str) -> list[tuple[str, int]]:
    """The Latin run itself, then with question words in pinyin cut from either end."""
    out = [(text, 0)]
    core, lead = text, 0
    changed = True
    while changed:
        changed = False
        for cue in lx.PINYIN_CUES:
            if core.endswith(cue) and len(core) > len(cue) + 1:
                core = core[:-len(cue)]
                changed = True
                break
            if core.startswith(cue) and len(core) > len(cue) + 1:
                core, lead = core[len(cue):], lead + len(cue)
                changed = True
                break
        if changed:
            out.append((core, lead))
    return out


def parses_as(q: str, syl: tuple[str, ...]) -> bool:
    """Can q be written as each syllable of syl in full or as a non-empty prefix, in order?"""
    n, m = len(q), len(syl)
    if n < m:
        return False
    reach = {0}
    for s in syl:
        nxt = set()
        for i in reach:
            for L in range(1, len(s) + 1):
                if q.startswith(s[:L], i):
                    nxt.add(i + L)
                else:
                    break
        if not nxt:
            return False
        reach = nxt
    return n in reach
