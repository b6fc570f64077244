"""Targeted number + classifier reading: values, units, and names that must survive untouched."""
from fractions import Fraction

import pytest

from handlers.groupbuy.numerals import convert, find_quantities, mask, parse_number, read_at


@pytest.mark.parametrize("text, value", [
    ("十", 10), ("十二", 12), ("二十", 20), ("二十五", 25), ("一百", 100), ("一百零五", 105),
    ("一百二", 120), ("两百", 200), ("三千五", 3500), ("一千零一十", 1010), ("俩", 2), ("仨", 3),
    ("两", 2), ("半", Fraction(1, 2)), ("１２", 12), ("1.5", Fraction(3, 2)), ("36", 36),
])
def test_parse_number_reads_digits_and_chinese(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "二二", "百", "十十", "abc", "两三", "五花", "1.2.3"])
def test_parse_number_rejects_non_numbers(text):
    assert parse_number(text) is None


def _read(text, protect=()):
    return [(q.value, q.unit, q.text) for q in find_quantities(text, protect)]


@pytest.mark.parametrize("text, expected", [
    ("我要两份", [(2, "份", "两份")]),
    ("给我留3盒", [(3, "盒", "3盒")]),
    ("草莓两盒 脐橙一箱", [(2, "盒", "两盒"), (1, "箱", "一箱")]),
    ("一斤半", [(Fraction(3, 2), "斤", "一斤半")]),
    ("半斤", [(Fraction(1, 2), "斤", "半斤")]),
    ("两个半", [(Fraction(5, 2), "个", "两个半")]),
    ("1.5斤", [(Fraction(3, 2), "斤", "1.5斤")]),
    ("5kg", [(5, "公斤", "5kg")]),
    ("2千克", [(2, "公斤", "2千克")]),
    ("１２盒", [(12, "盒", "12盒")]),
    ("２ 盒", [(2, "盒", "2 盒")]),
    ("来俩", [(2, None, "俩")]),
    ("草莓2 脐橙1", [(2, None, "2"), (1, None, "1")]),
    ("草莓x2", [(2, None, "x2")]),
    ("×3", [(3, None, "×3")]),
    ("十二瓶", [(12, "瓶", "十二瓶")]),
    ("一提 两串 三把 四只 五袋", [(1, "提", "一提"), (2, "串", "两串"), (3, "把", "三把"),
                              (4, "只", "四只"), (5, "袋", "五袋")]),
])
def test_find_quantities(text, expected):
    assert _read(text) == expected


@pytest.mark.parametrize("text, expected", [
    # cn2an turns 两斤五花 into 2斤5花; here 五花 stays a name.
    ("两斤五花 一斤排骨", [(2, "斤", "两斤"), (1, "斤", "一斤")]),
    ("三只松鼠2袋", [(2, "袋", "2袋")]),
    ("六个核桃两提", [(2, "提", "两提")]),
    ("五常大米一袋", [(1, "袋", "一袋")]),
    ("五花肉多少钱一斤", [(1, "斤", "一斤")]),
    ("我要五花肉", []),
])
def test_names_with_numerals_are_not_read(text, expected):
    assert _read(text) == expected


def test_caller_names_are_protected():
    assert _read("99草莓2盒") == [(99, None, "99"), (2, "盒", "2盒")]
    assert _read("99草莓2盒", protect=("99草莓",)) == [(2, "盒", "2盒")]


@pytest.mark.parametrize("text", [
    "今晚20:00", "周六提货", "星期六", "第5个", "36.9元", "12月31日", "3栋502", "3-502", "5号楼",
    "一个人", "问一下", "一起", "十点", "36块", "500g", "ab2", "几盒",
])
def test_not_quantities(text):
    assert _read(text) == []


def test_offsets_index_the_text():
    text = "＋２ 草莓两盒"
    q = find_quantities(text)
    assert [text[x.start:x.end] for x in q] == ["２", "两盒"]


@pytest.mark.parametrize("text, pos, expected", [
    ("来俩", 1, (2, None)),
    ("我要两", 2, (2, None)),
    ("我要两!", 2, (2, None)),
    ("我要两个", 2, (2, "个")),
    ("改成 3", 2, (3, None)),
    ("再加一份", 2, (1, "份")),
])
def test_read_at_anchored(text, pos, expected):
    q = read_at(text, pos)
    assert (q.value, q.unit) == expected


@pytest.mark.parametrize("text, pos", [("问一下", 1), ("我要五花肉", 2), ("要不要", 1), ("改天", 1)])
def test_read_at_refuses_words(text, pos):
    assert read_at(text, pos) is None


def test_unanchored_chinese_needs_classifier():
    assert read_at("我要两", 2, anchored=False) is None
    assert read_at("我要两盒", 2, anchored=False).value == 2


def test_mask_keeps_offsets_and_prefers_longer_names():
    masked = mask("两斤五花肉", ["五花", "五花肉"])
    assert len(masked) == 5 and masked.startswith("两斤") and "五" not in masked and "肉" not in masked


@pytest.mark.parametrize("value, unit, group_unit, expected", [
    (2, None, "盒", 2), (2, "份", "盒", 2), (2, "盒", "盒", 2), (2, "个", "盒", 2),
    (2, "斤", "盒", None), (2, "箱", "盒", None), (2, "个", "斤", None),
    (1, "公斤", "斤", 2), (1, "斤", "公斤", Fraction(1, 2)), (3, "斤", "kg", Fraction(3, 2)),
    (Fraction(1, 2), "斤", "斤", Fraction(1, 2)),
])
def test_convert_to_group_unit(value, unit, group_unit, expected):
    assert convert(Fraction(value), unit, group_unit) == expected
