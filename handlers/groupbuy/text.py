"""Normalise raw chat text before any group-buy parsing.

WeChat/WeCom group text carries full-width forms (＋１), @mentions, emoji, traditional characters
and quoted replies. Everything downstream assumes the output of `clean`: NFKC, lower-case, no
mentions, no emoji (fruit emoji become their word so 🍓+1 still names 草莓), the quoted part of a
reply removed, blanks collapsed within lines, newlines kept (pasted 接龙 lists are line based).
"""
from __future__ import annotations

import re
import unicodedata

# Quoted reply as clients and bridges render it: 「name：quoted」, a dashed separator line, then the
# reply itself. Only the reply belongs to the sender's action.
_QUOTE_SEP = re.compile(r"^[ \t]*-(?:[ \t]+-){4,}[ \t]*$", re.M)
_QUOTE_BLOCK = re.compile(r"「[^「」]*[:：][^「」]*」")
# A WeCom mention ends with U+2005 (or a space); one at the very end of the text may end bare.
_MENTION = re.compile(r"@[^\s\u2005@]{1,24}(?:[\u2005 ]|$)")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff\ufe0e\ufe0f]")
_BLANKS = re.compile(r"[ \t\u3000]+")

# Fruit and grocery emoji people use instead of the product word.
EMOJI_WORDS: dict[str, str] = {
    "🍓": "草莓", "🍊": "橙子", "🍎": "苹果", "🍏": "苹果", "🍉": "西瓜", "🍇": "葡萄", "🍌": "香蕉",
    "🥭": "芒果", "🍒": "樱桃", "🍑": "桃子", "🍍": "菠萝", "🥝": "猕猴桃", "🍋": "柠檬", "🍐": "梨",
    "🥥": "椰子", "🫐": "蓝莓", "🥚": "鸡蛋", "🥛": "牛奶", "🦐": "虾", "🦀": "螃蟹", "🐟": "鱼",
    "🌽": "玉米", "🥔": "土豆", "🍅": "番茄", "🥒": "黄瓜", "🥕": "胡萝卜", "🧄": "大蒜", "🍗": "鸡腿",
}

# Traditional forms of the vocabulary the parsers read (a full OpenCC pass is not needed for that).
_TRAD = str.maketrans({
    "幫": "帮", "報": "报", "個": "个", "團": "团", "開": "开", "兩": "两", "來": "来", "給": "给",
    "這": "这", "號": "号", "棟": "栋", "樓": "楼", "單": "单", "龍": "龙", "預": "预", "訂": "订",
    "還": "还", "麼": "么", "時": "时", "點": "点", "幾": "几", "刪": "删", "買": "买", "錢": "钱",
    "參": "参", "變": "变", "換": "换", "減": "减", "為": "为", "隻": "只", "條": "条", "週": "周",
    "禮": "礼", "後": "后", "謝": "谢", "嗎": "吗", "僅": "仅", "滿": "满",
    "價": "价", "貨": "货", "處": "处", "臺": "台", "臍": "脐", "蘋": "苹", "媽": "妈", "爺": "爷",
    "門": "门", "鄰": "邻", "櫃": "柜", "們": "们", "請": "请", "沒": "没",
    "從": "从", "對": "对", "親": "亲",
})


def _drop_quote(text: str) -> str:
    parts = _QUOTE_SEP.split(text)
    if len(parts) > 1:
        text = parts[-1]
    return _QUOTE_BLOCK.sub(" ", text)


def _emoji(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat == "So" or cat == "Cs" or cat == "Co" or (cat == "Sk" and ord(ch) > 0x2000)


def clean(text: str, *, emoji_words: bool = True) -> str:
    """Return `text` normalised for parsing.

    Steps: keep only the reply part of a quoted reply, drop 「name：…」 quote blocks and @mentions,
    NFKC (full-width digits and ＋ become ASCII), map a few traditional characters to simplified,
    lower-case, map fruit emoji to words when `emoji_words` (opening text keeps them off), drop
    other emoji and zero-width characters, collapse blanks inside each line and drop empty lines.
    The result may be empty.
    """
    if not text:
        return ""
    text = _drop_quote(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _MENTION.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).translate(_TRAD).lower()
    text = _ZERO_WIDTH.sub("", text)
    out = []
    for ch in text:
        if emoji_words and ch in EMOJI_WORDS:
            out.append(f" {EMOJI_WORDS[ch]} ")
        elif _emoji(ch):
            out.append(" ")
        else:
            out.append(ch)
    text = "".join(out).replace("—", "-").replace("–", "-").replace("﹣", "-")
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
