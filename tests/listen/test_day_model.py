"""A seeded random day of a store group: +N lines, pasted 接龙 lists (stale copies, edits, removals,
取消, two pasters with the same new number, edits to other people's lines), kf lines and /代报, with
redeliveries. The ledger the real service ends with must be the one an independent model computes.

The model is written from the rules a shopper and guide are told, not from the code: the ledger
arithmetic is tests/groupbuy/model.py; who a paste speaks for is decided here, from what the
generated paste was meant to do:
- the sender's row (their nickname) with another quantity sets their line; marked 取消 (or with
  quantity 0) cancels it; left out of a copy that shows a later line, cancels it;
- with no line of their own, their new row (their nickname, else the last row that names no one
  else's line, live or cancelled) joins; with one, new rows count for nothing;
- other people's rows, however edited or dropped, count for nothing.
"""
from __future__ import annotations

import random

import pytest

from tests.groupbuy.helpers import kf_message, kf_put, open_group
from tests.groupbuy.model import Model
from tests.listen.conftest import NAMES
from tests.listen.helpers import group_line, hear, redeliver

SHOPPERS = list(NAMES)
PHONED = ["李阿姨", "赵叔"]
CAP, LIMIT = 14, 4
OPEN = f"/开团 丹东99草莓 36.9元/盒 限{CAP}盒 每人限{LIMIT}盒 截止明天20:00 自提周六10-12点服务台"
FW = str.maketrans("0123456789", "０１２３４５６７８９")


class Day:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.m = Model(cap=CAP, per_person=LIMIT)
        self.names = {**{s: NAMES[s] for s in SHOPPERS}, **{f"tel:{n}": n for n in PHONED}}
        self.versions: list[list[tuple[str, int]]] = [[]]  # the roster as posted after each step
        self.heard = []  # group messages, for redelivery

    def roster(self) -> list[tuple[str, int]]:
        """(name, quantity) of live lines as the list shows them: active first, then waiting."""
        lines = sorted(self.m.lines.values(), key=lambda x: x.no)
        active = [x for x in lines if x.status == "active"]
        waiting = [self.m.lines[n] for n in self.m.queue]
        return [(self.names[x.owner], x.qty) for x in active + waiting]

    def snapshot(self) -> None:
        self.versions.append(self.roster())

    # -- the paste a shopper writes, and what the model says it does -------------------------------
    def paste_text(self, gid: int, rows: list[tuple[str, int, str]]) -> str:
        style = self.rng.choice(["roster", "plain", "fullwidth", "comma"])
        out = [f"#接龙【丹东99草莓团】团号{gid}｜截单前都可以接"] if style != "plain" else ["草莓接龙"]
        for i, (name, qty, note) in enumerate(rows, 1):
            if style == "fullwidth":
                body = f"{str(i).translate(FW)}. {name} {str(qty).translate(FW)}盒"
            elif style == "comma":
                body = f"{i}、{name}{qty}盒"
            else:
                body = f"{i}. {self.rng.choice(['', '🌸', '🍓'])}{name} {qty}{self.rng.choice(['盒', '份'])}"
            out.append(f"{body} {note}".rstrip())
        if style == "roster":
            out.append(f"合计：{len(rows)}人")
        return "\n".join(out)

    def live_by_name(self) -> dict[str, object]:
        return {self.names[x.owner]: x for x in self.m.lines.values() if x.status in ("active", "waiting")}

    def paste(self, who: str, version: list[tuple[str, int]], extra: list[tuple[str, int, str]] | None = None):
        """Rows for `who` pasting `version` with an edit; applies the expected effect to the model."""
        rng, name = self.rng, NAMES[who]
        rows = [(n, q, "") for n, q in version]
        mine = self.m.live(who)
        own_row = next((i for i, r in enumerate(rows) if r[0] == name), None)
        # Meddling with someone else's row, which must count for nothing.
        others = [i for i, r in enumerate(rows) if r[0] != name]
        if others and rng.random() < 0.3:
            i = rng.choice(others)
            if rng.random() < 0.5:
                rows[i] = (rows[i][0], rows[i][1] % LIMIT + 1, "")
            else:
                rows.pop(i)
                own_row = next((i for i, r in enumerate(rows) if r[0] == name), None)
        live = self.live_by_name()
        action = "none"
        if own_row is None:
            if rng.random() < 0.85:
                rows.append((name, rng.randint(1, 3), rng.choice(["", "", "谢谢"])))
                action = "add"
        else:
            r = rng.random()
            if r < 0.4:
                rows[own_row] = (name, rng.randint(1, LIMIT + 1), "")
                action = "change"
            elif r < 0.6:
                rows.pop(own_row)
                action = "remove"
            elif r < 0.75:
                rows[own_row] = (name, rows[own_row][1], "取消")
                action = "cancel"
        rows += extra or []
        # -- the model: only the sender's own line moves ---------------------------------------------
        live = self.live_by_name()
        own = mine[0] if mine else None
        shown = [live[n] for n, q, note in rows if n in live]
        if own is not None:
            row = next((r for r in rows if r[0] == name), None)
            if row is None:
                if max((x.no for x in shown), default=0) > own.no:
                    self.m.cancel(who, entry=own.no)
            elif row[2] == "取消":
                self.m.cancel(who, entry=own.no)
            elif row[1] != own.qty:
                self.m.set(who, qty=row[1], who="")
        else:
            taken = {self.names[x.owner] for x in self.m.lines.values() if x.owner != who}
            new = [r for r in rows if r[0] not in live and r[0] not in taken and r[2] != "取消"]
            if new:
                row = next((r for r in new if r[0] == name), new[-1])
                self.m.join(who, row[1])
        return rows, action


async def run_day(h, seed: int, steps: int = 70) -> Day:
    d = Day(seed)
    gid = await open_group(h, OPEN)
    rng = d.rng
    for _ in range(steps):
        kind = rng.choices(["plus", "kf", "proxy", "cancel", "change", "paste", "pair", "redeliver"],
                           [14, 8, 5, 5, 5, 30, 8, 6])[0]
        who = rng.choice(SHOPPERS)
        if kind == "plus":
            q = rng.randint(1, 3)
            text = rng.choice([f"+{q}", f"＋{q}", f"+{q} {rng.randint(1, 9)}栋{rng.randint(101, 909)}", f"接龙 {q}份"])
            msg = group_line(who, text)
            await hear(h, msg)
            d.heard.append(msg)
            d.m.join(who, q)
        elif kind == "kf":
            q = rng.randint(1, 3)
            await kf_put(h, kf_message(who, f"+{q}"))
            await h.drain()
            d.m.join(who, q)
        elif kind == "proxy":
            name, q = rng.choice(PHONED), rng.randint(0, 3)
            await h.ask(f"/代报 {gid} {name} {q}", user="xiaowang")
            d.m.set(f"tel:{name}", qty=q, who="")
        elif kind == "cancel":
            msg = group_line(who, "取消")
            await hear(h, msg)
            d.heard.append(msg)
            d.m.cancel(who)
        elif kind == "change":
            q = rng.randint(1, LIMIT)
            msg = group_line(who, f"改成{q}盒")
            await hear(h, msg)
            d.heard.append(msg)
            d.m.set(who, qty=q)
        elif kind == "paste":
            version = d.versions[-1] if rng.random() < 0.6 else rng.choice(d.versions)
            rows, _ = d.paste(who, version)
            if rows:  # an empty list is no paste (and "草莓接龙" alone is a plain join)
                msg = group_line(who, d.paste_text(gid, rows))
                await hear(h, msg)
                d.heard.append(msg)
        elif kind == "pair":
            # Two shoppers copy the same list and add their own line under the same new number.
            a, b = rng.sample(SHOPPERS, 2)
            version = d.versions[-1]
            rows_a, _ = d.paste(a, version)
            rows_b, _ = d.paste(b, version)
            pair = [group_line(w, d.paste_text(gid, rows)) for w, rows in ((a, rows_a), (b, rows_b)) if rows]
            for msg in pair:
                await hear(h, msg, drain=False)
            await h.drain()
            d.heard += pair
        elif kind == "redeliver" and d.heard:
            await redeliver(h, rng.choice(d.heard))
        d.snapshot()
        got = [(x.no, x.owner, x.qty, x.status) for x in await h.store.groupbuys.lines(gid)]
        want = [(x.no, x.owner, x.qty, x.status) for x in sorted(d.m.lines.values(), key=lambda x: x.no)]
        if got != want:
            real = await h.store.groupbuys.lines(gid)
            print("STEP", kind, who, [(m.sender, m.text) for m in d.heard[-2:]])
            print("REAL", [(x.no, x.owner, x.name, x.qty, x.status) for x in real])
            print("WANT", want)
        assert got == want, kind
    return d, gid


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 13, 18])
async def test_a_day_of_group_chat_ends_with_the_models_ledger(listening, seed):
    d, gid = await run_day(listening, seed)
    real = await listening.store.groupbuys.lines(gid)
    got = [(x.no, x.owner, x.qty, x.status) for x in real]
    want = [(x.no, x.owner, x.qty, x.status) for x in sorted(d.m.lines.values(), key=lambda x: x.no)]
    assert got == want
    assert await listening.store.groupbuys.waiting_order(gid) == d.m.queue
    gb = await listening.store.groupbuys.get(gid)
    assert (gb.total, gb.waiting) == (d.m.total, d.m.waiting)
    # And every message of the day once more: nothing changes.
    for msg in d.heard:
        await redeliver(listening, msg)
    assert [(x.no, x.owner, x.qty, x.status) for x in await listening.store.groupbuys.lines(gid)] == want
