"""The engineer's console pages: health and lag, dead letters with replay, stores and their WeCom wiring.

They read the same functions as /healthz (bot/health.py), `qunbot dead-letters` (bot/dead_letters.py)
and `qunbot check` (bot/check.py), so the page and the command cannot disagree.
"""
from __future__ import annotations

import time

from bot import dead_letters, health
from bot.check import run_check
from bot.feature import BadInput, Page, PageRequest, PageResult

ADMIN = frozenset({"admin"})


async def health_page(req: PageRequest) -> PageResult:
    store = req.deps["store"]
    body = await health.report(req.deps["app"])
    streams = []
    for stream in (store.inbox, store.outbox):
        lag = await stream.lag()
        streams.append({"name": stream.name, "lag": sum(lag.values()), "partitions": sorted(lag.items()),
                        "pending": await stream.pending_count()})
    dead = {name: await store.r.xlen(store.keys.dead(name)) for name in dead_letters.STREAMS}
    return PageResult("engineer_health.html", {"health": body, "streams": streams, "dead": dead,
                                               "waiting": await store.parking.waiting()})


def _letter(dl: dead_letters.DeadLetter, now: float) -> dict:
    return {"stream": dl.stream, "id": dl.id, "target": dl.target(), "reason": dl.reason, "preview": dl.preview(80),
            "dead_for": dead_letters.ago(now - dl.dead_at),
            "age": dead_letters.ago(now - dl.queued_at) if dl.queued_at else "?"}


async def dead_page(req: PageRequest) -> PageResult:
    store, now = req.deps["store"], req.deps["now"]
    letters = []
    for stream in dead_letters.STREAMS:
        letters += [_letter(dl, now) for dl in await dead_letters.read(store, stream, limit=200)]
    return PageResult("engineer_dead.html", {"letters": letters, "done": req.query.get("done", "")[:20],
                                             "done_id": req.query.get("id", "")[:40]})


async def replay(req: PageRequest) -> PageResult:
    stream, ident = req.form.get("stream", ""), req.form.get("id", "")
    if stream not in dead_letters.STREAMS:
        raise BadInput(400, "stream must be inbox or outbox")
    if not dead_letters.STREAM_ID.fullmatch(ident):
        raise BadInput(400, "id is not a stream entry id")
    found = await dead_letters.read(req.deps["store"], stream, [ident])
    if not found:
        return PageResult("", redirect=f"/console/engineer/dead?done=missing&id={ident}")
    queued = await dead_letters.replay(req.deps["store"], found[0])
    return PageResult("", redirect=f"/console/engineer/dead?done={'replayed' if queued else 'dropped'}&id={ident}")


async def stores_page(req: PageRequest) -> PageResult:
    config = req.deps["config"]
    rows = [{"id": s.id, "name": s.name or s.id, "guides": list(s.guides), "groups": list(s.groups), "kf": s.kf,
             "problems": [p for p, bad in (("no_guide", not s.guides), ("no_group", not s.groups),
                                           ("no_kf", not s.kf)) if bad]}
            for s in config.stores]
    return PageResult("engineer_stores.html", {"stores": rows, "api_base": config.wecom.api_base,
                                               "agent_id": config.wecom.app.agent_id})


async def check_fragment(req: PageRequest) -> PageResult:
    """`qunbot check`'s lines (asked of WeCom now), for the stores page to load after it shows."""
    lines: list[str] = []
    started = time.monotonic()
    code = await run_check(req.deps["config"], out=lines.append)
    rows = [{"mark": line[:1], "text": line[2:]} if line[:1] in ("✔", "✘", "!") else {"mark": "", "text": line}
            for line in lines]
    return PageResult("engineer_check.html", {"rows": rows, "ok": code == 0,
                                              "seconds": round(time.monotonic() - started, 1)})


PAGES = [
    Page("/engineer/health", health_page, ADMIN, menu="health"),
    Page("/engineer/dead", dead_page, ADMIN, menu="dead"),
    Page("/engineer/dead/replay", replay, ADMIN, methods=("POST",)),
    Page("/engineer/stores", stores_page, ADMIN, menu="stores"),
    Page("/engineer/check", check_fragment, ADMIN),
]
