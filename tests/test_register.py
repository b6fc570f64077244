"""Every user-visible text speaks to the user as 您, never 你 (one register across features)."""
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_templates_say_nin_not_ni():
    offenders = [f"{p.relative_to(TEMPLATES)}:{n}: {line.strip()}"
                 for p in sorted(TEMPLATES.rglob("*.j2"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "你" in line.replace("你们", "").replace("你好", "")]
    assert not offenders, "\n".join(offenders)
