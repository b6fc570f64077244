"""Class 2 of the conversations issue: a bare 确认 confirms only the draft shown in the guide's
previous exchange; otherwise the guide hears what is pending and how to name it. Drafts and the
"last shown" pointer live in Redis, so a restart in between changes nothing."""
from __future__ import annotations

from tests.groupbuy.helpers import OPEN
from tests.harness import Harness


async def test_a_failed_coupon_in_between_keeps_the_old_draft_from_opening(service):
    [draft] = await service.ask(OPEN)
    assert "请核对" in draft
    [error] = await service.ask("/发券 满50减60 10张")  # fails: nothing drafted
    assert "减的钱要比门槛少" in error
    [pending] = await service.ask("确认")
    assert "已开团" not in pending and "回复「确认 开团」" in pending and "丹东99草莓" in pending
    assert await service.store.groupbuys.open_ids() == []
    opened = await service.ask("确认 开团")
    assert "已开团" in opened[0]


async def test_the_newest_draft_is_what_a_bare_confirm_means(service):
    await service.ask(OPEN)
    [coupon] = await service.ask("/发券 新人券 满50减10 100张 有效3天")
    cid = coupon.split("「")[0]
    [live] = await service.ask("确认")
    assert live.startswith(f"{cid}「新人券」上线了")
    assert await service.store.groupbuys.open_ids() == []  # the 团 draft was not touched
    [pending] = await service.ask("确认")
    assert "回复「确认 开团」" in pending and cid not in pending


async def test_nothing_pending_is_said_plainly(service):
    assert await service.ask("确认") == ["现在没有需要您确认的事项。"]
    [reply] = await service.ask("确认 团7")
    assert "没有找到" in reply


async def test_a_restart_right_after_the_draft_still_confirms_it(aiohttp_client, redis, service_config, fake,
                                                                 service):
    await service.ask(OPEN)
    again = await Harness.start(aiohttp_client, redis, service_config, fake)
    opened = await again.ask("确认")
    assert "已开团" in opened[0]
    assert len(await again.store.groupbuys.open_ids()) == 1


async def test_a_restart_and_an_unrelated_message_then_confirm_lists_the_draft(aiohttp_client, redis,
                                                                               service_config, fake, service):
    await service.ask(OPEN)
    again = await Harness.start(aiohttp_client, redis, service_config, fake)
    await again.ask("草莓多少钱")
    [pending] = await again.ask("确认")
    assert "回复「确认 开团」" in pending
    assert await again.store.groupbuys.open_ids() == []
    # another guide's 确认 never reaches this guide's draft
    assert await again.ask("确认 开团", user="xiaoli") == ["现在没有需要您确认的事项（没有找到「开团」）。"]


async def test_a_bare_confirm_after_the_window_lists_the_draft_instead(service):
    import json
    await service.ask("/发券 新人券 满50减10 100张 有效3天")
    key = service.store.keys.awaiting_confirm("xiaowang")
    pointer = json.loads(await service.redis.get(key))
    pointer["at"] -= 6 * 60  # past the default confirm_minutes = 5, nothing said in between
    await service.redis.set(key, json.dumps(pointer, ensure_ascii=False), keepttl=True)
    [pending] = await service.ask("确认")
    assert "单独回复「确认」只对刚刚发给您的那份草稿有效（5分钟内）" in pending and "确认 C" in pending
