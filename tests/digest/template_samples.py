"""Sample contexts for templates/digest/ (collected by tests/test_templates.py)."""
from handlers.digest.parts import message_parts
from tests.digest import sample

_plain = message_parts(sample.digest(), limit=2048, attachment="采购需求日报-2026-06-13.xlsx")
_busy = message_parts(sample.busy_digest(), limit=600, top=2, scope_label="梅溪湖店", closed_day="2026-06-13")
_live = message_parts({**sample.digest(), "frozen": False}, limit=4096)
_empty = message_parts(sample.build_digest(sample.inputs(tuans=[], signals=[]), {}, cutoff="21:00"), limit=2048)

SAMPLES = {
    "digest/digest.md.j2": _plain + _busy + _live + _empty,
    "digest/purchasing.txt.j2": [{"key": "2026-06-13:all"}],
    "digest/usage.txt.j2": [{"command": "日报", "bad": "明年"}, {"command": "需求", "bad": "x"}],
    "digest/no_store.txt.j2": [{}],
    "digest/not_your_store.txt.j2": [{"store": "五一广场店"}],
}
