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
