"""Class 1 of the conversations issue: a pending question takes only an answer, expires, and lets
every other line through as a fresh message, also across a restart (state lives in Redis).
Transcripts through the real router list; shoppers on 微信客服, the guide in the app."""
from __future__ import annotations

import json

from tests.coupons.helpers import shopper_says
from tests.groupbuy.helpers import KF, open_group, shop
from tests.harness import Harness

DUMPLINGS = "/开团 手工水饺 30元/份 限50份 截止明天20:00 自提周六服务台"


async def two_groups(service) -> tuple[int, int]:
    return await open_group(service), await open_group(service, DUMPLINGS)


async def lines_of(service, gid: int, owner: str) -> list:
    return await service.store.groupbuys.mine(gid, owner)


async def test_a_price_question_after_which_tuan_is_answered_not_ordered(service):
    strawberry, dumplings = await two_groups(service)
    [ask] = await shop(service, "wmA", "+1")
    assert "草莓" in ask and "水饺" in ask, ask
    [answer] = await shop(service, "wmA", "草莓多少钱")
    assert "元" in answer and "已记录" not in answer
    assert await lines_of(service, strawberry, "wmA") == [] and await lines_of(service, dumplings, "wmA") == []
    # the question was dropped: a later bare "1" is not taken as the old +1
    await shop(service, "wmA", "1")
    assert await lines_of(service, strawberry, "wmA") == []


async def test_a_real_answer_completes_the_line_even_after_a_restart(aiohttp_client, redis, service_config, fake,
                                                                      service):
    strawberry, dumplings = await two_groups(service)
    await shop(service, "wmB", "+2")
    again = await Harness.start(aiohttp_client, redis, service_config, fake)  # same Redis prefix
    [receipt] = await shop(again, "wmB", "水饺")
    assert "已记录" in receipt and "手工水饺" in receipt
    assert [x.qty for x in await lines_of(again, dumplings, "wmB")] == [2]
    assert await lines_of(again, strawberry, "wmB") == []


async def test_after_a_restart_an_unrelated_line_is_read_afresh(aiohttp_client, redis, service_config, fake,
                                                                service):
    strawberry, dumplings = await two_groups(service)
    await shop(service, "wmC", "+1")
    await shop(service, "wmC", f"团{strawberry}")  # answered: one line in the 草莓 团
    await shop(service, "wmC", "+1 水饺")
    [ask] = await shop(service, "wmC", "-1")  # lines in both 团: which one?
    assert "草莓" in ask and "水饺" in ask
    again = await Harness.start(aiohttp_client, redis, service_config, fake)
    out = await shop(again, "wmC", "在哪提货")
    assert out and "已取消" not in out[0]
    assert len(await lines_of(again, strawberry, "wmC")) == 1 and len(await lines_of(again, dumplings, "wmC")) == 1
    await shop(again, "wmC", "2")  # the -1 question is gone; "2" cancels nothing
    assert len(await lines_of(again, dumplings, "wmC")) == 1


async def test_which_tuan_expires(service):
    strawberry, _ = await two_groups(service)
    await shop(service, "wmD", "+1")
    key = service.store.keys.pending(f"kf:{KF}:wmD", "groupbuy")
    record = json.loads(await service.redis.get(key))
    record["at"] -= 6 * 60  # past the default pending_minutes = 5
    await service.redis.set(key, json.dumps(record, ensure_ascii=False), keepttl=True)
    await shop(service, "wmD", "1")
    assert await lines_of(service, strawberry, "wmD") == []


async def test_a_pick_list_takes_its_number_only_and_is_dropped_by_anything_else(service):
    [listing] = await shopper_says(service, "wmE", "牛奶多少钱")
    assert "回复序号" in listing
    assert await shopper_says(service, "wmE", "9") == []  # out of range: no answer, so the list is dropped
    assert await shopper_says(service, "wmE", "2") == []  # and a valid number later picks nothing
    [listing] = await shopper_says(service, "wmE", "牛奶多少钱")
    [answer] = await shopper_says(service, "wmE", "第2个")
    assert "元/" in answer
