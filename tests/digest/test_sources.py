"""Demand heard in customer groups shows its source in the digest; it round-trips through a frozen
day's stored inputs."""
from __future__ import annotations

from bot.message import Reply
from bot.render import renderer

render = renderer()
from handlers.digest.build import build_digest
from handlers.digest.model import DayInputs, Signal
from handlers.digest.parts import message_parts
from tests.digest.sample import HISTORY, STORES, inputs


def _digest(signals) -> dict:
    inp = inputs(signals=signals)
    inp = DayInputs.from_dict(inp.to_dict())  # as a frozen day is stored and read back
    return build_digest(inp, HISTORY, stores=STORES, case_sizes={"F001": 20}, cutoff="21:00")


def test_group_and_kf_askers_are_shown_per_item():
    d = _digest([Signal("unmet", "S01", "F005", ("a", "b", "c"), ("阳光玫瑰有吗",), {}, {"group": 2, "kf": 1}),
                 Signal("wish", "S01", "榴莲", ("q",), ("能不能进点榴莲",), {}, {"group": 1})])
    [unmet] = d["unmet"]
    assert unmet["sources"] == {"group": 2, "kf": 1}
    assert d["wishes"][0]["sources"] == {"group": 1}
    text = "\n".join(render(Reply("digest/digest.md.j2", **ctx)) for ctx in message_parts(d, limit=4096))
    assert "来源：群聊2人·客服1人" in text and "来源：群聊1人" in text


def test_kf_only_demand_shows_no_source_line():
    d = _digest([Signal("unmet", "S01", "F005", ("a",), (), {}, {"kf": 1})])
    assert d["unmet"][0]["sources"] == {"kf": 1}
    text = "\n".join(render(Reply("digest/digest.md.j2", **ctx)) for ctx in message_parts(d, limit=4096))
    assert "来源" not in text
