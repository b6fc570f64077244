"""The layer rules of docs/architecture.md, as import-linter contracts (pyproject.toml): bot/ imports
no feature module (bot.app and bot.cli import only the handlers package, for its feature list),
store/ imports neither handlers/ nor bot/, handlers/ import neither aiohttp nor redis nor the
transport. Checked on the real tree, and on a copy with one bad import to show the contracts bite."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_layer_contracts_hold():
    run = lint(ROOT)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def copy_tree(dst: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", dst)
    for package in ("bot", "handlers", "store"):
        shutil.copytree(ROOT / package, dst / package, ignore=shutil.ignore_patterns("__pycache__", "*.lua"))


@pytest.mark.parametrize("module, line, contract", [
    ("bot/api.py", "from handlers.coupons import service", "bot/ imports no feature"),
    ("bot/app.py", "from handlers.qa import cache", "bot/ imports no feature"),
    ("store/groups.py", "from bot.config import Config", "store/ imports neither"),
    ("handlers/coupons/service.py", "from redis.asyncio import Redis", "no web framework and no Redis"),
    ("handlers/digest/chat.py", "import aiohttp", "no web framework and no Redis"),
    ("handlers/qa/chat.py", "from bot.api import error", "do not reach into the transport"),
])
def test_one_bad_import_breaks_its_contract(tmp_path, module, line, contract):
    copy_tree(tmp_path)
    path = tmp_path / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # the violation under test\n", encoding="utf-8")
    run = lint(tmp_path)
    assert run.returncode != 0
    broken = [ln for ln in run.stdout.splitlines() if "BROKEN" in ln]
    assert len(broken) == 1, run.stdout[-3000:]
    report = run.stdout.replace("\n", " ")
    assert contract in " ".join(report.split()), run.stdout[-3000:]
