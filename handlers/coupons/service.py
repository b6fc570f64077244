"""Coupon operations shared by the chat handlers and the admin API.

Everything here takes the `Store` and `Config` explicitly and returns plain data (dicts and small
dataclasses) that templates and JSON can both use; no function formats user-visible text.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, time as dtime, timedelta
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from bot.config import Config
from handlers.coupons.codes import code_problem, format_code, new_code, normalize_code
from handlers.coupons.rules import (
    ALL_STORES, DEFAULT_NEW_MEMBER_DAYS, CampaignSpec, describe, from_record, rule_label, to_record,
)
from handlers.coupons.shopper import Shopper
from store import Store
from store.coupons import Claim, Redemption


def tz_of(config: Config) -> ZoneInfo:
    return ZoneInfo(config.bot.timezone)


def local(now: float, config: Config) -> datetime:
    return datetime.fromtimestamp(now, tz_of(config))


def day_end(now: float, config: Config) -> int:
    """Last second of the local day containing `now` (codes expire at the end of a day)."""
    tz = tz_of(config)
    today = datetime.fromtimestamp(now, tz).date()
    return int(datetime.combine(today + timedelta(days=1), dtime(0, 0), tzinfo=tz).timestamp()) - 1


def day_bounds(day_offset: int, now: float, config: Config) -> tuple[int, int]:
    """[first second, last second] of the local day `day_offset` days after now's day."""
    tz = tz_of(config)
    day = datetime.fromtimestamp(now, tz).date() + timedelta(days=day_offset)
    start = int(datetime.combine(day, dtime(0, 0), tzinfo=tz).timestamp())
    end = int(datetime.combine(day + timedelta(days=1), dtime(0, 0), tzinfo=tz).timestamp()) - 1
    return start, end


def store_name(config: Config, store_id: str) -> str:
    return next((s.name or s.id for s in config.stores if s.id == store_id), store_id)


def unknown_stores(config: Config, spec: CampaignSpec) -> list[str]:
    if not config.stores or spec.stores is None or spec.stores == ALL_STORES:
        return []
    known = {s.id for s in config.stores}
    return [s for s in spec.stores if s not in known]


# -- campaigns ---------------------------------------------------------------------------------

def view(meta: dict[str, str], config: Config, now: float | None = None) -> dict[str, Any]:
    """A campaign as templates and the API see it: the rule fields plus id, state and counts."""
    spec = from_record(meta)
    d = describe(spec)
    issued, redeemed = int(meta.get("issued") or 0), int(meta.get("redeemed") or 0)
    state = meta.get("state", "draft")
    ended = bool(spec.ends_at and now is not None and now > spec.ends_at)
    d.update(
        id=meta["id"], state=state, ended=ended, owner=meta.get("owner", ""),
        owner_name=store_name(config, meta.get("owner", "")),
        store_names=[store_name(config, s) for s in d["stores"]],  # type: ignore[union-attr]
        issued=issued, redeemed=redeemed, left=max(spec.total - issued, 0),
        welcome=meta.get("welcome") == "1", created_by=meta.get("created_by", ""),
        created_at=int(meta.get("created_at") or 0), live_at=int(meta.get("live_at") or 0) or None,
        stopped_at=int(meta.get("stopped_at") or 0) or None,
    )
    return d


async def create_campaign(store: Store, spec: CampaignSpec, *, owner: str, by: str, now: float,
                          welcome: bool = False) -> str:
    record = {**to_record(spec), "rule": rule_label(spec)}
    return await store.coupons.create(record, owner=owner, by=by, now=now, welcome=welcome)


async def make_welcome(store: Store, meta: dict[str, str]) -> str:
    """Make a campaign its owner store's welcome coupon: set (live), pending (a draft: on 确认) or
    not_live (stopped)."""
    if meta.get("state") == "stopped":
        return "not_live"
    if meta.get("state") == "draft":
        await store.coupons.mark_welcome(meta["id"])
        return "pending"
    await store.coupons.set_welcome(meta["owner"], meta["id"])
    return "set"


async def store_views(store: Store, config: Config, store_id: str, now: float) -> list[dict[str, Any]]:
    metas = await store.coupons.campaigns(await store.coupons.store_campaigns(store_id))
    return [view(m, config, now) for m in metas]


# Campaign rules never change after creation, so a service keeps them instead of re-reading them
# on every claim. Kept per Store object (one per service, dropped with it), not per key prefix: two
# services in one process may share a prefix on different Redis servers (campaign ids restart at C1).
_STATIC: WeakKeyDictionary[Store, dict[str, dict[str, Any]]] = WeakKeyDictionary()
_STATIC_MAX = 4096


async def campaign_statics(store: Store, config: Config, cids: list[str]) -> dict[str, dict[str, Any]]:
    kept = _STATIC.setdefault(store, {})
    out, missing = {}, []
    for cid in cids:
        hit = kept.get(cid)
        if hit is None:
            missing.append(cid)
        else:
            out[cid] = hit
    if missing:
        if len(kept) > _STATIC_MAX:
            kept.clear()
        for meta in await store.coupons.campaigns(missing):
            v = view(meta, config)
            for k in ("state", "issued", "redeemed", "left", "live_at", "stopped_at", "ended"):
                v.pop(k, None)
            kept[meta["id"]] = out[meta["id"]] = v
    return out


# -- claiming ----------------------------------------------------------------------------------

@dataclass
class ClaimReport:
    """What one shopper message got: codes issued now, codes already held, and refusals."""

    issued: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        return {"issued": self.issued, "held": self.held, "refusals": self.refusals}


def _code_items(campaign: dict[str, Any], codes: tuple[str, ...], expires: tuple[int, ...]) -> list[dict[str, Any]]:
    return [{"campaign": campaign, "code": c, "display": format_code(c), "expires_at": e}
            for c, e in zip(codes, expires)]


async def claim(store: Store, config: Config, shopper: Shopper, *, msg_id: str, now: float,
                only_new: bool = False, cids: list[str] | None = None, defer: bool = False) -> ClaimReport:
    """Claim every live campaign of the shopper's store (only new-member ones for 新人券 when any).
    `defer`: each code is filed with the message's ack (store/coupons.py claim says when that may be)."""
    report = ClaimReport()
    if shopper.store_id is None:
        return report
    coupons = store.coupons
    if cids is None:
        cids = await coupons.live_campaigns(shopper.store_id)
    statics = await campaign_statics(store, config, cids)
    cids = [c for c in cids if c in statics]
    if only_new and any(statics[c]["new_members_only"] for c in cids):
        cids = [c for c in cids if statics[c]["new_members_only"]]
    joined = await shopper.joined_at() if any(statics[c]["new_members_only"] for c in cids) else None
    end = day_end(now, config)
    for cid in cids:
        c = await coupons.claim(cid, shopper=shopper.id, msg_id=msg_id, now=now, day_end=end,
                                store_id=shopper.store_id, joined_at=joined, target=shopper.target,
                                new_code=new_code, defer=defer)
        report.claims.append(c)
        campaign = statics[cid]
        if c.status == "not_live":
            await coupons.drop_live(cid)  # stopped since the index was read: not the shopper's business
        elif c.status == "wrong_store":
            continue
        elif c.status == "ended":
            await coupons.retire(cid)  # told once, then no longer offered
            report.refusals.append({"campaign": campaign, "status": c.status})
        elif c.got_code:
            report.issued += _code_items(campaign, c.codes, c.expires)
        elif c.status == "held" or c.codes:
            report.held += _code_items(campaign, c.codes, c.expires)
            if c.status != "held":
                report.refusals.append({"campaign": campaign, "status": c.status})
        else:
            report.refusals.append({"campaign": campaign, "status": c.status})
    return report


async def my_codes(store: Store, config: Config, shopper_id: str, now: float) -> list[dict[str, Any]]:
    """The shopper's codes, newest first, each with its display state."""
    recs = await store.coupons.wallet(shopper_id)
    statics = await campaign_statics(store, config, list(dict.fromkeys(r["campaign"] for r in recs)))
    states = {m["id"]: m.get("state") for m in await store.coupons.campaigns(list(statics))}
    out = []
    for r in recs:
        campaign = statics.get(r["campaign"])
        if campaign is None:
            continue
        state = r.get("state", "issued")
        if state == "issued" and states.get(r["campaign"]) == "stopped":
            state = "void"
        elif state == "issued" and now > int(r["expires_at"]):
            state = "expired"
        out.append({"campaign": campaign, "code": r["code"], "display": format_code(r["code"]), "state": state,
                    "expires_at": int(r["expires_at"]), "redeemed_at": int(r.get("redeemed_at") or 0) or None})
    return out


async def welcome_code_for(store: Store, config: Config, store_id: str, external_userid: str, msg_id: str,
                           now: float | None = None) -> dict[str, Any] | None:
    """A code of the store's welcome campaign for a new contact, for the new-contact welcome message.

    A new contact counts as a new member. Idempotent on msg_id (a redelivered event gets the same
    code); a shopper who already holds the welcome coupon gets their code again with new=False.
    Returns None when the store has no welcome campaign or it cannot issue (sold out, ended).
    """
    now = time.time() if now is None else now
    cid = await store.coupons.welcome_of(store_id)
    if cid is None:
        return None
    statics = await campaign_statics(store, config, [cid])
    if cid not in statics:
        return None
    c = await store.coupons.claim(cid, shopper=external_userid, msg_id=msg_id, now=now,
                                  day_end=day_end(now, config), store_id=store_id, joined_at=int(now),
                                  target="", new_code=new_code)
    if not c.codes:
        return None
    await store.coupons.decide_greeting(store_id, external_userid)
    item = _code_items(statics[cid], c.codes[-1:], c.expires[-1:])[0]
    return {**item, "name": statics[cid]["name"], "rule": statics[cid]["rule"], "new": c.got_code}


async def first_talk_grant(store: Store, config: Config, shopper: Shopper, *, msg_id: str,
                           now: float) -> ClaimReport | None:
    """Welcome coupon for a new group member the first time they talk to the bot.

    New = joined one of the store's groups within the campaign's new-member window (or the
    default window when the campaign is open to everyone). Returns the report to send when a code
    was issued for this message, else None. The caller marks the shopper greeted after sending.
    """
    if shopper.store_id is None:
        return None
    cid = await store.coupons.welcome_of(shopper.store_id)
    if cid is None or await store.coupons.greeted(shopper.store_id, shopper.id):
        return None
    statics = await campaign_statics(store, config, [cid])
    if cid not in statics:
        return None
    joined = await shopper.joined_at()
    if joined is None:
        return None  # not in a group (yet); decided when they join and talk again
    window = statics[cid]["new_member_days"] or DEFAULT_NEW_MEMBER_DAYS
    if now - joined > window * 86400:
        await store.coupons.decide_greeting(shopper.store_id, shopper.id)  # an old member
        return None
    report = await claim(store, config, shopper, msg_id=msg_id, now=now, cids=[cid])
    if not report.issued:
        await store.coupons.decide_greeting(shopper.store_id, shopper.id)
        return None
    return report


# -- redemption --------------------------------------------------------------------------------

@dataclass
class RedeemReport:
    """status: ok | empty | malformed | bad_check | unknown | expired | stopped | wrong_store |
    already_redeemed. `bad_chars` for malformed codes with characters outside the alphabet."""

    status: str
    typed: str
    code: str
    redemption: Redemption | None = None
    campaign: dict[str, Any] | None = None
    record: dict[str, str] | None = None
    bad_chars: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def context(self, config: Config) -> dict[str, Any]:
        r = self.redemption
        return {
            "status": self.status, "code": self.code, "display": format_code(self.code) if self.code else self.typed,
            "bad_chars": self.bad_chars, "campaign": self.campaign,
            "repeat": bool(r and r.repeat), "order_no": r.order_no if r else "",
            "redeemed_at": r.redeemed_at if r else None,
            "redeemed_store": store_name(config, r.store) if r and r.store else "",
            "expires_at": int(self.record["expires_at"]) if self.record and self.record.get("expires_at") else None,
        }


def split_code_and_order(args: str) -> tuple[str, str]:
    """'ABCD EFGH J 2025001' -> ('ABCDEFGHJ', '2025001'): code groups may be typed with spaces."""
    words = args.split()
    code = ""
    for i, w in enumerate(words):
        code += normalize_code(w)
        if len(code) >= 9:
            return code, " ".join(words[i + 1:])
    return code, ""


async def redeem(store: Store, config: Config, typed: str, *, store_id: str, order_no: str, by: str,
                 now: float) -> RedeemReport:
    code = normalize_code(typed)
    problem = code_problem(code)
    if problem is not None:
        status = {"empty": "empty", "bad_check": "bad_check"}.get(problem, "malformed")
        rep = RedeemReport(status, typed, code, bad_chars=problem.partition(":")[2])
    else:
        res = await store.coupons.redeem(code, store_id=store_id, order_no=order_no, by=by, now=now)
        rep = RedeemReport(res.status, typed, code, redemption=res)
        if res.campaign:
            meta = await store.coupons.campaign(res.campaign)
            rep.campaign = view(meta, config, now) if meta else None
            if res.status != "ok":
                rep.record = await store.coupons.code_record(code)
    return rep
