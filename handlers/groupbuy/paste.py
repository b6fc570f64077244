"""A 接龙 list pasted into a customer group, diffed against the ledger: what the sender did.

Shoppers copy the current list, add or edit their own line and post the whole list again. Every
paste is a fork of whatever version the sender copied, so the list itself is never the truth; the
ledger is. `plan` reads one paste as steps on the sender's own lines only:

- Rows are matched to live ledger lines by name (normalised: NFKC, no emoji, blanks or punctuation;
  a proxy line is "name（who）"; a note after the name is allowed), else by pickup tag; a name or tag two ledger lines share matches
  neither. Numbering is decorative: two pasters who both wrote "5." are simply two new rows, and the
  ledger numbers them in the order their messages arrived.
- The sender's own line whose row shows another quantity is set to it; a row of theirs marked
  取消 / 不要了, or with quantity 0, cancels that line.
- The sender's own line with no row cancels it, but only when the paste shows a line that joined
  after it: then the copied version had the sender's line and they took it out. A paste of an older
  version (copied before their 1:1 or /代报 line existed) cancels nothing.
- A row that matches no live line, and names nobody else's line (not even a cancelled one: a stale
  copy still shows it), is a new line. It is the sender's when they have no line of their own yet: the row with their nickname if there is one, else the last new row (people add
  their line at the end). With a line of their own, new rows are not theirs to add.
- Every other difference (someone else's quantity, name or line removed) is ignored and counted,
  so the guide can see that a paster edited other people's lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from handlers.groupbuy.intents import ListLine, ListPaste
from handlers.groupbuy.text import clean
from handlers.groupbuy.views import display_name
from store.groupbuy import Line

CANCEL_ROW = re.compile(r"取消|不要了|不要啦|退出|退团|不参加|不跟了|删掉|删除")
# Annotations our own roster adds to a line; a pasted copy of it carries them.
ROSTER_NOTES = re.compile(r"[（(]\s*候补第?\s*\d+\s*位\s*[)）]|✔\s*已提")


def norm(name: str | None) -> str:
    """A name as compared between a pasted row and a ledger line."""
    return re.sub(r"[\W_]+", "", clean(name or "", emoji_words=False))


def strip_notes(text: str) -> str:
    return ROSTER_NOTES.sub("", text)


@dataclass(frozen=True)
class Step:
    kind: str  # join | set | cancel
    qty: int = 0
    who: str = ""  # set: the line's who ("" = the sender's own)
    no: int = 0  # cancel: the ledger line
    name: str = ""  # join: the name written in the row
    tag: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "qty": self.qty, "who": self.who, "no": self.no, "name": self.name,
                "tag": self.tag}

    @classmethod
    def of(cls, d: dict) -> "Step":
        return cls(d["kind"], int(d.get("qty") or 0), d.get("who") or "", int(d.get("no") or 0),
                   d.get("name") or "", d.get("tag") or "")


@dataclass
class Plan:
    gid: int
    steps: list[Step] = field(default_factory=list)
    ignored: int = 0  # rows that changed or dropped someone else's line
    unclear: list[str] = field(default_factory=list)  # rows the sender may have meant, left for the guide


def _key(x: Line) -> str:
    return norm(display_name(x))


def _row_names(r: ListLine) -> set[str]:
    """The normalised names a row may be written under: all of it, or one word of it."""
    if not r.name:
        return set()
    return {norm(r.name), *(norm(w) for w in r.name.split())} - {""}


def match_rows(rows: list[ListLine], ledger: list[Line]) -> dict[int, Line]:
    """Row index -> the live ledger line it is, by unique name, else by unique tag."""
    by_name: dict[str, list[Line]] = {}
    by_tag: dict[str, list[Line]] = {}
    for x in ledger:
        by_name.setdefault(_key(x), []).append(x)
        if x.tag:
            by_tag.setdefault(norm(x.tag), []).append(x)
    out: dict[int, Line] = {}
    used: set[int] = set()
    for i, r in enumerate(rows):
        hits = by_name.get(norm(r.name), []) if r.name else []
        if not hits and r.name:  # a name with a note after it ("王姐 谢谢", "小李 取消")
            words = [hit for w in r.name.split() for hit in by_name.get(norm(w), [])]
            hits = words if len(words) == 1 else []
        if len(hits) != 1 and r.tag and not (r.name and hits):
            hits = by_tag.get(norm(r.tag), [])
        if len(hits) == 1 and hits[0].no not in used:
            out[i] = hits[0]
            used.add(hits[0].no)
    return out


def repair(r: ListLine, unit: str) -> ListLine:
    """A row the line parser found no quantity in because the name ends in a numeral-like
    character (张三2盒, 老周3盒): the digits right before the 团's unit (or 份) at the end."""
    if r.qty is not None or r.problem != "no_qty":
        return r
    m = re.match(rf"^(?P<name>.*?\D)\s*(?P<q>\d{{1,3}})\s*(?:{re.escape(unit)}|份)(?P<note>\s*\S{{0,8}})$",
                 clean(strip_notes(r.raw)))
    if m is None:
        return r
    name = " ".join(w for w in (m["name"].strip(), m["note"].strip()) if w) or None
    return replace(r, name=name, qty=int(m["q"]), unit=unit, problem=None)


def plan(paste: ListPaste, gid: int, ledger: list[Line], owner: str, nicknames: set[str], unit: str = "份") -> Plan:
    """The sender's steps on 团 `gid` for one paste (see the module docstring for the rules)."""
    p = Plan(gid)
    live = [x for x in ledger if x.live]
    rows = [repair(r, unit) for r in paste.lines
            if r.group_id == gid or (r.group_id is None and len(paste.group_ids) == 1 and gid in paste.group_ids
                                     and r.problem != "multi_item")]
    matched = match_rows(rows, live)
    mine = [x for x in live if x.owner == owner]
    row_of = {x.no: i for i, x in matched.items()}
    latest_shown = max((x.no for x in matched.values()), default=0)
    for x in mine:
        i = row_of.get(x.no)
        if i is None:
            if latest_shown > x.no:
                p.steps.append(Step("cancel", no=x.no))
            continue
        r = rows[i]
        if CANCEL_ROW.search(r.raw) or r.qty == 0:
            p.steps.append(Step("cancel", no=x.no))
        elif r.qty and r.qty != x.qty:
            p.steps.append(Step("set", qty=r.qty, who=x.who))
    for i, x in matched.items():
        r = rows[i]
        if x.owner != owner and ((r.qty and r.qty != x.qty) or CANCEL_ROW.search(r.raw)):
            p.ignored += 1
    shown = {x.no for x in matched.values()}
    p.ignored += sum(1 for x in live if x.owner != owner and x.no not in shown and latest_shown > x.no)
    # A row naming someone else's line, even one cancelled since (a stale copy), is never the sender's.
    theirs = {_key(x) for x in ledger if x.owner != owner}
    new = [r for i, r in enumerate(rows) if i not in matched and r.qty and not CANCEL_ROW.search(r.raw)
           and not (_row_names(r) & theirs)]
    if new and not mine:
        names = {norm(n) for n in nicknames if n}
        own = [r for r in new if norm(r.name) in names] if names else []
        r = (own or new)[-1]
        name = (r.name or "").split()[0] if r.name else ""  # the name without the note after it
        p.steps.append(Step("join", qty=r.qty, name=name[:16], tag=re.sub(r"\s+", "", r.tag or "")))
    elif new and mine:
        p.unclear = [r.raw for r in new][:3]
    return p
