"""The router on its own: command prefixes and aliases, filters, events, jobs, role gate, injection."""
from __future__ import annotations

import pytest

from bot.message import Message, Reply
from bot.router import SKIP, Dispatcher, Router, split_command


def msg(text: str = "", kind: str = "text", event: str = "", channel: str = "app") -> Message:
    return Message(id="m1", channel=channel, conversation="u", sender="u", text=text, kind=kind, event=event)


def build() -> tuple[Dispatcher, list[tuple]]:
    calls: list[tuple] = []
    r = Router("t")

    @r.command("改价", "gaijia", roles=("guide",))
    async def reprice(args: str, command: str) -> Reply:
        """/改价 商品 价格 — 改价"""
        calls.append(("reprice", command, args))
        return Reply("_raw.txt.j2", text="ok")

    @r.command("帮助", "help")
    async def help_(role: str, dispatcher: Dispatcher) -> Reply:
        """帮助 — 查看可用的指令"""
        calls.append(("help", role))
        return Reply("_raw.txt.j2", text="\n".join(dispatcher.help_lines(role)))

    @r.text(r"^\+(\d+)$", channels=("app",))
    async def plus(match) -> list[Reply]:
        """+1 — 接龙"""
        calls.append(("plus", match.group(1)))
        return [Reply("_raw.txt.j2", text="a"), Reply("_raw.txt.j2", text="b")]

    @r.event("enter_agent")
    async def entered(msg: Message) -> None:
        calls.append(("event", msg.event))

    @r.schedule("nightly")
    async def nightly(now: float) -> None:
        calls.append(("job", now))

    @r.any_text()
    async def not_mine(msg: Message):
        calls.append(("skip", msg.text))
        return SKIP

    last = Router("last")

    @last.any_text()
    async def fallback(args: str) -> Reply:
        calls.append(("fallback", args))
        return Reply("_raw.txt.j2", text="?")

    return Dispatcher([r, last]), calls


@pytest.mark.parametrize("text", ["/改价 草莓 35.9", "／改价 草莓 35.9", "改价 草莓 35.9", "/gaijia 草莓 35.9",
                                  "  /GaiJia   草莓 35.9 ", "/改价草莓 35.9", "／ 改价 草莓 35.9"])
async def test_every_prefix_form_and_alias_reaches_the_command(text):
    d, calls = build()
    replies = await d.dispatch(msg(text), {"role": "guide"})
    assert len(replies) == 1
    assert calls[0][0] == "reprice" and calls[0][2] == "草莓 35.9"


async def test_a_name_glued_to_text_without_prefix_is_not_a_command():
    d, calls = build()
    await d.dispatch(msg("改价草莓"), {"role": "guide"})
    assert [c[0] for c in calls] == ["skip", "fallback"]


async def test_role_gate_refuses_prefixed_and_ignores_unprefixed():
    d, calls = build()
    refused = await d.dispatch(msg("/改价 草莓 1"), {"role": "shopper"})
    assert [r.template for r in refused] == ["errors/forbidden.txt.j2"] and refused[0].ctx["command"] == "改价"
    assert calls == []
    # Without a prefix a shopper may just be talking about prices: the next route gets the text.
    await d.dispatch(msg("改价 草莓 1"), {"role": "shopper"})
    assert [c[0] for c in calls] == ["skip", "fallback"]


async def test_admin_passes_every_gate():
    d, calls = build()
    await d.dispatch(msg("/改价 草莓 1"), {"role": "admin"})
    assert calls[0][0] == "reprice"


async def test_help_lines_come_from_docstrings_and_follow_the_role():
    d, _ = build()
    assert d.help_lines("guide") == ["/改价 商品 价格 — 改价", "帮助 — 查看可用的指令", "+1 — 接龙"]
    assert d.help_lines("shopper") == ["帮助 — 查看可用的指令", "+1 — 接龙"]


async def test_text_filter_channel_events_and_jobs():
    d, calls = build()
    assert len(await d.dispatch(msg("+3"), {"role": "shopper"})) == 2
    await d.dispatch(msg("+3", channel="kf"), {"role": "shopper"})  # filter limited to the app channel
    await d.dispatch(msg(kind="event", event="enter_agent"), {})
    await d.dispatch(msg(kind="event", event="unknown_event"), {})
    await d.dispatch(msg(kind="schedule", event="nightly"), {"now": 123.0})
    assert calls == [("plus", "3"), ("skip", "+3"), ("fallback", "+3"), ("event", "enter_agent"), ("job", 123.0)]


async def test_unknown_dependency_is_a_loud_error():
    r = Router("bad")

    @r.any_text()
    async def wants(nonexistent) -> None:
        return None

    with pytest.raises(TypeError, match="nonexistent"):
        await Dispatcher([r]).dispatch(msg("hi"), {})


def test_split_command_prefers_the_longest_glued_name():
    assert split_command("/结团3", ["结", "结团"]) == ("结团", "3", True)
    assert split_command("hello", ["帮助"]) is None


# -- outer middlewares ------------------------------------------------------------------------------
def with_middlewares() -> tuple[Dispatcher, list[tuple]]:
    d, calls = build()
    front, back = Router("front"), Router("back")

    @front.outer_middleware
    async def hush(m: Message, deps: dict, call_next) -> list[Reply]:
        calls.append(("front", m.text))
        if m.text == "嘘":
            return [Reply("_raw.txt.j2", text="shh")]  # answered here: no route runs
        if m.text == "两条":  # the rest of the chain for a held message, then for this one
            held = Message(id="held", channel="app", conversation="u", sender="u", text="+7")
            return [*await call_next(held, {**deps, "role": "shopper"}), *await call_next(m, deps)]
        return await call_next(m, {**deps, "tagged": True})

    @back.outer_middleware
    async def sees(m: Message, deps: dict, call_next) -> list[Reply]:
        calls.append(("back", m.text, deps.get("tagged")))
        return await call_next(m, deps)

    return Dispatcher([front, *d.routers, back]), calls


async def test_middlewares_run_in_router_order_and_may_answer_or_pass_changed_deps():
    d, calls = with_middlewares()
    assert [r.ctx["text"] for r in await d.dispatch(msg("嘘"), {"role": "guide"})] == ["shh"]
    assert calls == [("front", "嘘")]
    calls.clear()
    assert len(await d.dispatch(msg("+3"), {"role": "guide"})) == 2
    assert calls == [("front", "+3"), ("back", "+3", True), ("plus", "3")]


async def test_a_middleware_runs_the_chain_for_another_message_too():
    d, calls = with_middlewares()
    out = await d.dispatch(msg("两条"), {"role": "guide"})
    assert [r.ctx["text"] for r in out] == ["a", "b", "?"]
    assert calls == [("front", "两条"), ("back", "+7", None), ("plus", "7"),
                     ("back", "两条", None), ("skip", "两条"), ("fallback", "两条")]


async def test_a_refused_command_never_reaches_a_middleware():
    d, calls = with_middlewares()
    refused = await d.dispatch(msg("/改价 草莓 1"), {"role": "shopper"})
    assert refused[0].template == "errors/forbidden.txt.j2" and calls == []
