"""Admin API for coupons: campaigns (create, list, stop, confirm, log), the welcome coupon, redemption
for a POS, code lookup.

Thin adapters over service.py. Errors are JSON {"error": <machine code>, ...} with distinct codes so a
POS can branch on them: unknown (404), empty / malformed / bad_check (400), expired / stopped /
wrong_store / already_redeemed (409, the latter with the earlier order_no).
"""
from __future__ import annotations

import re
import time
from typing import Any

from bot.feature import ApiRequest, ApiResponse, ApiRoute, BadInput
from handlers.coupons import service
from handlers.coupons.codes import code_problem, format_code, normalize_code
from handlers.coupons.fields import spec_from_fields
from handlers.coupons.rules import CampaignError, parse_campaign

_CONTROL = {"text", "store_id", "by", "draft", "welcome"}
_REDEEM_STATUS = {"empty": 400, "malformed": 400, "bad_check": 400, "unknown": 404, "expired": 409,
                  "stopped": 409, "wrong_store": 409, "already_redeemed": 409}
MAX_ORDER_NO = 64
CAMPAIGN_ID = re.compile(r"C[0-9]{1,12}")  # ids are C + the counter (store/keys.py coupon_seq)


def _store_id(req: ApiRequest, given: object) -> str:
    ids = [s.id for s in req.config.stores]
    if given is None or given == "":
        if len(ids) == 1:
            return ids[0]
        raise BadInput(400, "store_id_required")
    if not isinstance(given, str) or (ids and given not in ids):
        raise BadInput(400, "unknown_store", store_id=given[:40] if isinstance(given, str) else repr(given)[:40])
    return given


async def create_campaign(req: ApiRequest) -> ApiResponse:
    """Body: {"text": "新人券 满50减10 100张 有效3天"} or CampaignSpec fields; plus store_id, by,
    draft (default false: live at once) and welcome (make it the store's welcome coupon)."""
    store, config = req.store, req.config
    data = await req.json()
    now = time.time()
    owner = _store_id(req, data.get("store_id"))
    if "text" in data:
        if not isinstance(data["text"], str):
            raise BadInput(400, "invalid_campaign", problems=["bad_field:text"])
        spec = parse_campaign(data["text"], service.local(now, config), service.tz_of(config))
    else:
        spec = spec_from_fields({k: v for k, v in data.items() if k not in _CONTROL}, service.local(now, config),
                                service.tz_of(config))
    if isinstance(spec, CampaignError):
        raise BadInput(400, "invalid_campaign", problems=list(spec.codes))
    unknown = service.unknown_stores(config, spec)
    if unknown:
        raise BadInput(400, "invalid_campaign", problems=[f"unknown_store:{s}" for s in unknown])
    by = str(data.get("by") or "api")
    cid = await service.create_campaign(store, spec, owner=owner, by=by, now=now, welcome=bool(data.get("welcome")))
    if not data.get("draft"):
        await store.coupons.confirm(cid, by=by, now=now)
    meta = await store.coupons.campaign(cid)
    return ApiResponse({"campaign": service.view(meta or {}, config, now)}, status=201)


async def list_campaigns(req: ApiRequest) -> dict[str, Any]:
    store, config = req.store, req.config
    now = time.time()
    store_id = req.query.get("store_id")
    if store_id:
        views = await service.store_views(store, config, _store_id(req, store_id), now)
    else:
        seen: dict[str, dict] = {}
        for s in config.stores:
            for v in await service.store_views(store, config, s.id, now):
                seen.setdefault(v["id"], v)
        views = list(seen.values())
    return {"campaigns": views}


def _cid(req: ApiRequest) -> str:
    """The {cid} path segment as a campaign id (C12), or a 400."""
    cid = req.path["cid"].upper()
    if not CAMPAIGN_ID.fullmatch(cid):
        raise BadInput(400, "bad_campaign_id", campaign=cid[:40])
    return cid


async def _known_campaign(req: ApiRequest) -> str:
    cid = _cid(req)
    if await req.store.coupons.campaign(cid) is None:
        raise BadInput(404, "unknown_campaign", campaign=cid)
    return cid


async def stop_campaign(req: ApiRequest) -> dict[str, Any]:
    cid = await _known_campaign(req)
    now = time.time()
    status = await req.store.coupons.stop(cid, by="api", now=now)
    return {"status": status, "campaign": service.view(await req.store.coupons.campaign(cid) or {}, req.config, now)}


async def confirm_campaign(req: ApiRequest) -> dict[str, Any]:
    cid = await _known_campaign(req)
    now = time.time()
    status = await req.store.coupons.confirm(cid, by="api", now=now)
    return {"status": status, "campaign": service.view(await req.store.coupons.campaign(cid) or {}, req.config, now)}


async def campaign_log(req: ApiRequest) -> dict[str, Any]:
    """Every issue, redemption, go-live and stop of a campaign: who, when, which message or order."""
    cid = await _known_campaign(req)
    return {"campaign": cid, "events": await req.store.coupons.events(cid, count=100_000)}


async def get_welcome(req: ApiRequest) -> dict[str, Any]:
    """?store_id=S01 -> the store's welcome coupon campaign, or null."""
    store = req.store
    store_id = _store_id(req, req.query.get("store_id"))
    cid = await store.coupons.welcome_of(store_id)
    meta = await store.coupons.campaign(cid) if cid else None
    return {"store_id": store_id, "campaign": service.view(meta, req.config, time.time()) if meta else None}


async def set_welcome(req: ApiRequest) -> dict[str, Any]:
    """Body: {store_id, campaign: "C12" | null}. The campaign must belong to the store; a draft
    becomes the welcome coupon when confirmed ("pending"), a stopped one is refused (409)."""
    store, config = req.store, req.config
    data = await req.json()
    store_id = _store_id(req, data.get("store_id"))
    cid = data.get("campaign")
    if cid is None:
        await store.coupons.set_welcome(store_id, None)
        return {"status": "cleared", "store_id": store_id, "campaign": None}
    if not isinstance(cid, str) or not CAMPAIGN_ID.fullmatch(cid.upper()):
        raise BadInput(400, "bad_campaign_id", campaign=repr(cid)[:40])
    meta = await store.coupons.campaign(cid.upper())
    if meta is None:
        raise BadInput(404, "unknown_campaign", campaign=cid)
    if meta.get("owner") != store_id:
        raise BadInput(409, "not_this_store", campaign=meta["id"], owner=meta.get("owner"))
    status = await service.make_welcome(store, meta)
    view = service.view(await store.coupons.campaign(meta["id"]) or meta, config, time.time())
    if status == "not_live":
        raise BadInput(409, "stopped", campaign=view)
    return {"status": status, "store_id": store_id, "campaign": view}


async def redeem(req: ApiRequest) -> dict[str, Any]:
    """Body: {code, store_id, order_no, by?}. Idempotent on (code, order_no)."""
    store, config = req.store, req.config
    data = await req.json()
    code, order_no = data.get("code"), data.get("order_no")
    if not isinstance(code, str):
        raise BadInput(400, "empty")
    if not isinstance(order_no, str) or not order_no.strip() or len(order_no) > MAX_ORDER_NO:
        raise BadInput(400, "order_no_required")
    store_id = _store_id(req, data.get("store_id"))
    now = time.time()
    rep = await service.redeem(store, config, code, store_id=store_id, order_no=order_no.strip(),
                               by=str(data.get("by") or f"pos:{store_id}"), now=now)
    ctx = rep.context(config)
    body = {"code": rep.code, "display": ctx["display"], "campaign": rep.campaign}
    if rep.ok:
        return {"ok": True, "repeat": ctx["repeat"], "order_no": ctx["order_no"], "redeemed_at": ctx["redeemed_at"],
                **body}
    extra: dict = {}
    if rep.status == "already_redeemed":
        extra = {"order_no": ctx["order_no"], "redeemed_at": ctx["redeemed_at"],
                 "redeemed_store": rep.redemption.store if rep.redemption else ""}
    elif rep.status == "expired":
        extra = {"expires_at": ctx["expires_at"]}
    elif rep.status == "malformed":
        extra = {"bad_chars": rep.bad_chars}
    raise BadInput(_REDEEM_STATUS.get(rep.status, 400), rep.status, **body, **extra)


async def code_info(req: ApiRequest) -> dict[str, Any]:
    store = req.store
    code = normalize_code(req.path["code"])
    problem = code_problem(code)
    if problem is not None:
        raise BadInput(400, "bad_check" if problem == "bad_check" else "malformed", code=code)
    rec = await store.coupons.code_record(code)
    if rec is None:
        raise BadInput(404, "unknown", code=code)
    meta = await store.coupons.campaign(rec["campaign"])
    return {"code": code, "display": format_code(code), "record": rec,
            "campaign": service.view(meta, req.config, time.time()) if meta else None}


ROUTES = [
    ApiRoute("POST", "/api/coupons/campaigns", create_campaign),
    ApiRoute("GET", "/api/coupons/campaigns", list_campaigns),
    ApiRoute("POST", "/api/coupons/campaigns/{cid}/stop", stop_campaign),
    ApiRoute("POST", "/api/coupons/campaigns/{cid}/confirm", confirm_campaign),
    ApiRoute("GET", "/api/coupons/campaigns/{cid}/log", campaign_log),
    ApiRoute("GET", "/api/coupons/welcome", get_welcome),
    ApiRoute("POST", "/api/coupons/welcome", set_welcome),
    ApiRoute("POST", "/api/coupons/redeem", redeem),
    ApiRoute("GET", "/api/coupons/codes/{code}", code_info),
]
