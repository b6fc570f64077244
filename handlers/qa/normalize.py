"""Turn a raw chat line into the plain text the matcher reads.

The base form comes from bot/text.py (NFKC, traditional characters simplified, lower case, WeCom
@mentions and quoted replies removed, emoji and WeChat stickers removed, zero-width characters
dropped). On top of it Q&A reads regional phrasing as Mandarin (words.py: "有冇" -> "有没有"),
trims greetings and fillers at the start and sentence particles at the end, and unifies
punctuation to ASCII so clause splitting is one regex. Pure functions, no I/O.
"""
from __future__ import annotations

import re

from bot import text as base
from bot.text import fold
from handlers.qa.words import WORDS

# A line of dashes left by a quoted reply whose separator was not the spaced WeChat one.
_SEPARATOR = re.compile(r"^\s*(?:-\s*){3,}\s*$", re.M)
_QUOTES = re.compile("[\"'“”‘’「」『』《》〈〉`]")
_PUNCT_MAP = str.maketrans({
    "。": ".", "、": ",", "～": "~", "…": ".", "·": " ", "【": " ", "】": " ",
    "〔": " ", "〕": " ", "|": " ", "/": "/",
})
_SPACES = re.compile(r"[\s\u2005\u3000]+")
_REPEAT_PUNCT = re.compile(r"([,.?!~;:])[,.?!~;:\s]*")

# Openers that carry no meaning; removed only at the start so a product name is never cut.
_LEAD_FILLER = re.compile(
    r"^(?:(?:请问一下|请问下|请问|问一下|问下|问问|打扰一下|打扰了|打扰|麻烦问下|麻烦问一下|麻烦|"
    r"你好|您好|哈喽|hello|hi|在吗|在不在|老板|老板娘|亲爱的|亲|店长|小助手|助手|客服|"
    r"美女|帅哥|姐姐|小姐姐|小哥哥|宝宝们|宝子们|大家好|早上好|早安|嗯嗯|那个|就是|对了)[,.?!~\s]*)+"
)
_TAIL_PARTICLE = re.compile(r"(?:[啊呀哇哈嘛哦噢喔啦咯呗哟]+|[~.,!\s]+)+$")
_CLAUSE = re.compile(r"[,.?!;:~\n]+|\s+")


def normalize(text: str) -> str:
    """The canonical form of a shopper's line; empty when nothing but noise was sent."""
    s = base.normalize(text, lines=True, emoji_gap="")
    if not s:
        return ""
    s = _SEPARATOR.sub(" ", s)
    s = _QUOTES.sub("", s)
    s = WORDS.regionalize(s)  # "仲有冇" -> "还有没有" (data/lexicon/regional.tsv)
    s = s.translate(_PUNCT_MAP)
    s = _SPACES.sub(" ", s).strip()
    s = _REPEAT_PUNCT.sub(lambda m: m.group(1), s)
    s = _LEAD_FILLER.sub("", s)
    s = _TAIL_PARTICLE.sub("", s)
    return s.strip(" ,.!~;:")


def had_media(text: str) -> bool:
    """True when the line carried a photo, voice or video placeholder ("这个多少钱[图片]")."""
    return bool(re.search(r"\[(?:图片|照片|语音|视频|文件|动画表情|image|photo)\]", text or "", re.I))


def clauses(text: str) -> list[str]:
    """Split normalised text into clauses on punctuation and spaces."""
    return [c for c in _CLAUSE.split(text) if c]


def key(text: str) -> str:
    """The lookup key of a catalog string (name, alias, keyword): as a question is normalised, minus spaces."""
    s = WORDS.regionalize(_QUOTES.sub("", fold(text)))  # both sides in one form: a FAQ's "劏鱼" meets "帮手劏"
    return _SPACES.sub("", s)
