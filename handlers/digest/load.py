"""Gathering a day's inputs from Redis, freezing them, and building digests from them.

`ended_tuans` is the one function that reads the 接龙 ledger; everything else sees `Tuan`s.
Which business day a 团 belongs to: the day its ordering ended, i.e. its cutoff, or the moment it
was closed if a guide closed it earlier. A 团 past its cutoff that the sweep has not closed yet
(the service was down) is counted with the result the close will give it: the ledger refuses
every change after the cutoff, so its total is already final.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from bot.config import Config
from handlers.digest.build import StoreFacts, build_digest, late_changes
from handlers.digest.day import shift, window
from handlers.digest.model import UNKNOWN_STORE, DayInputs, DayTotals, ProductInfo, Signal, Tuan, totals_of
from handlers.digest.settings import Settings
from handlers.groupbuy.views import amount_fen
from store import Store
from store.groupbuy import RECENT, GroupBuy
from store.keys import DAY

log = logging.getLogger(__name__)
GETTING = ("active", "collected")


def store_facts(config: Config) -> dict[str, StoreFacts]:
    return {s.id: StoreFacts(s.id, s.name or s.id, len(s.groups)) for s in config.stores}


def effective_end(g: GroupBuy) -> float:
    if g.closed_at and (not g.cutoff or g.closed_at < g.cutoff):
        return g.closed_at
    return g.cutoff or g.closed_at or g.created


def getting_of(lines: list[dict]) -> tuple[tuple[str, int], ...]:
    """(owner, qty) of the lines that get goods."""
    return tuple((x["owner"], int(x["qty"])) for x in lines if x.get("status") in GETTING)


def tuan_of(g: GroupBuy, getting: tuple[tuple[str, int], ...]) -> Tuan:
    per_owner: dict[str, int] = {}
    for owner, qty in getting:
        per_owner[owner] = per_owner.get(owner, 0) + qty
    status = g.status if g.status in ("closed", "cancelled") else "open"
    result = g.result or ("formed" if not g.min_to_form or g.total >= g.min_to_form else "failed")
    return Tuan(id=g.id, store=g.store_id, guide=g.guide, sku=g.sku, product=g.product, unit=g.unit, status=status,
                result=result, end=effective_end(g), qty=g.total, waiting=g.waiting, min_to_form=g.min_to_form,
                entries=len(getting), owners=tuple(sorted(per_owner)), top_qty=max(per_owner.values(), default=0),
                amount_fen=sum(amount_fen(g, qty) for _, qty in getting), cutoff=g.cutoff)


# Per Store: 团 id -> (its op count, its lines that get goods). A line changes only through the
# ledger's scripts, each of which counts an op, so a live day reads again only the lines of the 团
# that changed since the last read (a chain's 2,000 open 团 hold some 24,000 lines).
_GETTING: WeakKeyDictionary[Store, dict[int, tuple[int, tuple[tuple[str, int], ...]]]] = WeakKeyDictionary()
GETTING_KEPT = 50_000


async def getting_lines(store: Store, groups: list[GroupBuy]) -> dict[int, tuple[tuple[str, int], ...]]:
    kept = _GETTING.setdefault(store, {})
    stale = [g.id for g in groups if kept.get(g.id, (-1,))[0] != g.ops]
    if len(kept) + len(stale) > GETTING_KEPT:
        kept.clear()  # and read them all: a kept entry is gone now
        stale = [g.id for g in groups]
    if stale:
        # Lines are read after the metas: what is kept is never older than the op count it is kept under.
        fresh = await store.digest.groupbuy_lines(stale)
        ops = {g.id: g.ops for g in groups}
        for gid in stale:
            kept[gid] = (ops[gid], getting_of(fresh[gid]))
    return {g.id: kept[g.id][1] for g in groups}


# Per Store: 团 id -> its meta as last read. A live day names every open and recently closed 团
# of a chain (some 5,000); their op counts are one small read, and only the metas whose count moved
# are read again. note() changes kf_link and announced_* without an op; no digest reads them.
_METAS: WeakKeyDictionary[Store, dict[int, GroupBuy]] = WeakKeyDictionary()


async def current_metas(store: Store, gids: list[int]) -> list[GroupBuy]:
    """The metas of the 团 in `gids` that still exist, as of their op counts read now."""
    kept = _METAS.setdefault(store, {})
    ops = await store.groupbuys.ops_of(gids)
    stale = [gid for gid, n in ops.items() if gid not in kept or kept[gid].ops != n]
    if len(kept) + len(stale) > GETTING_KEPT:
        kept.clear()
        stale = list(ops)
    for gid in stale:
        kept.pop(gid, None)  # one that expired between the two reads is not answered from the old
    for g in await store.groupbuys.many(stale):  # read after the counts: never older than them
        kept[g.id] = g
    return [kept[gid] for gid in gids if gid in ops and gid in kept]


async def ended_tuans(store: Store, start: float, end: float, now: float, lookback_days: int
                      ) -> tuple[list[Tuan], list[Tuan]]:
    """(团 whose ordering ended in (start, end] and before `now`, 团 still taking orders now).

    Recent days come from the ledger's per-store open and recently-closed indexes; older days
    from its creation-time index, looking back `lookback_days` before the day's end."""
    gbs = store.groupbuys
    if start >= now - RECENT + 3600:
        ids = set(await gbs.recent_ids(None, now)) | set(await gbs.open_ids())
    else:
        ids = set(await store.digest.groupbuys_created(end - lookback_days * DAY, end))
    metas = await current_metas(store, sorted(ids))
    ended = [g for g in metas if start < effective_end(g) <= min(end, now)
             and not (g.status == "open" and g.cutoff > now)]
    # Still taking orders, and opened by the day's end: a past day read later must not list a
    # 团 opened since.
    taking = [g for g in metas if g.status == "open" and g.cutoff > now and g.created <= end]
    getting = await getting_lines(store, ended + taking)
    return [tuan_of(g, getting[g.id]) for g in ended], [tuan_of(g, getting[g.id]) for g in taking]


def catalog_facts(products: Iterable, pairs: set[tuple[str, str]]
                  ) -> tuple[dict[str, ProductInfo], dict[tuple[str, str], int | None]]:
    """Product facts for the SKUs in `pairs`, and each (store, SKU)'s effective stock: the row
    listing that store, else the all-stores row, else None (the store does not carry it)."""
    wanted = {sku for _, sku in pairs}
    rows: dict[str, dict[str, int]] = {}
    infos: dict[str, ProductInfo] = {}
    for p in products:
        if p.sku not in wanted:
            continue
        per = rows.setdefault(p.sku, {})
        for s in p.stores or ("*",):
            per[s] = p.stock
        if not p.stores or p.sku not in infos:
            infos[p.sku] = ProductInfo(p.sku, p.name, p.spec, p.unit, p.category)
    stock = {}
    for s, sku in pairs:
        per = rows.get(sku, {})
        stock[(s, sku)] = None if s == UNKNOWN_STORE else per.get(s, per.get("*"))
    return infos, stock


async def catalog_rows(store: Store, pairs: set[tuple[str, str]]) -> tuple[int, list]:
    """The catalog version and the rows `catalog_facts` needs for `pairs`: those of the SKUs the day
    touches, for the stores that touched them, not a chain's half a million rows."""
    wanted: dict[str, set[str]] = {}
    for s, sku in pairs:
        wanted.setdefault(sku, set()).add(s)
    return await store.catalog.rows_for(wanted)


async def load_day(store: Store, day: str, st: Settings, now: float, with_open: bool = False,
                   facts: bool = True) -> DayInputs:
    """The day's inputs as the state is now (not frozen); without `facts` no catalog is read
    (enough for totals and late changes)."""
    start, end = window(day, st.cutoff, st.tz)
    tuans, taking = await ended_tuans(store, start, end, now, st.tuan_lookback_days)
    raw = await store.demand.day(day)
    shoppers = await store.digest.demand_shoppers(day, [(x["kind"], x["store"], x["item"]) for x in raw])
    signals = [Signal(kind=x["kind"], store=x["store"], item=x["item"], shoppers=tuple(who),
                      examples=tuple(x["examples"]), guides=x["guides"], sources=x.get("sources", {}))
               for x, who in zip(raw, shoppers)]
    pairs = {(t.store, t.sku) for t in tuans + taking if t.sku} | {(s.store, s.item) for s in signals
                                                                 if s.kind == "unmet"}
    version, products = await catalog_rows(store, pairs) if facts else (0, [])
    infos, stock = catalog_facts(products, pairs)
    return DayInputs(day=day, start=start, end=end, taken_at=now, tuans=tuans, open=taking if with_open else [],
                     signals=signals, products=infos, stock=stock, catalog_version=version)


async def freeze_day(store: Store, day: str, st: Settings, now: float) -> bool:
    """Freeze the day's inputs (once). The changes to the day before since its own freeze are
    frozen with it and appear in this day's exceptions section."""
    inputs = await load_day(store, day, st, now, with_open=True)
    prev = await store.digest.inputs(shift(day, -1))
    if prev is not None:
        inputs.exceptions = late_changes(DayInputs.from_dict(prev),
                                         await load_day(store, shift(day, -1), st, now, facts=False))
    inputs.frozen = True
    done = await store.digest.freeze(day, inputs.to_dict(), totals_of(inputs).to_dict(), now)
    if done:
        log.info("digest %s frozen: %d 团, %d demand signals, %d exceptions", day, len(inputs.tuans),
                 len(inputs.signals), len(inputs.exceptions))
    return done


async def history(store: Store, day: str, st: Settings, now: float, days: int = 7) -> dict[str, DayTotals]:
    """Totals of the `days` days before `day`: frozen ones as frozen, missing ones read live."""
    wanted = [shift(day, -i) for i in range(1, days + 1)]
    found = {d: DayTotals.from_dict(t) for d, t in (await store.digest.totals(wanted)).items()}
    for d in wanted:
        if d not in found:
            found[d] = totals_of(await load_day(store, d, st, now, facts=False))
    return found


async def day_view(store: Store, day: str, st: Settings, now: float) -> tuple[DayInputs, list[dict] | None]:
    """The frozen inputs of `day` with its changes since the freeze, or live inputs if not frozen."""
    raw = await store.digest.inputs(day)
    if raw is None:
        return await load_day(store, day, st, now, with_open=True), None
    frozen = DayInputs.from_dict(raw)
    return frozen, late_changes(frozen, await load_day(store, day, st, now, facts=False))


async def prepare(store: Store, st: Settings, day: str, now: float) -> tuple[DayInputs, dict[str, DayTotals]]:
    """The frozen (else live) inputs of `day` and its history: read once, built for many scopes."""
    raw = await store.digest.inputs(day)
    inputs = DayInputs.from_dict(raw) if raw else await load_day(store, day, st, now, with_open=True)
    return inputs, await history(store, day, st, now)


def build_for(prepared: tuple[DayInputs, dict[str, DayTotals]], config: Config, st: Settings, now: float, *,
              scope: Iterable[str] | None = None, late: bool = False, changes: list[dict] | None = None) -> dict:
    inputs, hist = prepared
    return build_digest(inputs, hist, stores=store_facts(config), scope=scope, case_sizes=st.case_sizes,
                        cutoff=st.cutoff_text, late=late, generated_at=now, changes_since_freeze=changes)


async def digest_for(store: Store, config: Config, st: Settings, day: str, now: float, *,
                     scope: Iterable[str] | None = None, late: bool = False, with_changes: bool = True) -> dict:
    """The digest of `day` for `scope`, from the frozen snapshot when there is one; with_changes
    adds what changed since the freeze (an on-demand view)."""
    if with_changes:
        inputs, changes = await day_view(store, day, st, now)
        return build_for((inputs, await history(store, day, st, now)), config, st, now, scope=scope, late=late,
                         changes=changes)
    return build_for(await prepare(store, st, day, now), config, st, now, scope=scope, late=late)
