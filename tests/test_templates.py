"""Every template renders under StrictUndefined with a sample context; none is left without one."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.message import Reply
from bot.render import TEMPLATES, renderer

render = renderer()

ROOT = Path(__file__).parent


def _samples() -> dict[str, list[dict]]:
    merged: dict[str, list[dict]] = {}
    for path in sorted(ROOT.rglob("template_samples.py")):
        spec = importlib.util.spec_from_file_location(f"samples_{abs(hash(path))}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, ctxs in mod.SAMPLES.items():
            merged.setdefault(name, []).extend(ctxs)
    return merged


SAMPLES = _samples()
ALL = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.j2") if not p.name.startswith("_macro"))


@pytest.mark.parametrize("name", ALL)
def test_template_renders_with_its_samples(name):
    assert name in SAMPLES, f"add a sample context for {name} to a tests/**/template_samples.py"
    for ctx in SAMPLES[name]:
        text = render(Reply(name, **ctx))
        assert text.strip(), f"{name} rendered empty"


def test_missing_variable_fails_loudly():
    with pytest.raises(UndefinedError):
        render(Reply("errors/forbidden.txt.j2"))
