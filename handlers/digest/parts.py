"""A digest as chat messages: whole sections packed into as few messages as fit under the
channel's byte limit, a section too long for one message split between items, each section
capped at `top` items (the XLSX attachment has all of them).

Sizes are measured by rendering the real template, so what is checked is what is sent.
"""
from __future__ import annotations

import re

from bot.message import Reply
from bot.render import renderer
from handlers.digest.model import UNKNOWN_STORE

TEMPLATE = "digest/digest.md.j2"
ORDER = ("demand", "unmet", "wish", "failed", "guides", "exceptions", "changes", "open")
MARGIN = 64  # bytes kept free under the limit: the sender must never have to cut a part itself
# Free text that came from shoppers or guides (quotes, wish terms, 团 product names) is shown as
# plain text: one line, and none of WeCom markdown's inline markup (<font>, [link](url), **, `).
_SPACE = re.compile(r"\s+")
_MARKUP = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］", "*": "＊", "`": "'"})
_TEXT_FIELDS = ("name", "term", "product", "spec", "unit", "examples")


def plain(text: str) -> str:
    return _SPACE.sub(" ", text).strip().translate(_MARKUP)


def _clean(item: dict) -> dict:
    out = dict(item)
    for f in _TEXT_FIELDS:
        v = out.get(f)
        if isinstance(v, str):
            out[f] = plain(v)
        elif isinstance(v, list):
            out[f] = [plain(x) if isinstance(x, str) else x for x in v]
    return out


def _store_names(digest: dict) -> dict[str, str]:
    names = {UNKNOWN_STORE: ""}
    for key in ("failed", "formed", "open"):
        for r in digest.get(key, []):
            names[r["store"]] = r["store_name"]
    for r in digest.get("skus", []):
        for x in r["stores"]:
            names[x["store"]] = x["store_name"]
    for r in digest.get("unmet", []) + digest.get("wishes", []):
        for x in r["stores"]:
            names[x["store"]] = x["store_name"]
    return names


def section_items(digest: dict, top: int) -> list[dict]:
    """[{key, items, more}] for the sections that have anything to say."""
    names = _store_names(digest)
    demand = []
    for i, r in enumerate((r for r in digest["skus"] if r["qty"] > 0), 1):
        stores = [x for x in r["stores"] if x["qty"] > 0]
        demand.append({**r, "rank": i, "top_stores": stores[:3] if len(stores) > 1 else [],
                       "more_stores": len(stores) > 3, "store_count": len(stores)})
    guides = [{**g, "store_names": [names.get(s, s) for s in g["stores"]]} for g in digest["guides"]]
    changes = [{**c, "store_name": names.get(c.get("store", ""), c.get("store", ""))}
               for c in digest["exceptions"]]
    since = [{**c, "store_name": names.get(c.get("store", ""), c.get("store", ""))}
             for c in digest.get("changes_since_freeze") or []]
    found = {"demand": demand, "unmet": digest["unmet"], "wish": digest["wishes"], "failed": digest["failed"],
             "guides": guides, "exceptions": changes, "changes": since, "open": digest["open"]}
    present = [k for k in ORDER if found[k]]
    # Sections are numbered in the order they appear, and a lone section is not numbered at all.
    return [{"key": k, "items": [_clean(x) for x in found[k][:top]], "more": max(0, len(found[k]) - top),
             "cont": False, "no": i if len(present) > 1 else 0} for i, k in enumerate(present, 1)]


def message_parts(digest: dict, *, limit: int, top: int = 15, attachment: str = "", scope_label: str = "",
                  closed_day: str = "") -> list[dict]:
    """Template contexts, one per message, each rendering to at most `limit` - MARGIN bytes."""
    budget = limit - MARGIN
    base = {"d": digest, "file_name": attachment, "scope_label": scope_label, "closed_day": closed_day}
    sections = section_items(digest, top)
    base["nothing"] = not sections
    if attachment:
        sections.append({"key": "footer", "items": [], "more": 0, "cont": False})
    out: list[dict] = []
    cur: list[dict] = []

    def ctx(secs: list[dict]) -> dict:
        return {**base, "head": not out, "sections": secs}

    # Sizes only: a time takes as many bytes in any timezone, so the default renderer measures right.
    render = renderer()

    def fits(secs: list[dict]) -> bool:
        return len(render(Reply(TEMPLATE, **ctx(secs))).encode()) <= budget

    def flush() -> None:
        nonlocal cur
        out.append(ctx(cur))
        cur = []

    for sec in sections:
        if fits(cur + [sec]):
            cur.append(sec)
            continue
        if cur:
            flush()
            if fits([sec]):
                cur.append(sec)
                continue
        # Too long for a message of its own: cut between items; the last piece keeps `more`.
        items, chunk, first = sec["items"], [], True
        if not out and not cur and not fits([{**sec, "items": items[:1]}]):
            flush()  # the header and one item do not fit together: the header goes alone
        for item in items:
            trial = {**sec, "items": chunk + [item], "more": 0, "cont": not first}
            if chunk and not fits([trial]):
                cur.append({**sec, "items": chunk, "more": 0, "cont": not first})
                flush()
                chunk, first = [], False
            chunk.append(item)
        cur.append({**sec, "items": chunk, "more": sec["more"], "cont": not first})
    if cur or not out:
        flush()
    return out


def replies(digest: dict, to, *, limit: int, top: int = 15, attachment: str = "", scope_label: str = "",
            closed_day: str = "") -> list[Reply]:
    return [Reply(TEMPLATE, to=to, **c) for c in message_parts(digest, limit=limit, top=top, attachment=attachment,
                                                               scope_label=scope_label, closed_day=closed_day)]
