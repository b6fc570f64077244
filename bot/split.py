"""Split outgoing text under a channel's byte limit, on line boundaries, never inside a character."""
from __future__ import annotations

# UTF-8 byte limits per channel and msgtype (docs/wecom.md §6).
LIMITS = {
    ("app", "text"): 2048, ("app", "markdown"): 2048,
    ("appchat", "text"): 2048, ("appchat", "markdown"): 2048,
    ("webhook", "text"): 2048, ("webhook", "markdown"): 4096,
    ("aibot", "text"): 20480, ("aibot", "markdown"): 20480, ("aibot_ws", "markdown"): 20480,
    ("kf", "text"): 2048, ("group_post", "text"): 4000,
}


def limit_for(channel: str, msgtype: str) -> int:
    return LIMITS.get((channel, msgtype), 2048)


def _cut_line(line: str, limit: int) -> list[str]:
    """A single line longer than the limit is cut at character boundaries."""
    parts, buf, size = [], [], 0
    for ch in line:
        n = len(ch.encode())
        if size + n > limit:
            parts.append("".join(buf))
            buf, size = [], 0
        buf.append(ch)
        size += n
    if buf:
        parts.append("".join(buf))
    return parts


def split_text(text: str, limit: int) -> list[str]:
    if len(text.encode()) <= limit:
        return [text]
    parts: list[str] = []
    cur: list[str] = []
    size = 0
    for line in text.split("\n"):
        pieces = _cut_line(line, limit) if len(line.encode()) > limit else [line]
        for piece in pieces:
            n = len(piece.encode()) + (1 if cur else 0)
            if cur and size + n > limit:
                parts.append("\n".join(cur))
                cur, size = [], 0
                n = len(piece.encode())
            cur.append(piece)
            size += n
    if cur:
        parts.append("\n".join(cur))
    return [p for p in parts if p.strip()] or [text[:1]]
