"""Greetings, thanks, "好的" and emoji in a 1:1 chat get a short answer, so a shopper who says 你好
in 微信客服 does not meet silence. Only a message that is nothing but such words counts ("你好，
草莓多少钱" is a question and goes on to Q&A), only 1:1 chats (in a group, silence is right), and
each kind is answered once per conversation per `reply_every_minutes`.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from bot.config import feature_settings
from bot.feature import Feature
from bot.message import Message, Reply
from bot.router import SKIP, Handled, Router
from store import Store

router = Router(__name__)

_PUNCT = re.compile(r"[\s~～!！。.,，、?？:：;；…\-—]+")
_END = r"[呀啊吖呢吗么嘛哈啦哦噢]*"
_CALL = r"(?:老板娘|老板|亲|店长|客服|小助手|美女|帅哥|您|你)"
_WORDS = (
    ("greeting", rf"(?:{_CALL}|你好|您好|hello|hi|hey|哈喽|哈罗|嗨|在吗|在么|在不在|在嘛|有人吗|有人在吗|"
                 r"早上好|上午好|中午好|下午好|晚上好|早安|早)+"),
    ("thanks", rf"(?:好的|好|嗯|哦|ok)?(?:谢谢|多谢|感谢|谢啦|谢了|thx|thanks|thankyou|3q|辛苦了|麻烦了)+{_CALL}?"),
    ("ack", r"(?:好的|好滴|好哒|好嘞|好吧|好|嗯嗯|嗯|哦哦|哦|噢|ok|okay|收到|知道了|明白了?|了解|行|可以)+"),
)
_KINDS = tuple((kind, re.compile(words + _END)) for kind, words in _WORDS)
# Emoji, WeChat's [微笑]-style codes (not the [图片] placeholders of media), and lone symbols.
_EMOJI = re.compile(r"\[(?!图片|语音|视频|文件|链接|位置|动画表情)[^\[\]]{1,6}\]|[\U0001F000-\U0001FAFF"
                    r"\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D\u3030\u303D\u2764]")


@dataclass(frozen=True)
class Settings:
    reply_every_minutes: int = 30


def kind_of(text: str) -> str | None:
    """'greeting', 'thanks', 'ack' or 'emoji' when the whole message is that, else None."""
    t = _PUNCT.sub("", text.strip().lower())
    words = _EMOJI.sub("", t)
    if not words:
        return "emoji" if t else None
    for kind, pattern in _KINDS:
        if pattern.fullmatch(words):
            return kind
    return None


async def setup(deps: dict) -> None:
    deps["smalltalk_settings"] = feature_settings(deps["config"], "smalltalk", Settings)


@router.any_text()
async def small_talk(msg: Message, role: str, store: Store, smalltalk_settings: Settings) -> Handled:
    if msg.kind != "text" or msg.chat_type == "group" or msg.channel == "aibot":
        return SKIP
    kind = kind_of(msg.text or "")
    if kind is None:
        return SKIP
    every = smalltalk_settings.reply_every_minutes * 60
    if not await store.smalltalk.turn(msg.conversation, kind, msg.id, every):
        return None  # answered this kind a moment ago: once is friendly, twice is a script
    return Reply(f"smalltalk/{kind}.txt.j2", variant=zlib.crc32(msg.id.encode()) % 3, staff=role != "shopper",
                 kf=msg.channel == "kf")


feature = Feature("smalltalk", routers=[router], settings=Settings, setup=setup)
