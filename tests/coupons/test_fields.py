"""JSON campaign fields (admin API) -> CampaignSpec, with the parser's error vocabulary."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.coupons.fields import spec_from_fields
from handlers.coupons.rules import CampaignError, CampaignSpec, parse_campaign

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=TZ)


def ok(**data) -> CampaignSpec:
    spec = spec_from_fields(data, NOW, TZ)
    assert isinstance(spec, CampaignSpec), spec
    return spec


def err(**data) -> set[str]:
    res = spec_from_fields(data, NOW, TZ)
    assert isinstance(res, CampaignError), res
    return set(res.codes)


@pytest.mark.parametrize("text, fields", [
    ("新人券 满50减10 100张 每人1张 有效3天",
     dict(name="新人券", kind="threshold", threshold_fen=5000, amount_fen=1000, total=100, valid_days=3,
          new_member_days=7)),
    ("无门槛5元 20张 每人2张 有效至6-30 全部门店",
     dict(kind="no_threshold", amount_fen=500, total=20, per_person=2, ends_on="2025-06-30", stores="all")),
    ("满30享9折 最高减20 50张 有效7天 门店 S01、S02",
     dict(kind="percent", percent=90, threshold_fen=3000, max_discount_fen=2000, total=50, valid_days=7,
          stores=["S01", "S02"])),
])
def test_fields_match_the_parsed_text(text, fields):
    assert ok(**fields) == parse_campaign(text, NOW, TZ)


def test_item_and_defaults():
    spec = ok(kind="item", sku="f001", amount_fen=800, total=30, valid_days=3)
    assert (spec.sku, spec.item_text, spec.name, spec.per_person) == ("F001", "f001", "单品F001减8元", 1)
    assert ok(kind="item", item_text="特仑苏整箱", amount_fen=800, total=30, valid_days=3).sku is None
    assert ok(kind="no_threshold", amount_fen=500, total=5, ends_on="2025-06-15").ends_on == date(2025, 6, 15)


@pytest.mark.parametrize("data, code", [
    (dict(amount_fen=500, total=5, valid_days=3), "missing_rule"),
    (dict(kind="gift", total=5, valid_days=3), "bad_field:kind"),
    (dict(kind="threshold", amount_fen=500, total=5, valid_days=3), "bad_field:threshold_fen"),
    (dict(kind="threshold", threshold_fen=500, amount_fen=500, total=5, valid_days=3), "discount_exceeds_threshold"),
    (dict(kind="no_threshold", total=5, valid_days=3), "missing_amount"),
    (dict(kind="no_threshold", amount_fen=0, total=5, valid_days=3), "bad_amount"),
    (dict(kind="no_threshold", amount_fen="5", total=5, valid_days=3), "bad_field:amount_fen"),
    (dict(kind="no_threshold", amount_fen=True, total=5, valid_days=3), "bad_field:amount_fen"),
    (dict(kind="percent", percent=100, total=5, valid_days=3), "bad_percent"),
    (dict(kind="no_threshold", amount_fen=5, max_discount_fen=10, total=5, valid_days=3), "cap_without_percent"),
    (dict(kind="item", amount_fen=5, total=5, valid_days=3), "missing_item"),
    (dict(kind="no_threshold", amount_fen=5, valid_days=3), "missing_total"),
    (dict(kind="no_threshold", amount_fen=5, total=0, valid_days=3), "bad_total"),
    (dict(kind="no_threshold", amount_fen=5, total=2, per_person=3, valid_days=3), "per_person_exceeds_total"),
    (dict(kind="no_threshold", amount_fen=5, total=5), "missing_validity"),
    (dict(kind="no_threshold", amount_fen=5, total=5, valid_days=400), "bad_validity"),
    (dict(kind="no_threshold", amount_fen=5, total=5, ends_on="2025-06-14"), "bad_validity"),
    (dict(kind="no_threshold", amount_fen=5, total=5, ends_on="6月30"), "bad_validity"),
    (dict(kind="no_threshold", amount_fen=5, total=5, valid_days=3, ends_on="2025-06-30"), "duplicate:validity"),
    (dict(kind="no_threshold", amount_fen=5, total=5, valid_days=3, new_member_days=0), "bad_new_member"),
    (dict(kind="no_threshold", amount_fen=5, total=5, valid_days=3, stores=[]), "bad_field:stores"),
    (dict(kind="no_threshold", amount_fen=5, total=5, valid_days=3, name=""), "bad_name"),
    (dict(kind="no_threshold", amount_fen=5, total=5, valid_days=3, colour="red"), "bad_field:colour"),
])
def test_errors(data, code):
    assert code in err(**data)
