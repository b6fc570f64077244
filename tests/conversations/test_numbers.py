"""Class 4 of the conversations issue: numbers that contradict each other. Sanity limits per field
([limits]), a price edit that crosses an open 团 is pointed out to the guide, a shelf price is shown
as 原价 only for the same unit and pack, and the digest never adds a 团's 串 to the catalog's 斤.
Transcripts through the real router list with the demo catalog (丹东99草莓 39.9元/盒, 智利车厘子 2.5kg/箱)."""
from __future__ import annotations

from handlers.digest.build import build_digest
from handlers.digest.model import DayInputs, ProductInfo, Tuan
from tests.groupbuy.helpers import open_group

LATER = "截止明天20:00 自提后天10-12点服务台"


async def test_absurd_price_and_total_are_refused_with_the_limit_named(service):
    [reply] = await service.ask(f"/开团 丹东99草莓 999999999元/盒 限99999999999盒 {LATER}")
    assert "开不了" in reply and "999999999元" in reply and "100000元" in reply
    assert "99999999999" in reply and "上限100000" in reply
    [reply] = await service.ask(f"/开团 丹东99草莓 36.9元/盒 每人限5000盒 {LATER}")
    assert "每人限购（5000）超过了上限1000" in reply
    # nothing was drafted, so 确认 opens nothing
    assert not any("已开团" in t for t in await service.ask("确认"))
    [reply] = await service.ask("/改价 草莓 999999999")
    assert "不对" in reply and "100000" in reply


async def test_limits_come_from_the_config(service):
    service.config.extra["limits"] = {"max_price_yuan": 50, "max_quantity": 30, "max_per_person": 3}
    [reply] = await service.ask(f"/开团 丹东99草莓 59元/盒 限40盒 每人限4盒 {LATER}")
    assert "上限50元" in reply and "上限30" in reply and "上限3" in reply
    [draft] = await service.ask(f"/开团 丹东99草莓 36.9元/盒 限30盒 每人限3盒 {LATER}")
    assert "请核对" in draft
    [coupons] = await service.ask("/发券 周末券 满50减10 100张 有效3天")
    assert "1到30" in coupons and "已建好" not in coupons
    [ok] = await service.ask("/发券 周末券 满50减10 30张 有效3天")
    assert "已建好" in ok


async def test_absurd_coupon_numbers_are_refused(service):
    [reply] = await service.ask("/发券 周末券 满50减10 99999999999张 有效3天")
    assert "已建好" not in reply and "100000" in reply


async def test_price_edit_below_an_open_group_price_warns_the_guide(service):
    gid = await open_group(service, f"/开团 丹东99草莓 36.9元/盒 限200盒 {LATER}")
    [done] = await service.ask("/改价 草莓 30")
    assert "39.9元/盒 → 30元/盒" in done
    assert f"团{gid}" in done and "36.9元/盒不比新售价便宜" in done
    # the 团 keeps the price shoppers signed up for
    assert (await service.store.groupbuys.get(gid)).price_fen == 3690


async def test_price_edit_that_leaves_the_group_cheaper_only_flags_the_stale_list_price(service):
    gid = await open_group(service, f"/开团 丹东99草莓 29.9元/盒 {LATER}")
    [done] = await service.ask("/改价 草莓 35")
    assert f"团{gid}" in done and "原价39.9元和新售价对不上" in done and "不比新售价便宜" not in done
    [plain] = await service.ask("/改价 车厘子 249")  # no 团 of it open: no warning
    assert "⚠️" not in plain


async def test_shelf_price_is_a_list_price_only_for_the_same_unit_and_pack(service):
    [same] = await service.ask(f"/开团 丹东99草莓 36.9元/盒 {LATER}")
    assert "原价39.9元" in same and "500g/盒" in same
    [pack] = await service.ask(f"/开团 车厘子 2斤 99元/箱 {LATER}")
    assert "原价" not in pack and "2.5kg" not in pack and "2斤" in pack
    [unit] = await service.ask(f"/开团 丹东99草莓 9.9元/斤 {LATER}")
    assert "原价" not in unit and "500g/盒" not in unit


def test_digest_keeps_a_group_counted_in_another_unit_on_its_own_row():
    kw = dict(store="S01", guide="g", sku="F009", product="羊肉", status="closed", result="formed", end=1.0)
    inputs = DayInputs(day="2026-06-13", start=0, end=2, taken_at=2, tuans=[
        Tuan(id=1, unit="斤", qty=10, entries=2, owners=("a", "b"), **kw),
        Tuan(id=2, unit="串", qty=40, entries=3, owners=("c",), **kw)],
        products={"F009": ProductInfo("F009", "羊肉", "约500g", "斤", "肉")}, stock={("S01", "F009"): 6})
    rows = {r["key"]: r for r in build_digest(inputs, {}, case_sizes={"F009": 5})["skus"]}
    jin, chuan = rows["F009"], rows["F009@串"]
    assert (jin["unit"], jin["qty"], jin["gap"], jin["suggested"]) == ("斤", 10, 4, 5)
    assert (chuan["unit"], chuan["qty"], chuan["stock"], chuan["case"]) == ("串", 40, None, 1)
    assert chuan["sku"] == "F009" and "团单位串≠商品单位斤" in chuan["notes"]
