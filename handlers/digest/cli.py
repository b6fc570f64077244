"""`qunbot digest`: the digest on the service's Redis without running the service.

`qunbot digest [--date YYYY-MM-DD] [--dry-run] [--format md|json|xlsx] [-o FILE]`:
prints (md, json) or writes (xlsx) the digest of a business day, default today. Without
--dry-run it also does what the digest job would do for that day by now: freeze the day if its
cutoff has passed, and queue the deliveries whose scheduled time has passed but that were never
sent (exactly once per day and recipient, so running it again sends nothing twice; the running
service's sender delivers them), and queue again the day's purchasing requests that the
purchasing system never accepted (it dedupes them by their idempotency key).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import date as Date, datetime
from pathlib import Path

from bot.config import Config
from bot.feature import CliCommand
from bot.message import Reply
from bot.outbox import Emitter
from bot.render import renderer
from bot.runtime import open_store
from handlers.digest import deliver, parts, sheet
from handlers.digest.day import cutoff_ts, last_closed_day
from handlers.digest.load import digest_for, freeze_day
from handlers.digest.settings import DigestConfigError, settings
from store.keys import DAY


async def digest(cfg: Config, date: str | None, dry_run: bool, fmt: str, out: str | None,
                 stdout=None) -> int:
    stdout = stdout or sys.stdout
    try:
        st = settings(cfg)
    except DigestConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    now = time.time()
    try:
        day = Date.fromisoformat(date).isoformat() if date else datetime.fromtimestamp(now, st.tz).date().isoformat()
    except ValueError:
        print(f"--date must be YYYY-MM-DD, got {date!r}", file=sys.stderr)
        return 2
    due = cutoff_ts(day, st.cutoff, st.tz) <= now
    async with open_store(cfg) as store:
        if due and not dry_run:
            if await freeze_day(store, day, st, now):
                print(f"froze {day}", file=sys.stderr)
            queued = await _deliver_due(store, cfg, st, day, now)
            if queued:
                print(f"queued the {day} digest for: {', '.join(queued)}", file=sys.stderr)
        d = await digest_for(store, cfg, st, day, now)
    if fmt == "xlsx":
        path = Path(out or f"digest-{day}.xlsx")
        path.write_bytes(sheet.build(d))
        print(f"wrote {path}", file=sys.stderr)
        return 0
    if fmt == "json":
        text = json.dumps(d, ensure_ascii=False, indent=2)
    else:
        render = renderer(cfg)
        ctxs = parts.message_parts(d, limit=1 << 30, top=1 << 30)
        text = "\n\n".join(render(Reply(parts.TEMPLATE, **c)) for c in ctxs)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(text, file=stdout)
    return 0


async def _deliver_due(store, cfg: Config, st, day: str, now: float) -> list[str]:
    """Queue the day's deliveries whose scheduled time has passed and that were never sent."""
    emit = Emitter(store, renderer(cfg))  # the outbox writer the service's own job uses
    specs = {r.name: r.send or st.send for r in st.recipients}
    if st.purchasing_url:
        specs[deliver.PURCHASING] = st.send
    start = cutoff_ts(day, st.cutoff, st.tz) - 1
    queued = []
    recipients = {r.name: r for r in st.recipients}
    prepared = deliver.Prepared(store, st, now)
    sent = await store.digest.sent(day, list(specs))
    for name, spec in specs.items():
        fire = next((f for f in deliver.fires(spec, st, start, start + 8 * DAY)
                     if last_closed_day(f, st.cutoff, st.tz) == day), None)
        if name == deliver.PURCHASING and name in sent:
            again = await deliver.requeue_purchasing(store, emit, day, now, force=True)
            queued += [f"{deliver.PURCHASING} {scope} (again, never accepted)" for scope in again]
            continue
        if name in sent or fire is None or fire > now:
            continue
        late = now - fire > st.late_after
        if name == deliver.PURCHASING:
            ok = await deliver.post_purchasing(store, emit, cfg, st, day, late, now, prepared)
        else:
            ok = await deliver.deliver_one(store, emit, cfg, st, recipients[name], day, late, now, prepared)
        if ok:
            queued.append(name)
    return queued


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", help="business day YYYY-MM-DD (default: today)")
    p.add_argument("--dry-run", action="store_true", help="build it without sending or freezing anything")
    p.add_argument("--format", choices=("md", "json", "xlsx"), default="md")
    p.add_argument("-o", "--output", help="file to write (xlsx defaults to digest-<date>.xlsx)")


def _run(args: argparse.Namespace, config: Callable[[], Config]) -> int:
    return asyncio.run(digest(config(), date=args.date, dry_run=args.dry_run, fmt=args.format, out=args.output))


COMMANDS = [CliCommand("digest", "print or write the buyers' demand digest", _arguments, _run)]
