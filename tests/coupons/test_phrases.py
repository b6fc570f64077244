"""Which shopper lines are coupon requests, and what each asks for."""
from __future__ import annotations

import pytest

from handlers.coupons.phrases import RuleHint, classify


@pytest.mark.parametrize("text", ["领券", "抢券", "有券吗", "有券吗？", "我要领券！", "领个券", "怎么领券", "有优惠券吗",
                                  "有没有优惠券", "帮我领券", "给我一张券", "券", "今天有什么券"])
def test_claims(text):
    ask = classify(text)
    assert ask is not None and ask.intent == "claim" and not ask.new_only and ask.hint is None


@pytest.mark.parametrize("text", ["新人券", "新人券在哪领，我刚进群", "刚进群，有券吗", "新来的能领券吗"])
def test_new_member_claims(text):
    ask = classify(text)
    assert ask is not None and (ask.intent, ask.new_only) == ("claim", True)


@pytest.mark.parametrize("text, hint, label", [
    ("还有满50减10的券吗？", RuleHint(threshold_fen=5000, amount_fen=1000), "满50减10"),
    ("满五十减十的券还有吗", RuleHint(threshold_fen=5000, amount_fen=1000), "满50减10"),
    ("无门槛的券还有吗", RuleHint(kind="no_threshold"), "无门槛"),
    ("无门槛5元券", RuleHint(kind="no_threshold", amount_fen=500), "无门槛5元"),
    ("九折券还有吗", RuleHint(kind="percent", percent=90), "9折"),
    ("5块的券有吗", RuleHint(amount_fen=500), "5元"),
])
def test_a_named_rule_narrows_the_claim(text, hint, label):
    ask = classify(text)
    assert ask is not None and ask.intent == "claim" and ask.hint == hint and hint.label() == label


@pytest.mark.parametrize("text, intent", [
    ("我的券", "mine"), ("我的优惠券", "mine"), ("查券", "mine"), ("券码是多少", "mine"), ("我领的券呢", "mine"),
    ("券领了怎么用，收银台出示哪个码", "usage"), ("优惠券能和会员价一起用吗", "usage"), ("我的券怎么用", "usage"),
    ("我的券过期了能补发吗", "support"), ("券用不了", "support"), ("领的券不见了", "support"),
    ("帮我老公也领一张券", "proxy"), ("帮我老公也领一张", "proxy"), ("给我妈领一张", "proxy"),
    ("能多领一张券给我老婆吗", "proxy"), ("替我同事抢个券", "proxy"),
])
def test_other_intents(text, intent):
    ask = classify(text)
    assert ask is not None and ask.intent == intent


@pytest.mark.parametrize("text", [
    "草莓多少钱", "+1", "帮我妈也报一份，她不在群里", "我要两份", "能再领一张吗", "不要券", "别发券了", "/券", "/发券 无门槛5元",
    "#接龙 领券 1. 王姐 2盒", "好的谢谢老板👍", "",
    "昨天在你们店买东西用了券结果收银员说系统有问题让我下次再来可是我下次来的时候券已经过期了怎么办",
])
def test_not_coupon_lines(text):
    assert classify(text) is None


def test_hint_matching_against_campaign_views():
    threshold = {"kind": "threshold", "threshold_fen": 5000, "amount_fen": 1000, "percent": None}
    free = {"kind": "no_threshold", "threshold_fen": 0, "amount_fen": 500, "percent": None}
    pct = {"kind": "percent", "threshold_fen": 0, "amount_fen": 0, "percent": 90}
    assert RuleHint(threshold_fen=5000, amount_fen=1000).matches(threshold)
    assert not RuleHint(threshold_fen=5000, amount_fen=500).matches(threshold)
    assert RuleHint(kind="no_threshold").matches(free) and not RuleHint(kind="no_threshold").matches(threshold)
    assert RuleHint(amount_fen=500).matches(free) and not RuleHint(amount_fen=500).matches(pct)
    assert RuleHint(kind="percent", percent=90).matches(pct) and not RuleHint(kind="percent", percent=85).matches(pct)
