"""The feature list. Routers are tried in this order; the catch-all comes last.

`setup(deps)` runs once per process after Redis and the WeCom client exist; features use it to
add what their handlers need (e.g. the Q&A index) to the injected dependencies.
"""
from __future__ import annotations

from typing import Any

from bot.scheduler import Job
from handlers import help

ROUTERS = [
    help.router,
]

# Scheduled jobs and their default timing; `[schedule] <name> = "<cron>"` in config overrides one.
JOBS: list[Job] = []


async def setup(deps: dict[str, Any]) -> None:
    pass


async def teardown(deps: dict[str, Any]) -> None:
    pass
