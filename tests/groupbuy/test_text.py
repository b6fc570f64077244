"""Normalisation of raw chat text before parsing."""
from handlers.groupbuy.text import clean


def test_full_width_and_case():
    assert clean("＋１ ３栋５０２ ＫＧ") == "+1 3栋502 kg"


def test_quoted_reply_keeps_only_the_reply():
    assert clean("「王姐：草莓到了吗」\n- - - - - - - - - - - - - - -\n+1") == "+1"
    assert clean("「王姐：+5」 谢谢") == "谢谢"


def test_mentions_are_dropped():
    assert clean("@导购小王\u2005+1") == "+1"
    assert clean("@导购小王 +2 3栋502") == "+2 3栋502"
    assert clean("+1 @导购小王") == "+1"


def test_fruit_emoji_become_words_and_others_vanish():
    assert clean("🍓+1👍") == "草莓 +1"
    assert clean("🍓+1", emoji_words=False) == "+1"
    assert clean("好的❤️✅") == "好的"


def test_traditional_vocabulary_and_lines():
    assert clean("幫報 3 小明") == "帮报 3 小明"
    assert clean("#接龙\r\n\r\n1. 王姐  2盒\n") == "#接龙\n1. 王姐 2盒"


def test_empty():
    assert clean("") == "" and clean(" \u200b👍 ") == ""
