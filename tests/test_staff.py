"""The one rule for which stores a member of staff runs (bot/staff.py)."""
from bot.config import from_dict
from bot.staff import runs, stores_of

TWO = [{"id": "S01", "guides": ["wang"]}, {"id": "S02", "guides": ["li", "wang"]}]


def cfg(stores, guides=("wang", "li", "lonely")):
    return from_dict({"roles": {"guides": list(guides), "buyers": ["buyer"], "admins": ["boss"]},
                      "stores": stores})


def test_admins_and_buyers_run_every_store_guides_their_own():
    c = cfg(TWO)
    assert stores_of(c, "boss") == stores_of(c, "buyer") == ("S01", "S02")
    assert stores_of(c, "wang") == ("S01", "S02") and stores_of(c, "li") == ("S02",)
    assert runs(c, "li", "S02") and not runs(c, "li", "S01")


def test_a_guide_under_no_store_runs_none_in_a_chain_and_the_only_one_in_a_shop():
    assert stores_of(cfg(TWO), "lonely") == ()
    assert stores_of(cfg([{"id": "S01", "guides": ["wang"]}]), "lonely") == ("S01",)
    assert stores_of(cfg([]), "lonely") == () and stores_of(cfg([]), "boss") == ()


def test_shoppers_and_strangers_run_nothing_even_when_listed_by_mistake_nowhere():
    c = cfg(TWO)
    assert stores_of(c, "wm_shopper") == () and stores_of(c, "") == ()
    # listed under a store but not in [roles]: still a guide (config.role_of), so still their store
    assert stores_of(cfg(TWO, guides=()), "li") == ("S02",)


# -- wired: every feature answers an unassigned guide of a chain the same way -----------------------
from tests.conftest import make_config  # noqa: E402
from tests.harness import Harness  # noqa: E402

CHAIN = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrGroupA"], "kf": "wkS01"},
         {"id": "S02", "name": "五一店", "guides": ["xiaoli"], "groups": ["wrGroupB"], "kf": "wkS02"}]


async def test_an_unassigned_guide_of_a_chain_is_told_in_every_feature(aiohttp_client, redis, prefix, fake):
    config = make_config(prefix, fake.base_url, stores=CHAIN,
                         roles={"guides": ["xiaowang", "xiaoli", "lonely"], "buyers": [], "admins": ["boss"]})
    h = await Harness.start(aiohttp_client, redis, config, fake)
    said = {cmd: " ".join(await h.ask(cmd, user="lonely")) for cmd in (
        "/开团 草莓 30元/盒 截止今晚20:00 自提明天10点", "/团", "/提货 A1", "/发券 新人券 满50减10 100张 有效3天",
        "/券", "/改价 草莓 30", "/群发 周末有草莓", "/日报")}
    assert all("门店" in text and ("没有分配" in text or "没有绑定" in text or "不知道您在哪个门店" in text
                                   or "不是哪家门店" in text) for text in said.values()), said
    assert not await h.store.groupbuys.open_groups(None)
    assert "没有分配" not in " ".join(await h.ask("/团", user="xiaowang"))  # a listed guide is served


async def test_an_unassigned_guide_of_a_one_store_shop_runs_it(aiohttp_client, redis, prefix, fake):
    config = make_config(prefix, fake.base_url,
                         roles={"guides": ["xiaowang", "lonely"], "buyers": [], "admins": ["boss"]})
    h = await Harness.start(aiohttp_client, redis, config, fake)
    draft = " ".join(await h.ask("/开团 草莓 30元/盒 截止明天20:00 自提后天10点", user="lonely"))
    assert "没有分配" not in draft and "草莓" in draft
    assert "没有分配" not in " ".join(await h.ask("/券", user="lonely"))
