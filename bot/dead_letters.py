"""What gave up, kept and replayable: `qunbot dead-letters list|replay`, and the /metrics gauge.

A dead letter is an outbox entry the sender could not deliver (a permanent errcode, or still
failing after [sender] retry_horizon_seconds), or an inbox/outbox entry whose handler kept
raising. Replaying one puts it back on its stream exactly once: the re-queue is deduped by the
dead letter's id (a second replay, or a replay that crashed half-way and is run again, adds
nothing), then the dead letter is deleted. A replayed kf reply keeps its msgid, so WeCom refuses
it if the first send did arrive after all.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from bot import metrics
from bot.message import Message
from store import Store

STREAMS = ("outbox", "inbox")
STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


@dataclass
class DeadLetter:
    stream: str
    id: str  # id in the dead-letter stream
    data: str
    reason: str
    origin: str  # the entry's id in its stream when it gave up
    route: str  # route key: target (outbox) or conversation (inbox)
    since: float | None  # first failure (outbox), epoch seconds

    @property
    def dead_at(self) -> float:
        return int(self.id.split("-")[0]) / 1000

    @property
    def queued_at(self) -> float | None:
        head = self.origin.split("-")[0]
        return int(head) / 1000 if head.isdigit() else None

    def target(self) -> str:
        """Channel and recipient, without credentials (a webhook key, an aibot response_url)."""
        if self.stream == "inbox":
            return self.route
        try:
            out = json.loads(self.data)
        except ValueError:
            return self.route
        from bot.sender import _recipient
        return _recipient(out) if "channel" in out and "to" in out else self.route

    def preview(self, width: int = 30) -> str:
        try:
            obj = json.loads(self.data)
        except ValueError:
            return ""
        text = str(obj.get("content") or obj.get("text") or "").replace("\n", " ")
        return text if len(text) <= width else text[:width - 1] + "…"


def _stream(store: Store, name: str):
    return store.outbox if name == "outbox" else store.inbox


async def read(store: Store, stream: str, ids: list[str] | None = None, limit: int = 1000) -> list[DeadLetter]:
    if ids:
        ids = [i for i in ids if STREAM_ID.fullmatch(i)]  # anything else names no dead letter (reported by the caller)
        if not ids:
            return []
    rows = await _stream(store, stream).dead_letters(ids or None, limit)
    return [DeadLetter(stream, eid, g.get("d", ""), g.get("reason", ""), g.get("from", ""), g.get("k", ""),
                       float(g["since"]) if g.get("since") else None) for eid, g in rows]


def _route(dl: DeadLetter) -> str:
    if dl.route:
        return dl.route
    if dl.stream == "inbox":
        return Message.from_json(dl.data).conversation
    out = json.loads(dl.data)
    return f"{out['channel']}:{out['to']}"  # how every producer routes an outbox entry


async def replay(store: Store, dl: DeadLetter) -> bool:
    """Put one dead letter back on its stream; False if it was not queued (already replayed)."""
    stream = _stream(store, dl.stream)
    data, dedupe = dl.data, f"replay:{dl.id}"
    if dl.stream == "outbox":
        out = json.loads(dl.data)
        if "resume" in out:  # a retry timer's marker the consumer gave up on: the timer issues another
            await stream.drop_dead(dl.id)
            return False
        out.setdefault("id", dl.origin)  # entries dead-lettered by the consumer: keep the kf msgid
        out["replayed"] = True  # its first send may have arrived: a refused repeat msgid is success
        data = json.dumps(out, ensure_ascii=False)
    else:
        dedupe = Message.from_json(dl.data).id + "!" + dedupe
    added = await stream.put(_route(dl), dedupe, data)
    await stream.drop_dead(dl.id)
    return added is not None


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


def table(letters: list[DeadLetter], now: float | None = None) -> str:
    now = time.time() if now is None else now
    head = f"{'ID':<17} {'STREAM':<6} {'AGE':>7} {'DEAD FOR':>8}  {'TARGET':<28} REASON / CONTENT"
    lines = [head]
    for dl in letters:
        age = ago(now - dl.queued_at) if dl.queued_at else "?"
        lines.append(f"{dl.id:<17} {dl.stream:<6} {age:>7} {ago(now - dl.dead_at):>8}  {dl.target()[:28]:<28} "
                     f"{dl.reason[:90]}")
        if dl.preview():
            lines.append(f"{'':<17} {'':<6} {'':>7} {'':>8}  {'':<28} “{dl.preview(60)}”")
    return "\n".join(lines)


def refresher(store: Store):
    """Set DEAD_LETTERS per stream, and OUTBOX_WAITING, from Redis at each scrape."""
    async def refresh() -> None:
        for name in STREAMS:
            metrics.DEAD_LETTERS.labels(name).set(await _stream(store, name).dead_count())
        metrics.OUTBOX_WAITING.set(await store.parking.waiting())
    return refresh


# -- CLI ----------------------------------------------------------------------------------------
async def cli_list(cfg, stream: str, limit: int, as_json: bool, stdout) -> int:
    from bot.runtime import open_store
    async with open_store(cfg) as store:
        letters = []
        for name in (STREAMS if stream == "all" else (stream,)):
            letters += await read(store, name, limit=limit)
    if as_json:
        for dl in letters:
            print(json.dumps({"id": dl.id, "stream": dl.stream, "target": dl.target(), "reason": dl.reason,
                              "queued_at": dl.queued_at, "dead_at": dl.dead_at, "data": dl.data},
                             ensure_ascii=False), file=stdout)
        return 0
    if not letters:
        print("no dead letters", file=stdout)
        return 0
    print(table(letters), file=stdout)
    print(f"\n{len(letters)} dead letter(s). Re-queue with: qunbot dead-letters replay ID… (or --all)", file=stdout)
    return 0


async def cli_replay(cfg, stream: str, ids: list[str], everything: bool, stdout, stderr) -> int:
    from bot.runtime import open_store
    if not ids and not everything:
        print("name the dead letters to replay (ids from `qunbot dead-letters list`) or pass --all", file=stderr)
        return 2
    async with open_store(cfg) as store:
        letters: list[DeadLetter] = []
        for name in (STREAMS if stream == "all" else (stream,)):
            letters += await read(store, name, ids or None, limit=100_000)
        missing = set(ids) - {dl.id for dl in letters}
        seen: set[tuple[str, str]] = set()
        queued = 0
        for dl in letters:
            key = (dl.stream, dl.origin)  # one message dead-lettered twice is replayed once
            if key in seen and dl.origin:
                await _stream(store, dl.stream).drop_dead(dl.id)
                continue
            seen.add(key)
            queued += await replay(store, dl)
    for i in sorted(missing):
        print(f"{i}: no such dead letter (replayed already?)", file=stderr)
    print(f"re-queued {queued} of {len(letters)}; a running worker sends them", file=stdout)
    return 1 if missing else 0
