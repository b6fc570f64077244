"""Admin API for coupons: campaigns (create, list, stop, confirm, log), the welcome coupon, redemption
for a POS, code lookup.

Thin adapters over handlers/coupons/service.py. Errors are JSON {"error": <machine code>, ...} with
distinct codes so a POS can branch on them: unknown (404), empty / malformed / bad_check (400),
expired / stopped / wrong_store / already_redeemed (409, the latter with the earlier order_no).
"""
from __future__ import annotations

import re
import time

from aiohttp import web

from bot.api import BadInput, error, read_json, reply, route
from bot.appkeys import CONFIG, STORE
from handlers.coupons import service
from handlers.coupons.codes import code_problem, format_code, normalize_code
from handlers.coupons.fields import spec_from_fields
from handlers.coupons.rules import CampaignError, parse_campaign

_CONTROL = {"text", "store_id", "by", "draft", "welcome"}
_REDEEM_STATUS = {"empty": 400, "malformed": 400, "bad_check": 400, "unknown": 404, "expired": 409,
                  "stopped": 409, "wrong_store": 409, "already_redeemed": 409}
MAX_ORDER_NO = 64
CAMPAIGN_ID = re.compile(r"C[0-9]{1,12}")  # ids are C + the counter (store/keys.py coupon_seq)


def _store_id(request: web.Request, given: object) -> str | web.Response:
    config = request.app[CONFIG]
    ids = [s.id for s in config.stores]
    if given is None or given == "":
        if len(ids) == 1:
            return ids[0]
        return error(400, "store_id_required")
    if not isinstance(given, str) or (ids and given not in ids):
        return error(400, "unknown_store", store_id=given[:40] if isinstance(given, str) else repr(given)[:40])
    return given


@route("POST", "/api/coupons/campaigns")
async def create_campaign(request: web.Request) -> web.Response:
    """Body: {"text": "新人券 满50减10 100张 有效3天"} or CampaignSpec fields; plus store_id, by,
    draft (default false: live at once) and welcome (make it the store's welcome coupon)."""
    store, config = request.app[STORE], request.app[CONFIG]
    data = await read_json(request)
    now = time.time()
    owner = _store_id(request, data.get("store_id"))
    if isinstance(owner, web.Response):
        return owner
    if "text" in data:
        if not isinstance(data["text"], str):
            return error(400, "invalid_campaign", problems=["bad_field:text"])
        spec = parse_campaign(data["text"], service.local(now, config), service.tz_of(config))
    else:
        spec = spec_from_fields({k: v for k, v in data.items() if k not in _CONTROL}, service.local(now, config),
                                service.tz_of(config))
    if isinstance(spec, CampaignError):
        return error(400, "invalid_campaign", problems=list(spec.codes))
    unknown = service.unknown_stores(config, spec)
    if unknown:
        return error(400, "invalid_campaign", problems=[f"unknown_store:{s}" for s in unknown])
    by = str(data.get("by") or "api")
    cid = await service.create_campaign(store, spec, owner=owner, by=by, now=now, welcome=bool(data.get("welcome")))
    if not data.get("draft"):
        await store.coupons.confirm(cid, by=by, now=now)
    meta = await store.coupons.campaign(cid)
    return reply({"campaign": service.view(meta or {}, config, now)}, status=201)


@route("GET", "/api/coupons/campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    store, config = request.app[STORE], request.app[CONFIG]
    now = time.time()
    store_id = request.query.get("store_id")
    if store_id:
        checked = _store_id(request, store_id)
        if isinstance(checked, web.Response):
            return checked
        views = await service.store_views(store, config, checked, now)
    else:
        seen: dict[str, dict] = {}
        for s in config.stores:
            for v in await service.store_views(store, config, s.id, now):
                seen.setdefault(v["id"], v)
        views = list(seen.values())
    return reply({"campaigns": views})


def _cid(request: web.Request) -> str:
    """The {cid} path segment as a campaign id (C12), or a 400."""
    cid = request.match_info["cid"].upper()
    if not CAMPAIGN_ID.fullmatch(cid):
        raise BadInput(400, "bad_campaign_id", campaign=cid[:40])
    return cid


async def _campaign_action(request: web.Request, action: str) -> web.Response:
    store, config = request.app[STORE], request.app[CONFIG]
    cid = _cid(request)
    now = time.time()
    if await store.coupons.campaign(cid) is None:
        return error(404, "unknown_campaign", campaign=cid)
    if action == "stop":
        status = await store.coupons.stop(cid, by="api", now=now)
    else:
        status = await store.coupons.confirm(cid, by="api", now=now)
    meta = await store.coupons.campaign(cid)
    return reply({"status": status, "campaign": service.view(meta or {}, config, now)})


@route("POST", "/api/coupons/campaigns/{cid}/stop")
async def stop_campaign(request: web.Request) -> web.Response:
    return await _campaign_action(request, "stop")


@route("POST", "/api/coupons/campaigns/{cid}/confirm")
async def confirm_campaign(request: web.Request) -> web.Response:
    return await _campaign_action(request, "confirm")


@route("GET", "/api/coupons/campaigns/{cid}/log")
async def campaign_log(request: web.Request) -> web.Response:
    """Every issue, redemption, go-live and stop of a campaign: who, when, which message or order."""
    store = request.app[STORE]
    cid = _cid(request)
    if await store.coupons.campaign(cid) is None:
        return error(404, "unknown_campaign", campaign=cid)
    return reply({"campaign": cid, "events": await store.coupons.events(cid, count=100_000)})


@route("GET", "/api/coupons/welcome")
async def get_welcome(request: web.Request) -> web.Response:
    """?store_id=S01 -> the store's welcome coupon campaign, or null."""
    store, config = request.app[STORE], request.app[CONFIG]
    store_id = _store_id(request, request.query.get("store_id"))
    if isinstance(store_id, web.Response):
        return store_id
    cid = await store.coupons.welcome_of(store_id)
    meta = await store.coupons.campaign(cid) if cid else None
    return reply({"store_id": store_id,
                              "campaign": service.view(meta, config, time.time()) if meta else None})


@route("POST", "/api/coupons/welcome")
async def set_welcome(request: web.Request) -> web.Response:
    """Body: {store_id, campaign: "C12" | null}. The campaign must belong to the store; a draft
    becomes the welcome coupon when confirmed ("pending"), a stopped one is refused (409)."""
    store, config = request.app[STORE], request.app[CONFIG]
    data = await read_json(request)
    store_id = _store_id(request, data.get("store_id"))
    if isinstance(store_id, web.Response):
        return store_id
    cid = data.get("campaign")
    if cid is None:
        await store.coupons.set_welcome(store_id, None)
        return reply({"status": "cleared", "store_id": store_id, "campaign": None})
    if not isinstance(cid, str) or not CAMPAIGN_ID.fullmatch(cid.upper()):
        return error(400, "bad_campaign_id", campaign=repr(cid)[:40])
    meta = await store.coupons.campaign(cid.upper())
    if meta is None:
        return error(404, "unknown_campaign", campaign=cid)
    if meta.get("owner") != store_id:
        return error(409, "not_this_store", campaign=meta["id"], owner=meta.get("owner"))
    status = await service.make_welcome(store, meta)
    view = service.view(await store.coupons.campaign(meta["id"]) or meta, config, time.time())
    if status == "not_live":
        return error(409, "stopped", campaign=view)
    return reply({"status": status, "store_id": store_id, "campaign": view})


@route("POST", "/api/coupons/redeem")
async def redeem(request: web.Request) -> web.Response:
    """Body: {code, store_id, order_no, by?}. Idempotent on (code, order_no)."""
    store, config = request.app[STORE], request.app[CONFIG]
    data = await read_json(request)
    code, order_no = data.get("code"), data.get("order_no")
    if not isinstance(code, str):
        return error(400, "empty")
    if not isinstance(order_no, str) or not order_no.strip() or len(order_no) > MAX_ORDER_NO:
        return error(400, "order_no_required")
    store_id = _store_id(request, data.get("store_id"))
    if isinstance(store_id, web.Response):
        return store_id
    now = time.time()
    rep = await service.redeem(store, config, code, store_id=store_id, order_no=order_no.strip(),
                               by=str(data.get("by") or f"pos:{store_id}"), now=now)
    ctx = rep.context(config)
    body = {"code": rep.code, "display": ctx["display"], "campaign": rep.campaign}
    if rep.ok:
        return reply({"ok": True, "repeat": ctx["repeat"], "order_no": ctx["order_no"],
                                  "redeemed_at": ctx["redeemed_at"], **body})
    extra: dict = {}
    if rep.status == "already_redeemed":
        extra = {"order_no": ctx["order_no"], "redeemed_at": ctx["redeemed_at"],
                 "redeemed_store": rep.redemption.store if rep.redemption else ""}
    elif rep.status == "expired":
        extra = {"expires_at": ctx["expires_at"]}
    elif rep.status == "malformed":
        extra = {"bad_chars": rep.bad_chars}
    return error(_REDEEM_STATUS.get(rep.status, 400), rep.status, **body, **extra)


@route("GET", "/api/coupons/codes/{code}")
async def code_info(request: web.Request) -> web.Response:
    store, config = request.app[STORE], request.app[CONFIG]
    code = normalize_code(request.match_info["code"])
    problem = code_problem(code)
    if problem is not None:
        return error(400, "bad_check" if problem == "bad_check" else "malformed", code=code)
    rec = await store.coupons.code_record(code)
    if rec is None:
        return error(404, "unknown", code=code)
    meta = await store.coupons.campaign(rec["campaign"])
    return reply({"code": code, "display": format_code(code), "record": rec,
                              "campaign": service.view(meta, config, time.time()) if meta else None})
