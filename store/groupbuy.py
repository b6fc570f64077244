"""The 接龙 ledger: one Redis entity per 团, changed only by Lua steps.

Each step checks status and cutoff (against the `now` it is given), the per-person limit and the
cap at the moment of writing, and stores its result under the message id that caused it, so a
redelivered message gets the stored result back and changes nothing.

Rules (the test model in tests/groupbuy/model.py implements them independently):
- A line belongs to (owner, who): who is "" for the owner's own line, else the person it is for
  (帮我妈报一份 -> who="我妈"). One live line per (owner, who); a second join answers `exists`.
- Per-person limit: the sum of an owner's live lines (active + waiting, proxies included).
- Cap: the sum of active lines. A join that does not fit, or arrives while anyone is waiting,
  becomes a whole waiting line (no splitting). An increase of an active line must fit entirely
  and nobody may be waiting, else `full` and nothing changes.
- Promotion: whenever capacity frees, waiting lines move up strictly in queue order, whole lines
  only; the head that does not fit blocks the ones behind it (nobody overtakes).
- Nobody changes another owner's line; /代报 lines are owned by "tel:<name>".
- A new line without a pickup tag takes the tag of the owner's other lines (same household).
"""
from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from redis.asyncio import Redis

from store.keys import DAY, Keys, RetentionSettings
from store.lua import bind

DRAFT_TTL = 30 * 60  # a /开团 preview must be confirmed within half an hour
CONFIRM_TTL = 7 * DAY  # outlives any redelivery of a 确认 message
BIND_TTL = 7 * DAY
RECENT = 3 * DAY  # how long after closing a 团 still answers 在哪提货 / 我报了几份
# Every shopper line asks which 团 its store runs. A process answers from what it read within this
# long (another process's new 团 shows up that much later; this process's own steps at once).
VIEW_SECONDS = 1.0
VIEWS_KEPT = 4096  # stores whose 团 one process keeps in view
EVENTS_KEPT = 1024  # this process's latest ledger steps, replayed onto views read while they ran

PARTS = ("meta", "lines", "owners", "wait", "msgs")
# The ledger's step scripts, store/lua/groupbuy_<step>.lua; each includes groupbuy_prelude.lua.
STEPS = ("join", "set", "cancel", "close", "cancel_group", "collect", "create", "note")
LIVE = ("active", "waiting")











@dataclass(frozen=True, slots=True)
class Line:
    no: int
    owner: str
    who: str
    name: str
    qty: int
    tag: str
    status: str  # active | waiting | cancelled | collected
    target: str = ""  # "channel:to" the owner is reached at ("kf:<open_kfid>:<external_userid>")
    by: str = ""  # who wrote it: the owner, or the guide for /代报
    created: float = 0
    updated: float = 0
    pos: int | None = None  # place in the waiting list (1 = next), for waiting lines
    collected: float | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @classmethod
    def of(cls, d: dict) -> "Line":
        return cls(no=int(d["no"]), owner=d["owner"], who=d.get("who", ""), name=d.get("name", ""),
                   qty=int(d["qty"]), tag=d.get("tag", ""), status=d["status"], target=d.get("target", ""),
                   by=d.get("by", ""), created=d.get("created", 0), updated=d.get("updated", 0),
                   pos=int(d["pos"]) if d.get("pos") else None, collected=d.get("collected"))

    def as_dict(self) -> dict:
        return {"no": self.no, "owner": self.owner, "on_behalf_of": self.who, "name": self.name,
                "qty": self.qty, "tag": self.tag, "status": self.status, "target": self.target, "by": self.by,
                "created": self.created, "updated": self.updated, "collected": self.collected}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one ledger step did. `code` is one of:

    shopper steps: joined, waiting, exists, limit, bad_qty, changed, unchanged, full, cancelled,
    no_line, not_yours, ambiguous; refused by the 团's state: cutoff (time passed, not yet closed),
    gb_closed, gb_cancelled, no_group; close: closed_now, not_due; 撤团: cancelled_now;
    pickup: collected, already, not_active, not_closed, failed.
    """

    code: str
    gid: int
    line: Line | None = None
    mine: tuple[Line, ...] = ()  # the owner's live lines after the step
    changed: tuple[Line, ...] = ()  # lines cancelled / collected by the step
    already: tuple[Line, ...] = ()  # pickup: lines that had been collected before
    promoted: tuple[Line, ...] = ()  # waiting lines that moved up because of the step
    total: int = 0
    waiting: int = 0
    cap: int = 0
    status: str = ""
    op: int = 0  # the 团's step counter: the order steps were applied in
    allowed: int | None = None  # limit: how many more the owner may have
    room: int | None = None  # full: how many fit now (-1 unlimited)
    result: str = ""  # close: formed | failed
    shortfall: int = 0
    closed_now: bool = False
    cancelled_now: bool = False
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, gid: int, d: dict) -> "Outcome":
        def lines(v: Any) -> tuple[Line, ...]:
            return tuple(Line.of(x) for x in v) if isinstance(v, list) else ()  # {} is Lua's empty array
        return cls(code=d["code"], gid=gid, line=Line.of(d["line"]) if d.get("line") else None,
                   mine=lines(d.get("mine")), changed=lines(d.get("changed")), already=lines(d.get("already")),
                   promoted=lines(d.get("promoted")), total=int(d.get("total", 0)),
                   waiting=int(d.get("waiting", 0)), cap=int(d.get("cap", 0)), status=d.get("status", ""),
                   op=int(d.get("op", 0)), allowed=d.get("allowed"), room=d.get("room"),
                   result=d.get("result", ""), shortfall=int(d.get("shortfall", 0)),
                   closed_now=bool(d.get("closed_now")), cancelled_now=bool(d.get("cancelled_now")), raw=d)

    @property
    def mine_qty(self) -> int:
        return sum(x.qty for x in self.mine)


@dataclass(frozen=True, slots=True)
class GroupBuy:
    """A 团's meta hash, typed. Money in fen, times epoch seconds; 0 means "none" for cap,
    per_person and min_to_form."""

    id: int
    status: str  # open | closed | cancelled
    product: str
    unit: str
    price_fen: int
    cutoff: float
    pickup: str
    store_id: str
    guide: str
    sku: str = ""
    aliases: tuple[str, ...] = ()
    cap: int = 0
    per_person: int = 0
    min_to_form: int = 0
    bundle_qty: int = 0
    bundle_price_fen: int = 0
    list_price_fen: int = 0
    spec: str = ""
    notes: str = ""
    created: float = 0
    closed_at: float = 0
    result: str = ""  # formed | failed, once closed
    total: int = 0  # active quantity
    waiting: int = 0  # waiting quantity
    lines_seq: int = 0
    ops: int = 0  # ledger operations so far: every change to its lines counts one
    kf_link: str = ""
    draft: str = ""  # id of the /开团 message this 团 was confirmed from
    announced: tuple[str, ...] = ()  # outcomes ("closed", "cancelled") whose notices were queued

    @classmethod
    def of(cls, gid: int, h: dict[str, str]) -> "GroupBuy":
        i = lambda k: int(float(h.get(k) or 0))  # noqa: E731
        return cls(id=gid, status=h.get("status", ""), product=h.get("product", ""), unit=h.get("unit", "份"),
                   price_fen=i("price_fen"), cutoff=float(h.get("cutoff") or 0), pickup=h.get("pickup", ""),
                   store_id=h.get("store_id", ""), guide=h.get("guide", ""), sku=h.get("sku", ""),
                   aliases=tuple(json.loads(h.get("aliases") or "[]")), cap=i("cap"), per_person=i("per_person"),
                   min_to_form=i("min_to_form"), bundle_qty=i("bundle_qty"), bundle_price_fen=i("bundle_price_fen"),
                   list_price_fen=i("list_price_fen"), spec=h.get("spec", ""), notes=h.get("notes", ""),
                   created=float(h.get("created") or 0), closed_at=float(h.get("closed_at") or 0),
                   result=h.get("result", ""), total=i("total"), waiting=i("waiting"), lines_seq=i("seq"), ops=i("ops"),
                   kf_link=h.get("kf_link", ""), draft=h.get("draft", ""),
                   announced=tuple(k.removeprefix("announced_") for k in h if k.startswith("announced_")))

    @property
    def shortfall(self) -> int:
        return max(0, self.min_to_form - self.total)

    def as_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "product": self.product, "sku": self.sku,
                "aliases": list(self.aliases), "unit": self.unit, "price_fen": self.price_fen,
                "bundle": {"qty": self.bundle_qty, "price_fen": self.bundle_price_fen} if self.bundle_qty else None,
                "list_price_fen": self.list_price_fen or None, "spec": self.spec, "notes": self.notes,
                "cap": self.cap or None, "per_person": self.per_person or None,
                "min_to_form": self.min_to_form or None, "cutoff": self.cutoff, "pickup": self.pickup,
                "store_id": self.store_id, "guide": self.guide, "created": self.created,
                "closed_at": self.closed_at or None, "result": self.result or None, "total": self.total,
                "waiting": self.waiting, "kf_link": self.kf_link}


def _clean(d: dict) -> dict:
    """cjson turns JSON null into a sentinel, not nil: absent keys are how Lua sees 'not given'."""
    return {k: v for k, v in d.items() if v is not None}


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


@dataclass(slots=True)
class _StoreView:
    """One store's 团 as read at `at` (monotonic): its open index with each 团's meta and ops
    counter, and its recently closed ids with their closing times."""

    at: float
    groups: list[GroupBuy]
    ops: dict[int, int]
    recent: list[tuple[int, float]]


class GroupBuys:
    def __init__(self, redis: Redis, keys: Keys, retention: RetentionSettings = RetentionSettings()) -> None:
        self.r, self.k = redis, keys
        # closed 团 stay readable (admin API, pickup, digest) this long: [retention] groupbuy_days
        self.keep_after_close = retention.groupbuy_days * DAY
        self._views: dict[str, _StoreView] = {}
        self._with_groups: tuple[float, set[str]] | None = None  # stores that ever had a 团
        self._writes = 0  # this process's ledger writes (and index changes), numbered
        # The last EVENTS_KEPT of them, (number, 团 id, store id, outcome): a view read while some ran
        # is brought up to date with them (or not kept), so this process's own steps show at once.
        self._events: deque[tuple[int, int | None, str | None, Outcome | None]] = deque(maxlen=EVENTS_KEPT)
        self._join, self._set, self._cancel, self._close, self._cancel_group, self._collect, self._create, \
            self._note = (bind(redis, f"groupbuy_{step}") for step in STEPS)
        self._drop_draft = bind(redis, "groupbuy_drop_draft")

    def _keys(self, gid: int) -> list[str]:
        return [self.k.gb(gid, p) for p in PARTS]

    async def _run(self, script, gid: int, msg_id: str, now: float, args: dict) -> Outcome:
        self._writes += 1
        try:
            res = await script(keys=self._keys(gid), args=[msg_id, repr(float(now)),
                                                            json.dumps(_clean(args), ensure_ascii=False)])
        except BaseException:
            self._forget(gid=gid)  # it may have run: no view holding the 团 is kept
            raise
        out = Outcome.of(gid, json.loads(res))
        self._saw(gid, out)
        return out

    # -- the per-store view every shopper line reads ------------------------------------------------
    async def _view(self, store_id: str) -> _StoreView:
        """The store's 团, read at most once per VIEW_SECONDS: one round trip when its open 团 are
        those of the view it replaces (their metas are read with the open index), two otherwise."""
        v = self._views.get(store_id)
        now = time.monotonic()
        if v is not None and now - v.at < VIEW_SECONDS:
            return v
        writes = self._writes
        if store_id not in await self._stores_with_groups(now):
            return _StoreView(now, [], {}, [])  # most stores of a chain: nothing to read
        known = [g.id for g in v.groups] if v is not None else []
        async with self.r.pipeline(transaction=False) as p:
            p.smembers(self.k.gb_open(store_id))
            p.zrange(self.k.gb_recent(store_id), 0, -1, withscores=True)
            for gid in known:
                p.hgetall(self.k.gb(gid, "meta"))
            open_raw, recent_raw, *rows = await p.execute()
        ids = sorted(int(x) for x in open_raw)
        metas = dict(zip(known, rows))
        groups, ops = [], {}
        missing = [gid for gid in ids if gid not in metas]
        if missing:
            async with self.r.pipeline(transaction=False) as p:
                for gid in missing:
                    p.hgetall(self.k.gb(gid, "meta"))
                metas.update(zip(missing, await p.execute()))
        if ids:
            for gid, h in ((gid, metas[gid]) for gid in ids):
                if h:
                    h = {_s(k): _s(x) for k, x in h.items()}
                    groups.append(GroupBuy.of(gid, h))
                    ops[gid] = int(h.get("ops") or 0)
        v = _StoreView(now, groups, ops, [(int(m), float(score)) for m, score in recent_raw])
        # Steps of ours that ran meanwhile may or may not be in what was read: their outcomes are
        # applied by op count (a view newer than a step keeps its own counts), or it is not kept.
        if writes == self._writes or self._catch_up(v, store_id, writes):
            if len(self._views) >= VIEWS_KEPT:
                self._views.clear()
            self._views[store_id] = v
        return v

    async def _stores_with_groups(self, now: float) -> set[str]:
        """store_ids() as of VIEW_SECONDS ago at most: one read a second answers for every store
        that never ran a 团."""
        hit = self._with_groups
        if hit is not None and now - hit[0] < VIEW_SECONDS:
            return hit[1]
        writes = self._writes
        found = set(await self.store_ids())
        # Only a new 团 adds a store (an event naming its store): anything else leaves the set as read.
        if writes == self._writes or self._covered(writes) and not any(
                store is not None or gid is None for n, gid, store, out in self._events if n > writes and out is None):
            self._with_groups = (now, found)
        return found

    def _covered(self, since: int) -> bool:
        """Every event numbered after `since` is still in the log."""
        return len(self._events) < EVENTS_KEPT or self._events[0][0] <= since

    def _log(self, gid: int | None, store_id: str | None, out: Outcome | None) -> None:
        self._writes += 1
        self._events.append((self._writes, gid, store_id, out))

    def _catch_up(self, v: _StoreView, store_id: str, since: int) -> bool:
        """Apply this process's steps numbered after `since` to a view read across them, as `_saw`
        applies them to kept views; False when the view must not be kept."""
        if not self._covered(since):
            return False
        for n, gid, store, out in self._events:
            if n <= since:
                continue
            i = next((i for i, g in enumerate(v.groups) if g.id == gid), None)
            if out is None:  # forgotten: the store's index or this 团 changed
                if store == store_id or i is not None or (store is None and gid is None):
                    return False
                continue
            if i is None:
                continue
            gb = v.groups[i]
            if out.op and out.op <= v.ops.get(gid, 0):  # type: ignore[arg-type]
                continue  # the view was read after the step
            if out.op and out.status == gb.status == "open":
                v.groups[i] = replace(gb, total=out.total, waiting=out.waiting)
                v.ops[gid] = out.op  # type: ignore[index]
            else:
                return False
        return True

    def _saw(self, gid: int, out: Outcome) -> None:
        """A step of this process on 团 `gid`: bring the views holding it up to date at once (its
        counts, when it is still open and the step is newer than the view) or drop them."""
        self._log(gid, None, out)  # a view read now in flight may have been answered before the step
        for sid, v in list(self._views.items()):
            i = next((i for i, g in enumerate(v.groups) if g.id == gid), None)
            if i is None:
                continue
            gb = v.groups[i]
            if out.op and out.op <= v.ops.get(gid, 0):
                continue  # a stored outcome of an older step (a redelivery): the view is newer
            if out.op and out.status == gb.status == "open":
                v.groups[i] = replace(gb, total=out.total, waiting=out.waiting)
                v.ops[gid] = out.op
            else:
                del self._views[sid]

    def _forget(self, store_id: str | None = None, gid: int | None = None) -> None:
        self._log(gid, store_id, None)
        if store_id is not None:
            self._with_groups = None
        for sid, v in list(self._views.items()):
            if sid == store_id or any(g.id == gid for g in v.groups):
                del self._views[sid]

    # -- creating and finding -------------------------------------------------------------------
    async def allocate(self, msg_id: str) -> int:
        """The 团 number for one 确认 message: the same number however often it is redelivered."""
        key = self.k.gb_confirm(msg_id)
        got = await self.r.get(key)
        if got is not None:
            return int(got)
        gid = await self.r.incr(self.k.gb_seq())
        if await self.r.set(key, gid, nx=True, ex=CONFIRM_TTL):
            return gid
        return int(await self.r.get(key))  # a concurrent delivery won; its number stands

    async def create(self, gid: int, fields: dict[str, Any], now: float) -> GroupBuy:
        """Create the entity once (a second call keeps the first), then index it. The indexes live
        outside the entity's hash tag; SADD/ZADD are idempotent, so a retry after a crash between
        the two steps completes the job."""
        flat = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, tuple)) else v)
                for k, v in fields.items() if v is not None}
        flat.setdefault("created", now)
        self._writes += 1
        await self._create(keys=self._keys(gid), args=["", repr(float(now)),
                                                        json.dumps({"fields": flat}, ensure_ascii=False)])
        gb = await self.get(gid)
        assert gb is not None
        async with self.r.pipeline(transaction=False) as p:
            p.sadd(self.k.gb_stores(), gb.store_id)
            p.zadd(self.k.gb_all(), {str(gid): gb.created})
            p.zremrangebyscore(self.k.gb_all(), "-inf", f"({now - self.keep_after_close}")  # their keys are gone
            if gb.status == "open":
                p.sadd(self.k.gb_open(gb.store_id), gid)
            await p.execute()
        self._forget(gb.store_id)
        return gb

    async def get(self, gid: int) -> GroupBuy | None:
        h = await self.r.hgetall(self.k.gb(gid, "meta"))
        if not h:
            return None
        return GroupBuy.of(gid, {_s(k): _s(v) for k, v in h.items()})

    async def many(self, gids: list[int]) -> list[GroupBuy]:
        if not gids:  # the usual case for a store with no 团 running: no round trip
            return []
        async with self.r.pipeline(transaction=False) as p:
            for gid in gids:
                p.hgetall(self.k.gb(gid, "meta"))
            rows = await p.execute()
        return [GroupBuy.of(gid, {_s(k): _s(v) for k, v in h.items()}) for gid, h in zip(gids, rows) if h]

    async def ops_of(self, gids: list[int]) -> dict[int, int]:
        """Each existing 团's op count, in one round trip: every ledger step counts one, so a meta
        read under the same count is still current (only note()'s bookkeeping fields move without one)."""
        if not gids:
            return {}
        async with self.r.pipeline(transaction=False) as p:
            for gid in gids:
                p.hget(self.k.gb(gid, "meta"), "ops")
            rows = await p.execute()
        return {gid: int(v) for gid, v in zip(gids, rows) if v is not None}

    async def lines(self, gid: int) -> list[Line]:
        """Every line of the 团 in 接龙 order, with waiting positions filled in."""
        raw = await self.r.hvals(self.k.gb(gid, "lines"))
        wait = [int(x) for x in await self.r.lrange(self.k.gb(gid, "wait"), 0, -1)]
        pos = {no: i + 1 for i, no in enumerate(wait)}
        out = []
        for r in raw:
            d = json.loads(r)
            d["pos"] = pos.get(int(d["no"]))
            out.append(Line.of(d))
        return sorted(out, key=lambda x: x.no)

    async def waiting_order(self, gid: int) -> list[int]:
        return [int(x) for x in await self.r.lrange(self.k.gb(gid, "wait"), 0, -1)]

    async def store_ids(self) -> list[str]:
        return sorted(_s(x) for x in await self.r.smembers(self.k.gb_stores()))

    async def open_ids(self, store_id: str | None = None) -> list[int]:
        """Open (or closed but not yet announced) 团 of one store, or of every store."""
        stores = [store_id] if store_id is not None else await self.store_ids()
        if not stores:
            return []
        async with self.r.pipeline(transaction=False) as p:  # one round trip for a whole chain
            for s in stores:
                p.smembers(self.k.gb_open(s))
            found = await p.execute()
        return sorted({int(x) for members in found for x in members})

    async def open_groups(self, store_id: str | None = None) -> list[GroupBuy]:
        """Open 团 of one store (as of at most VIEW_SECONDS ago), or of every store (read now)."""
        if store_id is None:
            return [g for g in await self.many(await self.open_ids(store_id)) if g.status == "open"]
        return [g for g in (await self._view(store_id)).groups if g.status == "open"]

    async def all_ids(self, limit: int = 500) -> list[int]:
        return [int(x) for x in await self.r.zrevrange(self.k.gb_all(), 0, limit - 1)]

    async def retire(self, gb: GroupBuy, now: float) -> None:
        """Move a closed or cancelled 团 from the open index to the recent one (both idempotent)."""
        async with self.r.pipeline(transaction=False) as p:
            p.zadd(self.k.gb_recent(gb.store_id), {str(gb.id): now})
            p.zremrangebyscore(self.k.gb_recent(gb.store_id), 0, now - RECENT)
            p.srem(self.k.gb_open(gb.store_id), gb.id)
            await p.execute()
        self._forget(gb.store_id, gb.id)

    async def recent_ids(self, store_id: str | None, now: float) -> list[int]:
        """团 of one store (from its view) or of every store closed within RECENT of `now`."""
        if store_id is not None:
            return sorted({gid for gid, at in (await self._view(store_id)).recent if at >= now - RECENT})
        stores = await self.store_ids()
        if not stores:
            return []
        async with self.r.pipeline(transaction=False) as p:
            for s in stores:
                p.zrangebyscore(self.k.gb_recent(s), now - RECENT, "+inf")
            found = await p.execute()
        return sorted({int(x) for members in found for x in members})

    async def mine(self, gid: int, owner: str, statuses: tuple[str, ...] = LIVE) -> list[Line]:
        """The owner's lines of one 团 in the given states (live by default), in number order."""
        raw = await self.r.hget(self.k.gb(gid, "owners"), owner)
        nos = json.loads(raw) if raw else []
        if not nos:
            return []
        rows = await self.r.hmget(self.k.gb(gid, "lines"), [str(n) for n in nos])
        wait = await self.waiting_order(gid) if "waiting" in statuses else []
        out = []
        for r in rows:
            if r:
                d = json.loads(r)
                if d["status"] in statuses:
                    d["pos"] = wait.index(int(d["no"])) + 1 if int(d["no"]) in wait else None
                    out.append(Line.of(d))
        return sorted(out, key=lambda x: x.no)

    async def applied_any(self, gids: list[int], msg_id: str) -> dict[int, Outcome]:
        """Stored results of `msg_id` in any of these 团 (what a redelivered message already did)."""
        if not gids:
            return {}
        async with self.r.pipeline(transaction=False) as p:
            for gid in gids:
                p.hget(self.k.gb(gid, "msgs"), msg_id)
            rows = await p.execute()
        return {gid: Outcome.of(gid, json.loads(r)) for gid, r in zip(gids, rows) if r}

    async def note(self, gid: int, field_: str, value: str, only_new: bool = False) -> str | None:
        """Set one bookkeeping field of the meta hash (kf_link, announced_<outcome>); returns the
        value now stored, or None when the 团 does not exist."""
        self._forget(gid=gid)
        res = json.loads(await self._note(keys=self._keys(gid), args=["", "0", json.dumps(
            {"field": field_, "value": value, "only_new": only_new}, ensure_ascii=False)]))
        self._forget(gid=gid)
        return res.get("value")

    # -- shopper steps ----------------------------------------------------------------------------
    async def join(self, gid: int, msg_id: str, now: float, owner: str, qty: int, *, who: str = "",
                   name: str = "", tag: str = "", target: str = "", by: str = "") -> Outcome:
        return await self._run(self._join, gid, msg_id, now, dict(owner=owner, qty=qty, who=who, name=name, tag=tag,
                                                                 target=target, by=by or None))

    async def set_qty(self, gid: int, msg_id: str, now: float, owner: str, qty: int, *, who: str | None = None,
                      name: str = "", tag: str = "", target: str = "", by: str = "") -> Outcome:
        """Absolute quantity of the owner's line (0 cancels it; no line yet and qty > 0 joins)."""
        return await self._run(self._set, gid, msg_id, now, dict(owner=owner, qty=qty, who=who, name=name, tag=tag,
                                                                target=target, by=by or None))

    async def add_qty(self, gid: int, msg_id: str, now: float, owner: str, delta: int, *, who: str | None = None,
                      name: str = "", tag: str = "", target: str = "", by: str = "") -> Outcome:
        """Relative change of the owner's line (down to 0 cancels; no line yet and delta > 0 joins)."""
        return await self._run(self._set, gid, msg_id, now, dict(owner=owner, delta=delta, who=who, name=name,
                                                                tag=tag, target=target, by=by or None))

    async def cancel(self, gid: int, msg_id: str, now: float, owner: str, *, who: str | None = None,
                     entry_no: int | None = None) -> Outcome:
        """Cancel the owner's lines: all, the one for `who`, or line `entry_no` if the owner's."""
        return await self._run(self._cancel, gid, msg_id, now, dict(owner=owner, who=who, entry=entry_no))

    async def proxy(self, gid: int, msg_id: str, now: float, name: str, qty: int, *, by: str,
                    tag: str = "") -> Outcome:
        """/代报: set the quantity of a shopper who phoned in. The line is owned by "tel:<name>",
        so the per-person limit applies to that shopper and no chat user can change it."""
        return await self._run(self._set, gid, msg_id, now, dict(owner=f"tel:{name}", who="", qty=qty, name=name,
                                                                tag=tag, by=by))

    async def applied(self, gid: int, msg_id: str) -> Outcome | None:
        raw = await self.r.hget(self.k.gb(gid, "msgs"), msg_id)
        return Outcome.of(gid, json.loads(raw)) if raw else None

    # -- guide and scheduler steps -----------------------------------------------------------------
    async def close(self, gid: int, msg_id: str, now: float, *, reason: str = "cutoff", by: str = "") -> Outcome:
        """open -> closed once; `closed_now` is True only for the call that closed it."""
        return await self._run(self._close, gid, msg_id, now, dict(reason=reason, by=by, keep=self.keep_after_close))

    async def cancel_group(self, gid: int, msg_id: str, now: float, *, by: str) -> Outcome:
        return await self._run(self._cancel_group, gid, msg_id, now, dict(by=by, keep=self.keep_after_close))

    async def collect(self, gid: int, msg_id: str, now: float, *, no: int | None = None, tag: str | None = None,
                      by: str = "") -> Outcome:
        return await self._run(self._collect, gid, msg_id, now, dict(no=no, tag=tag, by=by))

    # -- drafts and conversation bindings -------------------------------------------------------------
    async def save_draft(self, guide: str, draft: dict) -> None:
        await self.r.set(self.k.gb_draft(guide), json.dumps(draft, ensure_ascii=False), ex=DRAFT_TTL)

    async def draft(self, guide: str) -> dict | None:
        raw = await self.r.get(self.k.gb_draft(guide))
        return json.loads(raw) if raw else None

    async def drop_draft(self, guide: str, draft_id: str) -> None:
        """Drop the guide's draft if it is still the one confirmed (not a newer /开团)."""
        await self._drop_draft(keys=[self.k.gb_draft(guide)], args=[draft_id])

    async def confirmed(self, msg_id: str) -> int | None:
        """The 团 number a 确认 message already opened, if any."""
        v = await self.r.get(self.k.gb_confirm(msg_id))
        return int(v) if v is not None else None

    async def bind(self, conversation: str, gid: int) -> None:
        await self.r.set(self.k.gb_bind(conversation), gid, ex=BIND_TTL)

    async def bound(self, conversation: str) -> int | None:
        v = await self.r.get(self.k.gb_bind(conversation))
        return int(v) if v is not None else None
