"""Class 3: staff commands from a shopper get the "for staff" reply and change nothing, whichever
feature would otherwise take the line (an open 团 reads "/改价 草莓 1" as an order otherwise)."""
from __future__ import annotations

import pytest

from tests.groupbuy.helpers import open_group, shop

FORBIDDEN = "门店员工使用的指令"


@pytest.mark.parametrize("line", ["/改价 草莓 1", "／开团 草莓 1元", "改价 草莓 1", "/发券 满50减10 100张",
                                  "结团 1", "/撤团 1", "代报 王姐 2盒", "/库存 草莓 0", "/确认"])
async def test_a_staff_command_from_a_shopper_is_refused_and_orders_nothing(service, line):
    gid = await open_group(service)
    [reply] = await shop(service, "wmStaffy", line)
    assert FORBIDDEN in reply
    assert await service.store.groupbuys.lines(gid) == []
    [answer] = await shop(service, "wmStaffy", "草莓多少钱")
    assert "39.9元" in answer  # the shelf price was not edited by the shopper


@pytest.mark.parametrize("line", ["库存还有吗", "确认一下提货时间", "团购什么时候到"])
async def test_shopper_sentences_that_start_like_a_command_are_still_heard(service, line):
    replies = await shop(service, "wmPlain", line)
    assert not any(FORBIDDEN in r for r in replies)


async def test_the_guide_still_uses_the_same_words(service):
    [draft] = await service.ask("/改价 草莓 35.9")
    assert FORBIDDEN not in draft and "35.9" in draft
