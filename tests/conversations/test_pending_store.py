"""Class 1 for the shopper channel's one question, "which store?" (two stores share a kf account):
only a number or a store's name answers it; another line answers the held question chain-wide
and is read as itself; the question survives a restart (it lives in Redis)."""
from __future__ import annotations

import pytest

from tests.conftest import make_config
from tests.coupons.helpers import shopper_says
from tests.harness import Harness
from tests.qa.conftest import DATA

SHARED = "wkAll"


@pytest.fixture
def service_config(prefix, fake):
    stores = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "kf": SHARED},
              {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "kf": SHARED}]
    return make_config(prefix, fake.base_url, stores=stores,
                       qa={"catalog": str(DATA / "catalog.csv"), "faq": str(DATA / "faq.csv"), "refresh_seconds": 0.0})


async def test_an_unrelated_line_is_no_answer_to_which_store(service):
    [ask] = await shopper_says(service, "wmS", "草莓多少钱", kf=SHARED)
    assert "哪家门店" in ask
    out = await shopper_says(service, "wmS", "五一广场店几点关门", kf=SHARED)
    assert not any("已为您记下" in t for t in out)
    assert any("草莓" in t for t in out) and any("22:00" in t or "关门" in t or "营业" in t for t in out), out
    ctx = await service.store.shoppers.conversation(f"kf:{SHARED}:wmS")
    assert ctx.chosen == ""  # no store was chosen from a question that merely named one


async def test_the_store_answer_after_a_restart_picks_it_and_answers_the_held_question(
        aiohttp_client, redis, service_config, fake, service):
    [ask] = await shopper_says(service, "wmT", "草莓多少钱", kf=SHARED)
    assert "2. 五一广场店" in ask
    again = await Harness.start(aiohttp_client, redis, service_config, fake)
    out = await shopper_says(again, "wmT", "2", kf=SHARED)
    assert any("草莓" in t and "元" in t for t in out), out
    assert (await again.store.shoppers.conversation(f"kf:{SHARED}:wmT")).chosen == "S02"
