"""The one chat-text normaliser (bot/text.py) and the features built on it read a line alike."""
import re
from pathlib import Path

from bot import text
from handlers.coupons.phrases import Ask, classify
from handlers.groupbuy.text import clean
from handlers.qa.normalize import normalize as qa_normalize

QUOTED = "「王姐：草莓到了吗」\n- - - - - - - - - - - - - - -\n车厘子呢"


def test_base_form_folds_width_script_and_case():
    assert text.normalize("ＣＯＫＥ　有嗎？") == "coke 有吗?"
    assert text.fold("特侖蘇") == "特仑苏"


def test_quoted_replies_keep_only_the_reply_in_every_form():
    assert text.normalize(QUOTED) == "车厘子呢"
    assert text.normalize("「王姐：+5」 谢谢") == "谢谢"
    assert text.normalize("引用 王姐: 草莓到了吗\n车厘子呢") == "车厘子呢"
    # 「」 around the sender's own words is no quote: the words stay.
    assert text.normalize("「好丽友」派有吗") == "「好丽友」派有吗"


def test_mentions_go_with_either_space_and_at_the_end():
    assert text.normalize("@导购小王\u2005草莓有吗") == "草莓有吗"
    assert text.normalize("车厘子还有吗@小助手") == "车厘子还有吗"
    assert text.normalize("@王姐\n+1", lines=True) == "+1"


def test_emoji_and_listed_stickers_go_other_brackets_stay():
    assert text.normalize("好的👍🏻❤️✅1️⃣") == "好的 1"
    assert text.normalize("+1[强][微笑]") == "+1"
    assert text.normalize("[草莓]+1 [3栋502]") == "[草莓]+1 [3栋502]"
    assert text.normalize("草莓\u200b多少钱\ufeff") == "草莓多少钱"
    assert text.normalize("🍓+1", emoji_words={"🍓": "草莓"}) == "草莓 +1"


def test_lines_mode_keeps_lines_and_drops_empty_ones():
    assert text.normalize("#接龙\r\n\r\n1. 王姐  2盒\n", lines=True) == "#接龙\n1. 王姐 2盒"
    assert text.normalize("#接龙\r\n\r\n1. 王姐  2盒\n") == "#接龙 1. 王姐 2盒"


def test_every_feature_reads_the_same_noise_away():
    noisy = "@小助手\u2005幫我老公也領一張券👍[微笑]"
    assert clean(noisy) == "帮我老公也领一张券"
    assert qa_normalize(noisy) == "帮我老公也领一张券"
    assert classify(noisy) == Ask("proxy")
    assert clean(QUOTED) == qa_normalize(QUOTED) == "车厘子呢"


def test_kin_is_one_list_shared_by_coupons_and_groupbuy():
    assert {"老公", "妈妈", "邻居", "丈母娘", "闺蜜"} <= set(text.KIN)
    kin = re.compile(text.alternation(text.KIN))
    assert kin.match("妈妈").group() == "妈妈"  # longest first
    # A relative only 接龙 knew (丈母娘) now works for coupons too, and coupons' (对象) for 接龙.
    assert classify("帮我丈母娘领一张券") == Ask("proxy")
    from handlers.groupbuy.intents import GroupRef, parse_shopper
    got = parse_shopper("我对象也要2盒", [GroupRef(1, "草莓", (), "盒")])
    assert got.kind == "join" and got.on_behalf_of == "我对象"


def test_one_traditional_table_for_everyone():
    assert clean("幾點截單") == qa_normalize("幾點截單") == "几点截单"
    handlers = Path(__file__).resolve().parents[1] / "handlers"
    assert not any(p.name == "t2s.py" for p in handlers.rglob("*.py"))


def test_empty_and_noise_only():
    assert text.normalize("") == "" and text.normalize(" \u200b👍 [图片]") == ""
