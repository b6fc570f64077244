"""What a digest is built from: one business day's inputs, and the compact totals kept as history.

`DayInputs` is exactly what gets frozen at the cutoff: the 团 that ended that day (with their
line statistics), the demand signals, the stock of every (store, SKU) they touch, and the product
facts the digest shows. Rebuilding a digest from frozen inputs gives the same numbers forever,
whatever happens to the ledger, the catalog or the stock afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

# The store id of demand from a shopper whose store nothing tells (the Q&A handler records it so):
# counted chain-wide, shown as "store unknown", never given a stock, outside every store scope.
UNKNOWN_STORE = "*"


@dataclass(frozen=True, slots=True)
class Tuan:
    """One 团 as the digest sees it. qty/entries/owners count lines that get goods (active or
    collected); `waiting` is demand beyond the cap."""

    id: int
    store: str
    guide: str
    sku: str
    product: str
    unit: str
    status: str  # closed | open (past its cutoff, not yet closed by the sweep) | cancelled
    result: str  # formed | failed
    end: float  # when it stopped taking orders (its cutoff, or an earlier close)
    qty: int = 0
    waiting: int = 0
    min_to_form: int = 0
    entries: int = 0
    owners: tuple[str, ...] = ()
    top_qty: int = 0  # the largest quantity one shopper holds
    amount_fen: int = 0
    cutoff: float = 0

    @property
    def key(self) -> str:
        """The SKU, or the product name for a 团 not linked to a catalog SKU."""
        return self.sku or f"~{self.product}"

    @property
    def shortfall(self) -> int:
        return max(0, self.min_to_form - self.qty)


@dataclass(frozen=True, slots=True)
class Signal:
    """Shoppers asking for an item in one store on one day (unmet: an out-of-stock SKU; wish: a
    product the store does not carry). `shoppers` are unique within the signal."""

    kind: str  # unmet | wish
    store: str
    item: str
    shoppers: tuple[str, ...]
    examples: tuple[str, ...] = ()
    guides: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)  # kf | group -> askers who asked there first

    @property
    def askers(self) -> int:
        return len(self.shoppers)


@dataclass(frozen=True, slots=True)
class ProductInfo:
    sku: str
    name: str
    spec: str = ""
    unit: str = ""
    category: str = ""


@dataclass
class DayInputs:
    day: str
    start: float
    end: float
    taken_at: float  # when these inputs were read (the freeze time for a frozen day)
    frozen: bool = False
    tuans: list[Tuan] = field(default_factory=list)
    open: list[Tuan] = field(default_factory=list)  # still taking orders at taken_at; not counted
    signals: list[Signal] = field(default_factory=list)
    products: dict[str, ProductInfo] = field(default_factory=dict)
    stock: dict[tuple[str, str], int | None] = field(default_factory=dict)  # None: store does not carry it
    catalog_version: int = 0
    exceptions: list[dict] = field(default_factory=list)  # changes to the previous day after its freeze

    def to_dict(self) -> dict:
        return {"day": self.day, "start": self.start, "end": self.end, "taken_at": self.taken_at,
                "frozen": self.frozen, "catalog_version": self.catalog_version,
                "tuans": [_row(t) for t in self.tuans], "open": [_row(t) for t in self.open],
                "signals": [_row(s) for s in self.signals],
                "products": [_row(p) for p in self.products.values()],
                "stock": [[s, k, v] for (s, k), v in self.stock.items()], "exceptions": self.exceptions}

    @classmethod
    def from_dict(cls, d: dict) -> "DayInputs":
        return cls(day=d["day"], start=d["start"], end=d["end"], taken_at=d["taken_at"], frozen=d["frozen"],
                   catalog_version=d.get("catalog_version", 0),
                   tuans=[_tuan(x) for x in d["tuans"]], open=[_tuan(x) for x in d.get("open", [])],
                   signals=[Signal(kind=x["kind"], store=x["store"], item=x["item"], shoppers=tuple(x["shoppers"]),
                                   examples=tuple(x["examples"]), guides=dict(x["guides"]),
                                   sources=dict(x.get("sources", {}))) for x in d["signals"]],
                   products={x["sku"]: ProductInfo(**x) for x in d["products"]},
                   stock={(s, k): v for s, k, v in d["stock"]}, exceptions=list(d.get("exceptions", [])))


@dataclass
class DayTotals:
    """The per-day history a trend needs: formed quantity per (store, SKU key) and unmet / wish
    askers per (store, item)."""

    qty: dict[tuple[str, str], int] = field(default_factory=dict)
    unmet: dict[tuple[str, str], int] = field(default_factory=dict)
    wish: dict[tuple[str, str], int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {name: [[s, k, v] for (s, k), v in getattr(self, name).items()] for name in ("qty", "unmet", "wish")}

    @classmethod
    def from_dict(cls, d: dict) -> "DayTotals":
        return cls(**{name: {(s, k): v for s, k, v in d.get(name, [])} for name in ("qty", "unmet", "wish")})


def totals_of(inputs: DayInputs) -> DayTotals:
    out = DayTotals()
    for t in inputs.tuans:
        if t.result == "formed" and t.status != "cancelled":
            k = (t.store, t.key)
            out.qty[k] = out.qty.get(k, 0) + t.qty
    for s in inputs.signals:
        bucket = out.unmet if s.kind == "unmet" else out.wish
        bucket[(s.store, s.item)] = bucket.get((s.store, s.item), 0) + s.askers
    return out


_TUAN_FIELDS = tuple(f.name for f in fields(Tuan))
_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in (Tuan, Signal, ProductInfo)}


def _row(obj) -> dict:
    # Not dataclasses.asdict: its deep copy dominates freezing 50,000 signals.
    return {f: (list(v) if isinstance(v, tuple) else v)
            for f in _FIELDS[type(obj)] for v in (getattr(obj, f),)}


def _tuan(d: dict) -> Tuan:
    return Tuan(**{**{k: d[k] for k in _TUAN_FIELDS if k in d}, "owners": tuple(d.get("owners", ()))})
