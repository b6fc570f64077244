"""Chat text as every feature reads it: one normaliser for what WeCom and WeChat put around a line.

`normalize` is the base every feature starts from. In this order it:

1. folds width and script: NFKC (full-width letters, digits and punctuation become ASCII, U+2005
   and U+3000 become spaces), traditional characters simplified (bot/t2s.py), line ends unified;
2. drops the quoted part of a reply (`引用 name: …` heads, everything above WeChat's
   `- - - - -` separator, 「name：quoted」 blocks with the dashes after them);
3. lower-cases;
4. drops @mentions (WeCom ends one with U+2005, other clients with a space; one at the end of the
   text may end bare) and any stray `@`;
5. drops zero-width characters, emoji (with skin tones, keycaps and variation selectors) and
   WeChat stickers (`[微笑]`, `[图片]`), or turns listed emoji into words (`emoji_words`);
6. collapses blanks: into one line, or within each line with empty lines dropped (`lines=True`).

Features add their own word lists on top: Q&A its regional phrasing, fillers and punctuation
(handlers/qa/normalize.py), 接龙 its fruit emoji and dashes (handlers/groupbuy/text.py), coupons
nothing more (handlers/coupons/phrases.py). Shared vocabularies live in data/lexicon/ and are read
here once (`KIN`). Pure functions otherwise.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Iterable, Mapping

from bot.t2s import T2S

LEXICON = Path(__file__).resolve().parents[1] / "data" / "lexicon"

# A quoted reply as clients and bridges render it (after NFKC, so "：" is ":"):
#   「name：quoted」 / a separator line of spaced dashes / the reply; or 引用 name: quoted / the reply.
_QUOTE_HEAD = re.compile(r"^(?:引用|回复)[^:\n]{0,24}:[^\n]*\n+")
_QUOTE_SEPARATOR = re.compile(r"^[ \t]*-(?:[ \t]+-){4,}[ \t]*$", re.M)
_QUOTE_BLOCK = re.compile(r"「[^「」]*:[^「」]*」\s*(?:[-—\s]{3,}\n?)?")
_MENTION = re.compile(r"@[^\s@]{1,24}\s+")
_MENTION_TAIL = re.compile(r"(?<=\S)\s*@[^\s@]{1,24}$")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff\ufe0e\ufe0f]")
# Only characters outside ASCII-to-Greek and the CJK blocks can be emoji; the rest skip the test.
_MAYBE_EMOJI = re.compile(r"[^\x00-\u1fff\u3040-\u9fff\uac00-\ud7ff]")
_EMOJI_RANGES = (
    (0x20E3, 0x20E3), (0x2190, 0x21FF), (0x2300, 0x23FF), (0x25A0, 0x27BF), (0x2B00, 0x2BFF),
    (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1FAFF),
)
_BLANKS = re.compile(r"[ \t\f\v]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Width, script and case only: NFKC, traditional -> simplified, lower case (catalog keys, word files)."""
    return unicodedata.normalize("NFKC", text or "").translate(T2S).lower()


def word_list(name: str) -> tuple[str, ...]:
    """The words of a one-column file in data/lexicon/ (blank lines and # comments skipped)."""
    rows = (line.split("\t")[0].strip() for line in (LEXICON / name).read_text(encoding="utf-8-sig").splitlines())
    return tuple(dict.fromkeys(w for w in rows if w and not w.startswith("#")))


def alternation(words: Iterable[str]) -> str:
    """A regex group matching any of `words`, longest first so 妈妈 wins over 妈."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w))) + ")"


# WeChat's sticker codes and media placeholders ([微笑], [强], [图片]); only listed names, so a
# bracketed word of the sender's own ([草莓], [3栋502]) stays. Folded: they are matched in folded text.
_STICKER = re.compile(r"\[" + alternation(fold(w) for w in word_list("stickers.tsv")) + r"\]")
# The people a shopper acts for: family, partner, friends, colleagues, neighbours (data/lexicon/kin.tsv).
# Coupons (帮我老公领一张) and 接龙 (我妈也要两盒) add their own words around it.
KIN: tuple[str, ...] = word_list("kin.tsv")


def is_emoji(ch: str) -> bool:
    """A pictograph or symbol a shopper adds for tone (👍, ❤, ✅, ☀, ★, skin tones, keycaps)."""
    o = ord(ch)
    if o < 0x2000:
        return unicodedata.category(ch) == "So"  # ©, ®, °
    cat = unicodedata.category(ch)
    if cat in ("So", "Cs", "Co", "Sk"):
        return True
    return any(lo <= o <= hi for lo, hi in _EMOJI_RANGES)


def strip_quote(text: str) -> str:
    """Keep only the reply of a quoted reply (text already NFKC'd)."""
    text = _QUOTE_HEAD.sub("", text)
    parts = _QUOTE_SEPARATOR.split(text)
    if len(parts) > 1:
        text = parts[-1]
    return _QUOTE_BLOCK.sub(" ", text)


def strip_mentions(text: str) -> str:
    """Drop @mentions; a newline that ended one stays, so a pasted list keeps its lines."""
    text = _MENTION_TAIL.sub("", text)
    text = _MENTION.sub(lambda m: "\n" if "\n" in m.group() else " ", text)
    return text.replace("@", " ")


def strip_emoji(text: str, words: Mapping[str, str] | None = None, gap: str = " ") -> str:
    """Emoji and stickers out (each leaves `gap`); an emoji listed in `words` becomes its word, spaced."""
    text = _STICKER.sub(gap, _ZERO_WIDTH.sub("", text))

    def one(m: re.Match[str]) -> str:
        ch = m.group()
        if words and ch in words:
            return f" {words[ch]} "
        return gap if is_emoji(ch) else ch

    return _MAYBE_EMOJI.sub(one, text)


def collapse(text: str, *, lines: bool = False) -> str:
    """Blanks collapsed to one space; with `lines`, per line, blank lines dropped."""
    if not lines:
        return _SPACES.sub(" ", text).strip()
    kept = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in kept if line)


def normalize(text: str, *, lines: bool = False, emoji_words: Mapping[str, str] | None = None,
              emoji_gap: str = " ") -> str:
    """The base form of a chat line (see the module docstring); empty when only noise was sent."""
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text).translate(T2S).replace("\r\n", "\n").replace("\r", "\n")
    s = strip_quote(s).lower()
    s = strip_mentions(s)
    s = strip_emoji(s, emoji_words, emoji_gap)
    return collapse(s, lines=lines)
