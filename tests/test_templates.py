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


# --- The rules every template keeps ---------------------------------------------------------------

import ast  # noqa: E402
import re  # noqa: E402

REPO = ROOT.parent
MACRO_FILE = re.compile(r"^_macros(?:_[a-z]+)?\.(?:txt|md)\.j2$")
REPLY_FILE = re.compile(r"^(?:_raw|[a-z][a-z0-9_]*)\.(?:txt|md)\.j2$")
IMPORT = re.compile(r"{%-?\s*(?:import|from)\s+[\"']([^\"']+)[\"']")
CJK = re.compile(r"[\u3400-\u9fff]")
# Quoted examples of what a user may type ("你好") are not the bot addressing anyone.
QUOTED = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"]*\"|'[^']*'")
SENTINEL = "zz_internal_code_42"
# Context keys whose value is an identifier the user knows, not a code: the command they typed
# (its Chinese name: command, cmd) and a unit.
IDENTIFIER_KEYWORDS = {"command", "cmd", "unit"}


def _templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.j2") if "console" not in p.relative_to(TEMPLATES).parts[:1])


def test_template_files_follow_one_naming_scheme():
    """Reply templates are `<name>.<txt|md>.j2`; macro files `_macros[_<topic>].<txt|md>.j2` (templates/README.md)."""
    bad = [str(p.relative_to(TEMPLATES)) for p in _templates()
           if not (MACRO_FILE.match(p.name) or REPLY_FILE.match(p.name))]
    assert not bad, f"rename to the scheme in templates/README.md: {bad}"


def test_imports_name_existing_macro_files_and_macro_files_hold_only_macros():
    for p in _templates():
        for target in IMPORT.findall(p.read_text(encoding="utf-8")):
            assert MACRO_FILE.match(Path(target).name), f"{p.name} imports {target}, not a _macros file"
            assert (TEMPLATES / target).is_file(), f"{p.name} imports {target}, which does not exist"
    for p in _templates():
        if MACRO_FILE.match(p.name):
            body = re.sub(r"{#.*?#}|{%-?\s*macro\b.*?{%-?\s*endmacro\s*-?%}", "", p.read_text(encoding="utf-8"), flags=re.S)
            assert not body.strip(), f"{p.relative_to(TEMPLATES)} has text outside its macros: {body.strip()[:60]!r}"


def test_templates_address_the_user_with_nin():
    """Every word to a user says 您, never 你 (a quoted example of what a user types may say 你)."""
    for p in _templates():
        text = re.sub(r"{#.*?#}", "", p.read_text(encoding="utf-8"), flags=re.S)
        assert "你" not in QUOTED.sub("", text), f"{p.relative_to(TEMPLATES)} says 你: use 您"


def _switch_keys(source: str, ctx: dict) -> list[str]:
    """Context keys the template branches on by value (`{% if code == 'x' %}`, `{% elif status in (...) %}`)."""
    return [k for k, v in ctx.items() if isinstance(v, str) and k not in IDENTIFIER_KEYWORDS
            and re.search(rf"\b{k}\s*(?:==|in\s*\()", source)]


@pytest.mark.parametrize("name", [n for n in ALL if n in SAMPLES])
def test_an_unknown_code_falls_back_to_words_not_to_the_code(name):
    """A code no branch knows (a newer store result, an errcode) never reaches the user as it is."""
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    tried = 0
    for ctx in SAMPLES[name]:
        variants = [(k, {**ctx, k: SENTINEL}) for k in _switch_keys(source, ctx)]
        if ctx.get("codes") and all(isinstance(c, str) for c in ctx["codes"]):
            variants.append(("codes", {**ctx, "codes": [SENTINEL]}))
        if ctx.get("problems") and all(isinstance(p, dict) and "code" in p for p in ctx["problems"]):
            variants.append(("problems", {**ctx, "problems": [{"code": SENTINEL, "arg": SENTINEL}]}))
        for key, v in variants:
            tried += 1
            assert SENTINEL not in render(Reply(name, **v)), f"{name} shows an unknown {key} as it is"
    if re.search(r"{%-?\s*(?:el)?if\s+(?:code|what|status|problem|reason)\s*==", source):
        assert tried, f"{name} branches on a code but no sample sets it"




def _reply_literals(path: Path) -> list[str]:
    """Chinese string literals handed to a Reply (or an offer's label) in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if fn == "Reply":
            parts = node.args[1:] + [k.value for k in node.keywords if k.arg not in IDENTIFIER_KEYWORDS]
        elif fn == "offer_draft":
            parts = [k.value for k in node.keywords if k.arg == "label"]
        else:
            continue
        for part in parts:
            found += [f"{path.relative_to(REPO)}:{s.lineno}: {s.value!r}" for s in ast.walk(part)
                      if isinstance(s, ast.Constant) and isinstance(s.value, str) and CJK.search(s.value)]
    return found


def test_replies_built_in_python_carry_no_words():
    """Handlers pass data; the words are the template's. Checks literals (and f-string parts) written
    directly into a Reply(...) or an offer label; a word built earlier into a variable is not seen."""
    found = [hit for d in ("bot", "handlers") for p in sorted((REPO / d).rglob("*.py")) for hit in _reply_literals(p)]
    assert not found, "move these words into the template:\n" + "\n".join(found)


def test_the_checks_above_catch_what_they_look_for(tmp_path):
    bad = tmp_path / "mod.py"
    bad.write_text('Reply("x.txt.j2", label=f"开团草稿 {p}", command="代报")\n'
                   'offer_draft(s, c, m, "n", label="新券")\n', encoding="utf-8")
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        hits = _reply_literals(bad)
    finally:
        REPO = saved
    assert [h.split(": ", 1)[1] for h in hits] == ["'开团草稿 '", "'新券'"]
    assert _switch_keys("{% if code == 'a' %}{% elif status in ('b',) %}", {"code": "a", "status": "b", "g": "c"}) \
        == ["code", "status"]
    assert "你" in QUOTED.sub("", "请你确认") and "你" not in QUOTED.sub("", "发“你好”就行")
