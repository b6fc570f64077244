from handlers.qa.normalize import clauses, had_media, key, normalize


def test_full_width_letters_digits_and_punctuation_become_ascii():
    assert normalize("ＣＡＯＭＥＩ有吗？") == "caomei有吗?"
    assert normalize("＋１") == "+1"


def test_case_is_folded():
    assert normalize("Coke有吗") == "coke有吗"


def test_wecom_mentions_are_removed_with_either_space():
    assert normalize("@小助手 车厘子还有吗") == "车厘子还有吗"
    assert normalize("@导购小王\u2005草莓有吗") == "草莓有吗"
    assert normalize("车厘子还有吗 @小助手") == "车厘子还有吗"


def test_a_mention_glued_to_the_question_keeps_the_question():
    assert normalize("@小助手车厘子还有吗") == "车厘子还有吗"


def test_quoted_reply_block_is_dropped_and_only_the_new_text_kept():
    text = "「张三：草莓还有吗」\n- - - - - - - - - - - - - - -\n车厘子呢"
    assert normalize(text) == "车厘子呢"


def test_emoji_and_stickers_are_removed():
    assert normalize("好的谢谢老板👍") == "好的谢谢老板"
    assert normalize("香蕉😊多少钱[微笑]") == "香蕉多少钱"
    assert normalize("[图片]") == ""


def test_media_placeholders_are_detected_before_they_are_removed():
    assert had_media("这个多少钱[图片]")
    assert not had_media("这个多少钱")


def test_leading_greetings_and_trailing_particles_are_trimmed_but_the_question_mark_stays():
    assert normalize("请问一下，草莓多少钱啊~") == "草莓多少钱"
    assert normalize("老板，车厘子?") == "车厘子?"


def test_fillers_are_only_trimmed_at_the_edges():
    assert normalize("早餐奶有吗") == "早餐奶有吗"
    assert normalize("哈密瓜有吗") == "哈密瓜有吗"


def test_repeated_punctuation_collapses_and_clauses_split_on_it():
    assert normalize("草莓还有吗？？明天能到不") == "草莓还有吗?明天能到不"
    assert clauses("草莓还有吗?明天能到不") == ["草莓还有吗", "明天能到不"]


def test_key_is_the_lookup_form_of_catalog_strings():
    assert key(" 可口 可乐 ") == "可口可乐"
    assert key("ＣＯＫＥ") == "coke"


def test_traditional_characters_are_simplified_in_questions_and_catalog_keys():
    assert normalize("車厘子還有嗎？") == "车厘子还有吗?"
    assert key("特侖蘇") == "特仑苏"
