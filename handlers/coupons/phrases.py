"""What a shopper's coupon line asks for, or None when it is not ours. The ways shoppers ask:

    classify("领券")                        -> Ask("claim")
    classify("还有满50减10的券吗？")          -> Ask("claim", hint=RuleHint(threshold_fen=5000, amount_fen=1000))
    classify("新人券在哪领，我刚进群")         -> Ask("claim", new_only=True)
    classify("券领了怎么用，收银台出示哪个码")  -> Ask("usage")
    classify("我的券过期了能补发吗")           -> Ask("support")
    classify("帮我老公也领一张券")             -> Ask("proxy")
    classify("草莓多少钱")                   -> None

A line is ours only when it talks about a coupon (券, or 领/抢 … 一张 on someone's behalf) and is
short: a pasted 接龙 list or a long complaint that happens to contain 券 is left to the others.
Everything else (prices, 接龙, chatter) passes on untouched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from bot import text as base
from handlers.coupons.rules import NUM, _fen, _percent, _yuan_text, percent_label

MAX_LEN = 40  # longer lines are stories or pastes, not coupon requests

# Whom a shopper claims for: kin (data/lexicon/kin.tsv) or anyone else, a second account included.
_RELATIVE = base.alternation(base.KIN + ("他", "她", "别人", "其他人", "另一个人", "小号"))
_TAKE = r"(?:领|抢|要|拿|留|多领|再领|发)"
_PROXY = re.compile(rf"(?:帮|替|给|代)我?(?:家)?{_RELATIVE}.{{0,4}}?{_TAKE}|{_TAKE}.{{0,4}}给我?(?:家)?{_RELATIVE}")
_SUPPORT = re.compile(r"过期|补发|补一张|补给我|失效|作废|没收到|没到账|不见了|丢了|删了|用不了|不能用|用不上|退券|被拒")
_USAGE = re.compile(r"怎么用|如何用|怎么使用|如何使用|用法|哪个码|出示|收银|核销|能用吗|可以用吗|能不能用|在哪用|哪里用|"
                    r"叠加|同享|一起用|怎么抵|抵扣")
_MINE = re.compile(r"我的(?:优惠)?券|我领的券|领过的券|领到的券|查券|查一下券|我有(?:几|多少|哪些)张?(?:优惠)?券|券码(?:是|在|呢|多少)")
_REFUSE = re.compile(r"(?:不要|不用|别|不想要|不需要|不想)(?:再)?(?:发|给|领)?(?:优惠)?券")
_NEW = re.compile(r"新人|新客|新来|新成员|新会员|刚进群|刚入群|刚加群|刚加")
_PROXY_CONTEXT = re.compile(r"券|\d+张|[一两二俩]张")

_THRESHOLD = re.compile(rf"满\s*(?P<t>{NUM})\s*(?:元|块)?\s*(?:减|-)\s*(?P<a>{NUM})")
_NO_THRESHOLD = re.compile(rf"无门槛\s*(?:(?P<a>{NUM})\s*(?:元|块))?")
_PERCENT = re.compile(rf"(?P<p>{NUM})\s*折")
_AMOUNT = re.compile(rf"(?P<a>{NUM})\s*(?:元|块)")


@dataclass(frozen=True, slots=True)
class RuleHint:
    """The rule a shopper named ("满50减10的券"); None fields were not said."""

    kind: str | None = None  # no_threshold | percent, when said
    threshold_fen: int | None = None
    amount_fen: int | None = None
    percent: int | None = None

    def matches(self, c: Mapping[str, Any]) -> bool:
        """Whether a campaign view (service.view / campaign_statics) has this rule."""
        if self.kind and c["kind"] != self.kind:
            return False
        if self.threshold_fen is not None and c["threshold_fen"] != self.threshold_fen:
            return False
        if self.amount_fen is not None and (c["kind"] == "percent" or c["amount_fen"] != self.amount_fen):
            return False
        return self.percent is None or c.get("percent") == self.percent

    def label(self) -> str:
        """The rule as the shopper put it, for the reply: 满50减10, 无门槛5元, 9折, 5元."""
        if self.kind == "percent":
            return f"{percent_label(self.percent or 0)}折"
        amount = f"{_yuan_text(self.amount_fen)}元" if self.amount_fen else ""
        if self.kind == "no_threshold":
            return f"无门槛{amount}"
        if self.threshold_fen:
            return f"满{_yuan_text(self.threshold_fen)}减{amount.removesuffix('元')}"
        return amount


@dataclass(frozen=True, slots=True)
class Ask:
    intent: str  # claim | mine | usage | support | proxy
    new_only: bool = False
    hint: RuleHint | None = None


def _hint(text: str) -> RuleHint | None:
    if m := _THRESHOLD.search(text):
        t, a = _fen(m["t"]), _fen(m["a"])
        return RuleHint(threshold_fen=t, amount_fen=a) if t and a else None
    if m := _NO_THRESHOLD.search(text):
        return RuleHint(kind="no_threshold", amount_fen=_fen(m["a"]) if m["a"] else None)
    if m := _PERCENT.search(text):
        p = _percent(m["p"])
        return RuleHint(kind="percent", percent=p) if p else None
    if m := _AMOUNT.search(text):
        a = _fen(m["a"])
        return RuleHint(amount_fen=a) if a else None
    return None


def normalize(text: str) -> str:
    """The base form of bot/text.py without any blank: the patterns read the words run together."""
    return base.normalize(text).replace(" ", "")


def classify(text: str) -> Ask | None:
    s = normalize(text)
    if not s or len(s) > MAX_LEN or s.startswith(("#", "/")):
        return None
    if _PROXY.search(s) and _PROXY_CONTEXT.search(s):
        return Ask("proxy")
    if "券" not in s or _REFUSE.search(s):
        return None
    if _SUPPORT.search(s):
        return Ask("support")
    if _USAGE.search(s):
        return Ask("usage")
    if _MINE.search(s):
        return Ask("mine")
    return Ask("claim", new_only=bool(_NEW.search(s)), hint=_hint(s))
