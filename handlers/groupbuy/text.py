"""Normalise raw chat text before any group-buy parsing.

The base form comes from bot/text.py: NFKC (＋１ becomes +1), traditional characters simplified,
lower case, @mentions and the quoted part of a reply removed, emoji, stickers and zero-width
characters removed. On top of it 接龙 turns fruit emoji into their word (so 🍓+1 still names 草莓),
unifies dashes, and keeps newlines (pasted 接龙 lists are line based).
"""
from __future__ import annotations

from bot import text as base

# Fruit and grocery emoji people use instead of the product word.
EMOJI_WORDS: dict[str, str] = {
    "🍓": "草莓", "🍊": "橙子", "🍎": "苹果", "🍏": "苹果", "🍉": "西瓜", "🍇": "葡萄", "🍌": "香蕉",
    "🥭": "芒果", "🍒": "樱桃", "🍑": "桃子", "🍍": "菠萝", "🥝": "猕猴桃", "🍋": "柠檬", "🍐": "梨",
    "🥥": "椰子", "🫐": "蓝莓", "🥚": "鸡蛋", "🥛": "牛奶", "🦐": "虾", "🦀": "螃蟹", "🐟": "鱼",
    "🌽": "玉米", "🥔": "土豆", "🍅": "番茄", "🥒": "黄瓜", "🥕": "胡萝卜", "🧄": "大蒜", "🍗": "鸡腿",
}

_DASHES = str.maketrans({"—": "-", "–": "-", "﹣": "-"})


def clean(text: str, *, emoji_words: bool = True) -> str:
    """Return `text` normalised for parsing: the base form of bot/text.py, one 接龙 line per line.

    Fruit emoji become words when `emoji_words` (opening text keeps them off, so a product name
    cleans to itself); other emoji leave a space. Dashes become "-", blanks collapse inside each
    line and empty lines are dropped. The result may be empty.
    """
    text = base.normalize(text, lines=True, emoji_words=EMOJI_WORDS if emoji_words else None)
    return text.translate(_DASHES)
