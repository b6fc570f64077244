"""An independent, in-memory model of the 接龙 ledger rules (see store/groupbuy.py's docstring).

Written from the rules, not from the Lua: tests replay the same steps here and compare.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MLine:
    no: int
    owner: str
    who: str
    qty: int
    status: str = "active"


@dataclass
class Model:
    cap: int = 0
    per_person: int = 0
    lines: dict[int, MLine] = field(default_factory=dict)
    queue: list[int] = field(default_factory=list)
    promotions: list[int] = field(default_factory=list)  # line numbers, in the order they moved up

    # -- derived --------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return sum(x.qty for x in self.lines.values() if x.status == "active")

    @property
    def waiting(self) -> int:
        return sum(self.lines[n].qty for n in self.queue)

    def live(self, owner: str) -> list[MLine]:
        return [x for x in sorted(self.lines.values(), key=lambda x: x.no)
                if x.owner == owner and x.status in ("active", "waiting")]

    def _fits(self, extra: int) -> bool:
        return self.cap == 0 or (not self.queue and self.total + extra <= self.cap)

    def _within_limit(self, owner: str, extra: int) -> bool:
        return self.per_person == 0 or sum(x.qty for x in self.live(owner)) + extra <= self.per_person

    def _pick(self, owner: str, who: str | None) -> tuple[MLine | None, bool]:
        mine = self.live(owner)
        if who is not None:
            return next((x for x in mine if x.who == who), None), False
        own = next((x for x in mine if x.who == ""), None)
        if own:
            return own, False
        if len(mine) == 1:
            return mine[0], False
        return None, len(mine) > 1

    def _promote(self) -> None:
        while self.queue:
            head = self.lines[self.queue[0]]
            if self.cap and self.total + head.qty > self.cap:
                break
            self.queue.pop(0)
            head.status = "active"
            self.promotions.append(head.no)

    def _new(self, owner: str, who: str, qty: int) -> str:
        if not self._within_limit(owner, qty):
            return "limit"
        no = len(self.lines) + 1
        line = MLine(no, owner, who, qty)
        if not self._fits(qty):
            line.status = "waiting"
            self.queue.append(no)
        self.lines[no] = line
        return "joined" if line.status == "active" else "waiting"

    def _drop(self, line: MLine) -> None:
        if line.status == "waiting":
            self.queue.remove(line.no)
        line.status = "cancelled"

    # -- steps -----------------------------------------------------------------------------------
    def join(self, owner: str, qty: int, who: str = "") -> str:
        if qty < 1:
            return "bad_qty"
        if self._pick(owner, who)[0]:
            return "exists"
        return self._new(owner, who, qty)

    def set(self, owner: str, qty: int | None = None, delta: int | None = None, who: str | None = None) -> str:
        line, ambiguous = self._pick(owner, who)
        if ambiguous:
            return "ambiguous"
        if line is None:
            n = qty if qty is not None else delta
            return "no_line" if n is None or n < 1 else self._new(owner, who or "", n)
        target = qty if qty is not None else line.qty + delta
        if target <= 0:
            self._drop(line)
            self._promote()
            return "cancelled"
        d = target - line.qty
        if d == 0:
            return "unchanged"
        if d > 0:
            if not self._within_limit(owner, d):
                return "limit"
            if line.status == "active" and not self._fits(d):
                return "full"
        line.qty = target
        self._promote()
        return "changed"

    def cancel(self, owner: str, who: str | None = None, entry: int | None = None) -> str:
        if entry is not None:
            line = self.lines.get(entry)
            if line is None or line.status not in ("active", "waiting"):
                return "no_line"
            if line.owner != owner:
                return "not_yours"
            gone = [line]
        elif who is not None:
            line = self._pick(owner, who)[0]
            gone = [line] if line else []
        else:
            gone = self.live(owner)
        if not gone:
            return "no_line"
        for line in gone:
            self._drop(line)
        self._promote()
        return "cancelled"
