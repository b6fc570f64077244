"""/开团 parsing: every field, its spellings, the price rule, cutoff times and precise errors."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.groupbuy import opening as op
from handlers.groupbuy.opening import Bundle, OpenError, OpenSpec, parse_open
from handlers.groupbuy.when import parse_deadline

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 11, 9, 30, tzinfo=TZ)  # a Wednesday morning
TAIL = " 截止今晚20:00 自提服务台"


def at(*args):
    return datetime(*args, tzinfo=TZ)


def spec(text, now=NOW) -> OpenSpec:
    result = parse_open(text, now, TZ)
    assert isinstance(result, OpenSpec), result
    return result


def error(text, now=NOW) -> OpenError:
    result = parse_open(text, now, TZ)
    assert isinstance(result, OpenError), result
    return result


def test_issue_example():
    s = spec("/开团 丹东99草莓 36.9元/盒 限200盒 每人限4盒 满20盒成团 截止今晚20:00 自提周六10-12点服务台")
    assert s == OpenSpec(title="丹东99草莓", price_fen=3690, unit="盒", cutoff=at(2025, 6, 11, 20, 0),
                         pickup="6月14日 周六 10-12点服务台", cap=200, per_person_limit=4, min_to_form=20)


def test_fields_in_any_order_with_full_width_and_chinese_numbers():
    s = spec("／开团　丹东草莓　截单：明天１２:００｜每户限购四盒，共二百盒，二十盒成团，¥３６.９/盒，提货：服务台")
    assert (s.title, s.price_fen, s.unit, s.cap, s.per_person_limit, s.min_to_form) == \
        ("丹东草莓", 3690, "盒", 200, 4, 20)
    assert s.cutoff == at(2025, 6, 12, 12, 0) and s.pickup == "服务台"


def test_command_word_is_optional_and_traditional_form_accepted():
    assert spec("丹东草莓 36.9元/盒" + TAIL).title == "丹东草莓"
    assert spec("/開團 丹东草莓 36.9元/盒" + TAIL).title == "丹东草莓"


@pytest.mark.parametrize("price, fen, unit, bundle", [
    ("36.9元/盒", 3690, "盒", None),
    ("¥36.9/盒", 3690, "盒", None),
    ("￥36.9/盒", 3690, "盒", None),
    ("36.9元一盒", 3690, "盒", None),
    ("36.9元每箱", 3690, "箱", None),
    ("团购价36.9", 3690, "份", None),
    ("团购价:36.9元", 3690, "份", None),
    ("36元", 3600, "份", None),
    ("19.9元/斤", 1990, "斤", None),
    ("69元2盒", 3450, "盒", Bundle(2, 6900)),
    ("团购价2盒69", 3450, "盒", Bundle(2, 6900)),
    ("2盒69元", 3450, "盒", Bundle(2, 6900)),
    ("100元3盒", 3333, "盒", Bundle(3, 10000)),
    ("团购价2盒69(单盒36.9)", 3690, "盒", Bundle(2, 6900)),
    ("1盒36.9元", 3690, "盒", None),
])
def test_price_forms(price, fen, unit, bundle):
    s = spec(f"/开团 草莓 {price}" + TAIL)
    assert (s.price_fen, s.unit, s.bundle) == (fen, unit, bundle)


def test_unit_comes_from_counts_when_price_has_none():
    s = spec("/开团 草莓 团购价36.9 限200盒" + TAIL)
    assert s.unit == "盒" and s.cap == 200


def test_list_price_and_spec_are_kept_apart_from_title_and_price():
    s = spec("/开团 丹东99草莓 500g/盒 门店价39.9 36.9元/盒" + TAIL)
    assert (s.title, s.spec, s.list_price_fen, s.price_fen) == ("丹东99草莓", "500g/盒", 3990, 3690)


@pytest.mark.parametrize("part, field, value", [
    ("限200盒", "cap", 200), ("限量200", "cap", 200), ("共200盒", "cap", 200), ("库存200", "cap", 200),
    ("限二百盒", "cap", 200), ("不限量", "cap", None),
    ("每人限4盒", "per_person_limit", 4), ("每户限4盒", "per_person_limit", 4),
    ("限购4盒", "per_person_limit", 4), ("每人最多4盒", "per_person_limit", 4),
    ("4盒/人", "per_person_limit", 4), ("限4盒/人", "per_person_limit", 4), ("不限购", "per_person_limit", None),
    ("满20盒成团", "min_to_form", 20), ("20盒成团", "min_to_form", 20), ("满二十盒成团", "min_to_form", 20),
    ("起订20", "min_to_form", 20), ("成团20盒", "min_to_form", 20),
])
def test_counts(part, field, value):
    assert getattr(spec(f"/开团 草莓 36.9元/盒 {part}" + TAIL), field) == value


@pytest.mark.parametrize("cutoff, now, expected", [
    ("截止今晚20:00", NOW, at(2025, 6, 11, 20, 0)),
    ("截止今天18点", NOW, at(2025, 6, 11, 18, 0)),
    ("截止今晚8点", NOW, at(2025, 6, 11, 20, 0)),
    ("截单明天12:00", NOW, at(2025, 6, 12, 12, 0)),
    ("截团 明早9点半", NOW, at(2025, 6, 12, 9, 30)),
    ("截止周五20:00", NOW, at(2025, 6, 13, 20, 0)),
    ("截止 星期五 晚上8点", NOW, at(2025, 6, 13, 20, 0)),
    ("截止周三20:00", NOW, at(2025, 6, 11, 20, 0)),
    ("截止周三20:00", at(2025, 6, 11, 21, 0), at(2025, 6, 18, 20, 0)),
    ("截止下周一10点", NOW, at(2025, 6, 16, 10, 0)),
    ("截止12-31 20:00", NOW, at(2025, 12, 31, 20, 0)),
    ("截止12月31日20点", NOW, at(2025, 12, 31, 20, 0)),
    ("截止2025-07-01 18:00", NOW, at(2025, 7, 1, 18, 0)),
    ("截止01-02 20:00", at(2025, 12, 30, 10, 0), at(2026, 1, 2, 20, 0)),
    ("截止20号20:00", NOW, at(2025, 6, 20, 20, 0)),
    ("截止20:00", NOW, at(2025, 6, 11, 20, 0)),
    ("截止20:00", at(2025, 6, 11, 21, 0), at(2025, 6, 12, 20, 0)),
    ("截止明天", NOW, at(2025, 6, 12, 23, 59)),
    ("截止今晚12点", NOW, at(2025, 6, 12, 0, 0)),
    ("今晚20:00截单", NOW, at(2025, 6, 11, 20, 0)),
    ("截止时间:周五 20:00", NOW, at(2025, 6, 13, 20, 0)),
])
def test_cutoff_forms(cutoff, now, expected):
    assert spec(f"/开团 草莓 36.9元/盒 {cutoff} 自提服务台", now).cutoff == expected


def test_naive_now_is_wall_time_in_tz_and_aware_now_is_converted():
    naive = datetime(2025, 6, 11, 9, 30)
    assert spec("/开团 草莓 36.9元/盒" + TAIL, naive).cutoff == at(2025, 6, 11, 20, 0)
    utc = datetime(2025, 6, 11, 13, 0, tzinfo=ZoneInfo("UTC"))  # 21:00 in Shanghai
    assert spec("/开团 草莓 36.9元/盒 截止20:00 自提服务台", utc).cutoff == at(2025, 6, 12, 20, 0)


def test_pickup_keeps_blanks_and_remarks():
    s = spec("/开团 草莓 36.9元/盒 截止今晚20:00 自提: 周六 10:00-12:00 一楼服务台(报接龙号+手机后四位)")
    assert s.pickup == "6月14日 周六 10:00-12:00 一楼服务台 (报接龙号+手机后四位)"
    assert spec("/开团 草莓 36.9元/盒 截止今晚20:00 提货地点:服务台").pickup == "服务台"


def test_unknown_fragments_become_notes():
    s = spec("/开团 草莓 36.9元/盒 新鲜直达 截止今晚20:00 自提服务台")
    assert s.title == "草莓" and s.notes == ("新鲜直达",)


def test_pasted_jielong_header():
    text = """#接龙
【周六丹东99草莓团】步步高XX店 · 导购小王
🍓丹东99草莓 500g/盒，门店价39.9，团购价2盒69（单盒36.9）
每户限4盒｜共200盒，满20盒成团（不成团不扣款/原路退）
截单：周五20:00｜自提：周六10:00-12:00 一楼服务台（报接龙号+手机后四位）
格式：序号. 昵称/楼栋室号 数量   例 王姐 3栋502 2盒

1. 王姐 3栋502 2盒
2. 小李 1盒"""
    s = spec(text)
    assert (s.title, s.price_fen, s.unit, s.bundle, s.list_price_fen, s.spec) == \
        ("丹东99草莓", 3690, "盒", Bundle(2, 6900), 3990, "500g/盒")
    assert (s.cap, s.per_person_limit, s.min_to_form) == (200, 4, 20)
    assert s.cutoff == at(2025, 6, 13, 20, 0)
    assert s.pickup.startswith("6月14日 周六 10:00-12:00 一楼服务台")
    assert "不成团不扣款/原路退" in s.notes


def test_heading_is_the_title_when_nothing_else_is():
    assert spec("/开团 【丹东草莓】 36.9元/盒" + TAIL).title == "丹东草莓"


@pytest.mark.parametrize("text, codes", [
    ("/开团 草莓", (op.MISSING_PRICE, op.MISSING_CUTOFF, op.MISSING_PICKUP)),
    ("/开团", (op.MISSING_TITLE, op.MISSING_PRICE, op.MISSING_CUTOFF, op.MISSING_PICKUP)),
    ("/开团 36.9元/盒" + TAIL, (op.MISSING_TITLE,)),
    ("/开团 草莓 36.9元/盒 自提服务台", (op.MISSING_CUTOFF,)),
    ("/开团 草莓 36.9元/盒 截止尽快 自提服务台", (op.BAD_CUTOFF,)),
    ("/开团 草莓 36.9元/盒 截止今天8点 自提服务台", (op.CUTOFF_PAST,)),
    ("/开团 草莓 36.9元/盒 截止06-10 20:00 自提服务台", (op.CUTOFF_PAST,)),
    ("/开团 草莓 36.9元/盒 截止本周一20:00 自提服务台", (op.CUTOFF_PAST,)),
    ("/开团 草莓 36.9元/盒 截止2-30 20:00 自提服务台", (op.BAD_CUTOFF,)),
    ("/开团 草莓 36.9元/盒 截止今晚20:00", (op.MISSING_PICKUP,)),
    ("/开团 草莓 36.9元/盒 截止今晚20:00 自提", (op.MISSING_PICKUP,)),
    ("/开团 草莓 0元/盒" + TAIL, (op.BAD_PRICE,)),
    ("/开团 草莓 36.9元/盒 限0盒" + TAIL, (op.BAD_CAP,)),
    ("/开团 草莓 36.9元/盒 每人限0盒" + TAIL, (op.BAD_LIMIT,)),
    ("/开团 草莓 36.9元/盒 限10盒 每人限20盒" + TAIL, (op.LIMIT_OVER_CAP,)),
    ("/开团 草莓 36.9元/盒 限10盒 满20盒成团" + TAIL, (op.MIN_OVER_CAP,)),
    ("/开团 草莓 36.9元/盒 限200斤" + TAIL, (op.UNIT_CONFLICT,)),
])
def test_errors_name_every_problem(text, codes):
    assert error(text).codes == codes


def test_error_draft_keeps_what_was_read():
    e = error("/开团 草莓 36.9元/盒 限200盒 截止今天8点 自提服务台")
    assert (e.draft.title, e.draft.price_fen, e.draft.unit, e.draft.cap, e.draft.pickup) == \
        ("草莓", 3690, "盒", 200, "服务台")
    assert e.draft.cutoff == at(2025, 6, 11, 8, 0)


def test_deadline_unreadable_text():
    assert parse_deadline("尽快", NOW) is None
    assert parse_deadline("25:00", NOW) is None


@pytest.mark.parametrize("price, fen, unit", [
    ("36.9 元/盒", 3690, "盒"),  # blanks inside the money
    ("36.9元 / 盒", 3690, "盒"),
    ("36块9/盒", 3690, "盒"),  # spoken: 36 yuan 9 jiao
    ("36元9角/盒", 3690, "盒"),
    ("36块9", 3690, "份"),
])
def test_money_written_loosely(price, fen, unit):
    s = spec(f"/开团 草莓 {price}" + TAIL)
    assert (s.title, s.price_fen, s.unit, s.notes) == ("草莓", fen, unit, ())


def test_bundle_price_is_not_taken_for_spoken_money():
    assert spec("/开团 草莓 69元2盒" + TAIL).bundle == Bundle(2, 6900)


def test_pickup_written_with_the_keyword_last():
    s = spec("/开团 草莓 36.9元/盒 截止今晚20:00 周六10-12点服务台自提")
    assert (s.pickup, s.cutoff) == ("6月14日 周六 10-12点服务台", at(2025, 6, 11, 20, 0))


def test_minimum_written_as_n_qi():
    assert spec("/开团 草莓 36.9元/盒 20盒起" + TAIL).min_to_form == 20


@pytest.mark.parametrize("cutoff, expected", [
    ("截止6.12 20:00", at(2025, 6, 12, 20, 0)),
    ("截止今晚8.30", at(2025, 6, 11, 20, 30)),
    ("截止周五20.00", at(2025, 6, 13, 20, 0)),
])
def test_dotted_dates_and_times(cutoff, expected):
    assert spec(f"/开团 草莓 36.9元/盒 {cutoff} 自提服务台").cutoff == expected


def test_a_lone_dotted_pair_is_refused_not_guessed():
    assert error("/开团 草莓 36.9元/盒 截止6.12 自提服务台").codes == (op.BAD_CUTOFF,)
