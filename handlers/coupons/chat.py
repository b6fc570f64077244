"""Coupons in chat: guides create, confirm, list, stop and redeem; shoppers claim and list theirs.

Guide commands come through the app channel; shoppers through kf (Message.sender_kind == "customer").
Every state change is keyed by the inbound message id, so a redelivered message repeats its answer
instead of creating a second campaign or issuing a second code.
"""
from __future__ import annotations

import re
from typing import Any

from bot.config import Config
from bot.message import Message, Reply
from bot.render import render
from bot.router import SKIP, Router
from bot.scheduler import Job
from handlers.coupons import service
from handlers.coupons.reminders import send_reminders
from handlers.coupons.rules import (
    MAX_NAME, MAX_NEW_MEMBER_DAYS, MAX_PER_PERSON, MAX_TOTAL, MAX_VALID_DAYS, CampaignError, parse_campaign,
)
from handlers.coupons.shopper import Shopper, kf_parts, shopper_of
from store import Store
from store.coupons import CONFIRM_WINDOW

router = Router(__name__)
JOBS = [Job("coupon_reminders", "0 10 * * *")]  # the day before expiry, mid-morning

LIMITS = {"name": MAX_NAME, "total": MAX_TOTAL, "per_person": MAX_PER_PERSON, "valid_days": MAX_VALID_DAYS,
          "new_member_days": MAX_NEW_MEMBER_DAYS}
_WELCOME_FLAG = re.compile(r"(?:设为|作为|用作)欢迎券")
_CAMPAIGN_ID = re.compile(r"^[Cc]\d+$")
_POLITE_END = r"[啦了吗嘛呀呢哦!！?？。.~～\s]*$"
CLAIM_TEXT = (rf"^\s*(?:我要|我想|想|给我|帮我)?(?P<what>领券|抢券|领优惠券|抢优惠券|有券吗|有没有券|有优惠券吗|"
              rf"领新人券|新人券|优惠券|券){_POLITE_END}")
MINE_TEXT = rf"^\s*(?:我的券|我的优惠券|查券|查我的券){_POLITE_END}"


def problems_of(err: CampaignError) -> list[dict[str, str]]:
    return [{"code": c.partition(":")[0], "arg": c.partition(":")[2]} for c in err.codes]


def _problem(problem: str, **ctx: Any) -> Reply:
    return Reply("coupons/guide_problem.txt.j2", problem=problem, arg=ctx.pop("arg", ""),
                 example=ctx.pop("example", ""), **ctx)


def _own_store(config: Config, msg: Message) -> str | None:
    return service.guide_store(config, msg.sender)


def _admin_store_arg(config: Config, args: str) -> tuple[str | None, str]:
    """An admin may put a store id first ('S01 ...'); returns (store id or None, rest)."""
    head, _, rest = args.strip().partition(" ")
    ids = {s.id.upper(): s.id for s in config.stores}
    if head.upper() in ids:
        return ids[head.upper()], rest.strip()
    return None, args


# -- guides ------------------------------------------------------------------------------------

@router.command("发券", roles=("guide",))
async def create(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/发券 新人券 满50减10 100张 每人1张 有效3天 — 新建一张券（回复“确认”后上线）"""
    memo = await store.coupons.memo(msg.id)
    if memo and memo.startswith("create:"):  # redelivered: show the same draft again
        meta = await store.coupons.campaign(memo.removeprefix("create:"))
        if meta:
            return Reply("coupons/draft.txt.j2", c=service.view(meta, config, now), minutes=CONFIRM_WINDOW // 60)
    welcome = bool(_WELCOME_FLAG.search(args))
    text = _WELCOME_FLAG.sub(" ", args)
    parsed = parse_campaign(text, service.local(now, config), service.tz_of(config))
    if isinstance(parsed, CampaignError):
        return Reply("coupons/parse_error.txt.j2", problems=problems_of(parsed), limits=LIMITS)
    unknown = service.unknown_stores(config, parsed)
    if unknown:
        return Reply("coupons/parse_error.txt.j2", problems=[{"code": "unknown_store", "arg": s} for s in unknown],
                     limits=LIMITS)
    owner = _own_store(config, msg)
    if owner is None and isinstance(parsed.stores, tuple):
        owner = parsed.stores[0]  # an admin without a store of their own names it: 门店 S01
    if owner is None:
        return _problem("need_store" if role == "admin" else "no_store",
                        example="/发券 门店 S01 新人券 满50减10 100张 有效3天")
    cid = await service.create_campaign(store, parsed, owner=owner, by=msg.sender, now=now, welcome=welcome)
    cid = (await store.coupons.remember(msg.id, f"create:{cid}")).removeprefix("create:")
    await store.coupons.set_draft(msg.sender, cid)
    await store.expect_confirm(msg.sender, "coupons", CONFIRM_WINDOW)
    meta = await store.coupons.campaign(cid)
    return Reply("coupons/draft.txt.j2", c=service.view(meta or {}, config, now), minutes=CONFIRM_WINDOW // 60)


@router.command("确认", "确定", roles=("guide",))
async def confirm(msg: Message, args: str, store: Store, config: Config, now: float) -> Reply | object:
    """确认 — 让刚建好的券上线"""
    memo = await store.coupons.memo(msg.id)
    if memo and memo.startswith("confirm:"):
        cid = memo.removeprefix("confirm:")
    else:
        cid = await store.coupons.draft(msg.sender)
        named = args.strip().upper()
        if cid is None or (named and named != cid) or (not named and not await store.confirm_is_for(msg.sender, "coupons")):
            return SKIP  # nothing of ours pending, or another feature's draft is newer: its 确认
        await store.coupons.remember(msg.id, f"confirm:{cid}")
    status = await store.coupons.confirm(cid, by=msg.sender, now=now)
    await store.coupons.clear_draft(msg.sender)
    meta = await store.coupons.campaign(cid)
    if meta is None:
        status = "missing"
    return Reply("coupons/confirm.txt.j2", status="live" if memo and status == "already" else status,
                 c=service.view(meta, config, now) if meta else {})


@router.command("券", "券列表", roles=("guide",))
async def list_campaigns(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/券 — 本店的券：已领、已核销、剩余"""
    store_id = _own_store(config, msg)
    if role == "admin":
        store_id = _admin_store_arg(config, args)[0] or store_id
    if store_id is None:
        return _problem("need_store" if role == "admin" else "no_store", example="/券 S01")
    views = await service.store_views(store, config, store_id, now)
    return Reply("coupons/list.txt.j2", store=service.store_name(config, store_id), campaigns=views)


@router.command("停券", roles=("guide",))
async def stop(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/停券 C12 — 停发一张券，没核销的券作废"""
    cid = args.strip().upper()
    if not _CAMPAIGN_ID.match(cid):
        return _problem("usage_stop")
    meta = await store.coupons.campaign(cid)
    if meta is None:
        return _problem("unknown_campaign", arg=cid)
    if role != "admin" and meta.get("owner") != _own_store(config, msg):
        return _problem("not_yours", arg=cid)
    status = await store.coupons.stop(cid, by=msg.sender, now=now)
    meta = await store.coupons.campaign(cid) or meta
    return Reply("coupons/stop.txt.j2", status=status, c=service.view(meta, config, now))


@router.command("核销", roles=("guide",))
async def redeem(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/核销 券码 [单号] — 核销顾客的券"""
    store_id = _own_store(config, msg)
    if role == "admin":
        named, args = _admin_store_arg(config, args)
        store_id = named or store_id
    if store_id is None:
        return _problem("need_store" if role == "admin" else "no_store", example="/核销 S01 ABCD-EFGH-J")
    code, order_no = service.split_code_and_order(args)
    # Without an order number the chat message itself is the order: a redelivery is idempotent.
    rep = await service.redeem(store, config, code, store_id=store_id, order_no=order_no or f"chat:{msg.id}",
                               by=msg.sender, now=now)
    ctx = rep.context(config)
    if ctx["order_no"].startswith("chat:"):
        ctx["order_no"] = ""
    return Reply("coupons/redeem.txt.j2", **ctx)


@router.command("欢迎券", roles=("guide",))
async def welcome(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/欢迎券 C12 — 设为新顾客欢迎券（/欢迎券 取消）"""
    store_id = _own_store(config, msg)
    if role == "admin":
        named, args = _admin_store_arg(config, args)
        store_id = named or store_id
    if store_id is None:
        return _problem("need_store" if role == "admin" else "no_store", example="/欢迎券 S01 C12")
    arg = args.strip().upper()
    if arg in ("取消", "关", "关闭", "OFF"):
        await store.coupons.set_welcome(store_id, None)
        return Reply("coupons/welcome_set.txt.j2", status="cleared", c={})
    if not arg:
        cid = await store.coupons.welcome_of(store_id)
        meta = await store.coupons.campaign(cid) if cid else None
        return Reply("coupons/welcome_set.txt.j2", status="show" if meta else "none",
                     c=service.view(meta, config, now) if meta else {})
    if not _CAMPAIGN_ID.match(arg):
        return _problem("usage_welcome")
    meta = await store.coupons.campaign(arg)
    if meta is None:
        return _problem("unknown_campaign", arg=arg)
    if role != "admin" and meta.get("owner") != store_id:
        return _problem("not_yours", arg=arg)
    c = service.view(meta, config, now)
    if meta.get("state") == "stopped":
        return Reply("coupons/welcome_set.txt.j2", status="not_live", c=c)
    if meta.get("state") == "draft":
        await store.coupons.mark_welcome(arg)
        return Reply("coupons/welcome_set.txt.j2", status="pending", c=c)
    await store.coupons.set_welcome(meta["owner"], arg)
    return Reply("coupons/welcome_set.txt.j2", status="set", c=c)


# -- shoppers ----------------------------------------------------------------------------------

def _deps(worker: Any, config: Config, api: Any) -> dict[str, Any]:
    # The shopper context (issue 3) is an optional dependency: read it from the worker's deps so
    # these handlers also run where it is not wired.
    return {"config": config, "api": api, "shoppers": getattr(worker, "deps", {}).get("shoppers")}


async def _shopper_or_staff(msg: Message, deps: dict[str, Any]) -> Shopper | Reply:
    shopper = await shopper_of(msg, deps)
    return shopper if shopper is not None else Reply("coupons/staff_only_shoppers.txt.j2")


@router.text(CLAIM_TEXT)
async def claim(msg: Message, match: Any, store: Store, config: Config, api: Any, worker: Any, now: float) -> Reply:
    """领券 — 领本店的优惠券"""
    shopper = await _shopper_or_staff(msg, _deps(worker, config, api))
    if isinstance(shopper, Reply):
        return shopper
    if shopper.store_id is None:
        await store.coupons.touch_seen(shopper.id, shopper.target, now)
        live, welcome_cid = [], None
    else:
        live, welcome_cid = await store.coupons.claim_inputs(shopper.store_id, shopper.id, shopper.target, now)
    report = await service.claim(store, config, shopper, msg_id=msg.id, now=now, only_new="新人" in match["what"],
                                 cids=live)
    if welcome_cid and any(c.campaign == welcome_cid and c.codes for c in report.claims):
        await store.coupons.decide_greeting(shopper.store_id, shopper.id)  # type: ignore[arg-type]
    return Reply("coupons/claim.txt.j2", **report.context())


@router.text(MINE_TEXT)
async def mine(msg: Message, store: Store, config: Config, api: Any, worker: Any, now: float) -> Reply:
    """我的券 — 看我领过的券"""
    shopper = await _shopper_or_staff(msg, _deps(worker, config, api))
    if isinstance(shopper, Reply):
        return shopper
    await store.coupons.touch_seen(shopper.id, shopper.target, now)
    return Reply("coupons/my_codes.txt.j2", codes=await service.my_codes(store, config, shopper.id, now))


@router.any_text()
async def first_talk(msg: Message, store: Store, config: Config, api: Any, worker: Any, now: float) -> object:
    # Not a command: note when a kf shopper last wrote (reminders need the 48 h window) and give a new
    # group member the welcome coupon the first time they talk; the message itself goes on to others.
    kf = kf_parts(msg)
    if kf is None or msg.sender_kind != "customer":
        return SKIP
    await store.coupons.touch_seen(kf[1], f"{kf[0]}:{kf[1]}", now)
    if not await store.coupons.any_welcome():
        return SKIP  # the common case costs one write and one read
    shopper = await shopper_of(msg, _deps(worker, config, api))
    if shopper is None:
        return SKIP
    report = await service.first_talk_grant(store, config, shopper, msg_id=msg.id, now=now)
    if report is not None:
        await worker.emit(msg, [Reply("coupons/welcome.txt.j2", **report.context())], tag="!coupon-welcome")
        await store.coupons.decide_greeting(shopper.store_id, shopper.id)  # type: ignore[arg-type]
    return SKIP


def welcome_extra(store: Store, config: Config):
    """Hook for the new-contact welcome (issue 3: `shoppers.add_welcome_extra(welcome_extra(store, config))`):
    (store_id, external_userid, guide) -> a line carrying a welcome-coupon code, or None."""
    async def line(store_id: str, external_userid: str, guide: str) -> str | None:
        got = await service.welcome_code_for(store, config, store_id, external_userid,
                                             msg_id=f"contact:{store_id}:{external_userid}")
        return render(Reply("coupons/welcome_line.txt.j2", **got)) if got else None
    return line


@router.schedule("coupon_reminders")
async def reminders(msg: Message, store: Store, config: Config, worker: Any, now: float) -> None:
    await send_reminders(store, config, worker, msg, now=float(msg.time or now))
