"""Times are shown in the timezone of the config that is passed, not of a process-wide setting."""
from bot.config import from_dict
from bot.message import Reply
from bot.render import Renderer, renderer

NOON_UTC = 1780747200  # 2026-06-06 12:00 UTC


def test_two_configs_in_one_process_render_each_in_its_own_timezone():
    shanghai = renderer(from_dict({"bot": {"timezone": "Asia/Shanghai"}}))
    london = renderer(from_dict({"bot": {"timezone": "Europe/London"}}))
    assert shanghai.clock(NOON_UTC) == "06-06 20:00" and london.clock(NOON_UTC) == "06-06 13:00"
    assert shanghai.day(NOON_UTC).endswith("周六 20:00") and london.day(NOON_UTC).endswith("周六 13:00")
    # and again after the other one was built: nothing leaks between them
    assert shanghai.clock(NOON_UTC) == "06-06 20:00"
    assert renderer(from_dict({"bot": {"timezone": "Europe/London"}})) is london  # one per timezone


def test_templates_use_the_renderer_s_filters():
    text = Renderer("Europe/London")(Reply("_raw.txt.j2", text="x"))
    assert text == "x"
    env = Renderer("Asia/Tokyo").env
    assert env.from_string("{{ t | clock('%H:%M') }}").render(t=NOON_UTC) == "21:00"
