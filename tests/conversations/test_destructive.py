"""Class 5 of the conversations issue: /结团, /撤团 and /停券 first say who will be told what, act
only on 确认, and then send one consistent result (a 团 below its minimum is 未成团, once)."""
from __future__ import annotations

from tests.coupons.helpers import codes_in, make_live, shopper_says
from tests.groupbuy.helpers import kf_sent, open_group, shop

SMALL = "/开团 丹东99草莓 36.9元/盒 满20盒成团 截止明天20:00 自提周六10-12点服务台"


async def test_closing_below_the_minimum_is_previewed_then_reported_once_as_not_formed(service):
    gid = await open_group(service, SMALL)
    await shop(service, "wmA", "+2")
    await shop(service, "wmB", "+1")
    [preview] = await service.ask(f"/结团 {gid}")
    assert "还差17盒" in preview and "按未成团处理：2位顾客" in preview and "确认" in preview
    assert await service.store.groupbuys.open_ids() == [gid]  # nothing happened yet
    assert sum("未成团" in t for t in kf_sent(service, "wmA")) == 0
    done = await service.ask("确认")
    assert len(done) == 1 and "未成团" in done[0] and "已提前截单" not in done[0], done
    assert sum("未成团" in t for t in kf_sent(service, "wmA")) == 1
    assert sum("未成团" in t for t in kf_sent(service, "wmB")) == 1
    assert (await service.ask(f"/结团 {gid}"))[0].startswith(f"ℹ️ 团{gid}已经截单了（未成团）")


async def test_cancel_waits_for_a_named_confirm_once_something_else_was_said(service):
    gid = await open_group(service)
    await shop(service, "wmC", "+1")
    [preview] = await service.ask(f"/撤团 {gid}")
    assert "1位顾客会收到" in preview
    await service.ask(f"/团 {gid}")  # looking at the list in between
    [pending] = await service.ask("确认")
    assert f"回复「确认 团{gid}」" in pending
    assert await service.store.groupbuys.open_ids() == [gid]
    [done] = await service.ask(f"确认 团{gid}")
    assert "已撤销，已通知1位顾客" in done
    assert sum("已取消" in t for t in kf_sent(service, "wmC")) == 1
    assert await service.ask("确认") == ["现在没有需要您确认的事项。"]


async def test_stopping_a_coupon_is_previewed_then_confirmed(service):
    cid = await make_live(service)
    [code] = codes_in(await shopper_says(service, "wmD", "领券"))
    [preview] = await service.ask(f"/停券 {cid}")
    assert "已领没核销的1张券作废" in preview
    assert (await service.store.coupons.campaign(cid))["state"] == "live"
    [stopped] = await service.ask("确认")
    assert "已停发" in stopped
    assert "已停发，券已作废" in (await service.ask(f"/核销 {code}"))[0]
