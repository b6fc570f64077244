"""Coupons in chat: guides create, confirm, list, stop and redeem; shoppers claim and list theirs.

Guide commands come through the app channel; shoppers through kf (Message.sender_kind == "customer").
Every state change is keyed by the inbound message id, so a redelivered message repeats its answer
instead of creating a second campaign or issuing a second code.
"""
from __future__ import annotations

import re
from typing import Any

from bot import staff
from bot.config import Config
from bot.limits import limits
from bot.message import Message, Reply
from bot.outbox import Emit
from bot.render import renderer
from bot.router import SKIP, Router
from bot.scheduler import Job
from handlers import confirm as confirming
from handlers.coupons import service
from handlers.coupons.codes import ALPHABET, new_code
from handlers.coupons.reminders import send_reminders
from handlers.coupons.rules import (
    MAX_NAME, MAX_NEW_MEMBER_DAYS, MAX_PER_PERSON, MAX_TOTAL, MAX_VALID_DAYS, CampaignError, parse_campaign,
)
from handlers.coupons.phrases import Ask, classify
from handlers.coupons.shopper import Shopper, shopper_of
from handlers.shoppers import Shoppers, kf_parts
from store import Store
from store.coupons import CONFIRM_WINDOW

router = Router(__name__, title="优惠券")
JOBS = [Job("coupon_reminders", "0 10 * * *")]  # the day before expiry, mid-morning

LIMITS = {"name": MAX_NAME, "total": MAX_TOTAL, "per_person": MAX_PER_PERSON, "valid_days": MAX_VALID_DAYS,
          "new_member_days": MAX_NEW_MEMBER_DAYS}
_WELCOME_FLAG = re.compile(r"(?:设为|作为|用作)欢迎券")
_CAMPAIGN_ID = re.compile(r"^[Cc]\d+$")
COUPON_LINE = r"券|[一两二俩\d]张"  # a cheap pre-filter; phrases.classify decides


def problems_of(err: CampaignError) -> list[dict[str, str]]:
    return [{"code": c.partition(":")[0], "arg": c.partition(":")[2]} for c in err.codes]


def _problem(problem: str, **ctx: Any) -> Reply:
    return Reply("coupons/guide_problem.txt.j2", problem=problem, arg=ctx.pop("arg", ""),
                 example=ctx.pop("example", ""), **ctx)


def _own_store(config: Config, msg: Message) -> str | None:
    return staff.home_store(config, msg.sender)


def _admin_store_arg(config: Config, args: str) -> tuple[str | None, str]:
    """An admin may put a store id first ('S01 ...'); returns (store id or None, rest)."""
    head, _, rest = args.strip().partition(" ")
    ids = {s.id.upper(): s.id for s in config.stores}
    if head.upper() in ids:
        return ids[head.upper()], rest.strip()
    return None, args


# -- guides ------------------------------------------------------------------------------------

@router.command("发券", roles=("guide",), strict=True)
async def create(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/发券 新人券 满50减10 100张 有效3天 — 建一张券，回复“确认”上线"""
    memo = await store.coupons.memo(msg.id)
    if memo and memo.startswith("create:"):  # redelivered: show the same draft again
        meta = await store.coupons.campaign(memo.removeprefix("create:"))
        if meta:
            return Reply("coupons/draft.txt.j2", c=service.view(meta, config, now), minutes=CONFIRM_WINDOW // 60)
    welcome = bool(_WELCOME_FLAG.search(args))
    text = _WELCOME_FLAG.sub(" ", args)
    parsed = parse_campaign(text, service.local(now, config), service.tz_of(config))
    # [limits] max_quantity may lower the parser's built-in ceiling on a campaign's size
    most = min(MAX_TOTAL, limits(config).max_quantity)
    shown = {**LIMITS, "total": most}
    if isinstance(parsed, CampaignError):
        return Reply("coupons/parse_error.txt.j2", problems=problems_of(parsed), limits=shown)
    if parsed.total > most:
        return Reply("coupons/parse_error.txt.j2", problems=[{"code": "bad_total", "arg": ""}], limits=shown)
    unknown = service.unknown_stores(config, parsed)
    if unknown:
        return Reply("coupons/parse_error.txt.j2", problems=[{"code": "unknown_store", "arg": s} for s in unknown],
                     limits=shown)
    owner = _own_store(config, msg)
    if owner is None and isinstance(parsed.stores, tuple):
        owner = parsed.stores[0]  # an admin without a store of their own names it: 门店 S01
    if owner is None:
        return _problem("need_store" if role == "admin" else "no_store",
                        example="/发券 门店 S01 新人券 满50减10 100张 有效3天")
    cid = await service.create_campaign(store, parsed, owner=owner, by=msg.sender, now=now, welcome=welcome)
    cid = (await store.coupons.remember(msg.id, f"create:{cid}")).removeprefix("create:")
    await store.coupons.set_draft(msg.sender, cid)
    meta = await store.coupons.campaign(cid)
    await confirming.offer_draft(store, config, msg, cid, feature="coupons", action="create", ttl=CONFIRM_WINDOW, now=now,
                           label=(meta or {}).get("name", ""), cid=cid)
    return Reply("coupons/draft.txt.j2", c=service.view(meta or {}, config, now), minutes=CONFIRM_WINDOW // 60)


@router.command("确认", "确定", roles=("guide",))
async def confirm(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> object:
    """确认 [C12] — 让刚建好的券上线，或执行 /停券"""
    memo = await store.coupons.memo(msg.id)
    if memo and memo.startswith("stop:"):
        return await _stopped(msg, memo.removeprefix("stop:"), store, config, now)
    if memo and memo.startswith("confirm:"):
        cid = memo.removeprefix("confirm:")
    else:
        offer = await confirming.meant(store, msg, "coupons")  # handlers/confirm.py decided what it means
        if offer is not None and offer["action"] == "stop":
            await store.coupons.remember(msg.id, f"stop:{offer['cid']}")
            return await _stopped(msg, offer["cid"], store, config, now)
        if offer is not None:
            cid = offer["cid"]
        else:
            named = args.strip().upper()
            if not _CAMPAIGN_ID.match(named):
                return SKIP  # not a coupon's 确认
            meta = await store.coupons.campaign(named)
            if meta is None:
                return _problem("unknown_campaign", arg=named)
            if role != "admin" and meta.get("owner") != _own_store(config, msg) and meta.get("created_by") != msg.sender:
                return _problem("not_yours_confirm", arg=named)
            cid = named
        cid = (await store.coupons.remember(msg.id, f"confirm:{cid}")).removeprefix("confirm:")
    status = await store.coupons.confirm(cid, by=msg.sender, now=now)
    if await store.coupons.draft(msg.sender) == cid:
        await store.coupons.clear_draft(msg.sender)
    await store.confirmations.withdraw(msg.sender, cid)
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


@router.command("停券", roles=("guide",), strict=True)
async def stop(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/停券 C12 — 停发一张券，没核销的券作废（回复确认后执行）"""
    cid = args.strip().upper()
    if not _CAMPAIGN_ID.match(cid):
        return _problem("usage_stop")
    meta = await store.coupons.campaign(cid)
    if meta is None:
        return _problem("unknown_campaign", arg=cid)
    if role != "admin" and meta.get("owner") != _own_store(config, msg):
        return _problem("not_yours", arg=cid)
    c = service.view(meta, config, now)
    if meta.get("state") == "stopped":
        return Reply("coupons/stop.txt.j2", status="already", c=c)
    await confirming.offer_draft(store, config, msg, cid, feature="coupons", action="stop", ttl=CONFIRM_WINDOW, now=now,
                           label=c["name"], cid=cid)
    holders = c["issued"] - c["redeemed"]
    return Reply("coupons/stop_preview.txt.j2", c=c, unredeemed=max(holders, 0), minutes=CONFIRM_WINDOW // 60)


async def _stopped(msg: Message, cid: str, store: Store, config: Config, now: float) -> Reply:
    """A confirmed /停券 (or its redelivery: stopping twice answers "already")."""
    status = await store.coupons.stop(cid, by=msg.sender, now=now)
    await store.confirmations.withdraw(msg.sender, cid)
    meta = await store.coupons.campaign(cid)
    return Reply("coupons/stop.txt.j2", status=status,
                 c=service.view(meta or {"id": cid}, config, now))


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


@router.command("欢迎券", roles=("guide",), strict=True)
async def welcome(msg: Message, args: str, store: Store, config: Config, role: str, now: float) -> Reply:
    """/欢迎券 C12 — 设为新顾客的欢迎券"""
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
        return _problem("not_yours_welcome", arg=arg)
    status = await service.make_welcome(store, meta)
    return Reply("coupons/welcome_set.txt.j2", status=status, c=service.view(meta, config, now))


# -- shoppers ----------------------------------------------------------------------------------

@router.text(COUPON_LINE, roles=("guide", "buyer"))
async def staff_line(msg: Message) -> object:
    # Staff asking for a coupon get pointed at /券; kept apart so guides' 帮助 lists no shopper phrases.
    return SKIP if classify(msg.text) is None else Reply("coupons/staff_only_shoppers.txt.j2")


@router.text(COUPON_LINE, roles=("shopper",))
async def shopper_line(msg: Message, store: Store, config: Config, shoppers: Shoppers, emit: Emit,
                       now: float) -> object:
    """领券 / 新人券 — 领本店的优惠券；我的券 — 看领过的券"""
    ask = classify(msg.text)
    if ask is None:
        return SKIP
    if msg.sender_kind != "customer":
        return Reply("coupons/staff_only_shoppers.txt.j2")  # an admin, or staff outside the roles
    shopper = await shopper_of(msg, shoppers)
    if shopper is None:
        return SKIP  # a customer outside kf (e.g. a group record): nowhere to answer
    if ask.intent == "claim":
        return await _claim(msg, ask, shopper, store, config, now)
    await store.coupons.touch_seen(shopper.id, shopper.target, now)
    await _greet_new_member(msg, shopper, store, config, emit, now)
    if ask.intent == "proxy":
        return Reply("coupons/proxy.txt.j2")
    codes = await service.my_codes(store, config, shopper.id, now)
    if ask.intent == "usage":
        return Reply("coupons/usage.txt.j2", codes=[c for c in codes if c["state"] == "issued"])
    if ask.intent == "support":
        return Reply("coupons/support.txt.j2", codes=codes)
    return Reply("coupons/my_codes.txt.j2", codes=codes)


async def _claim(msg: Message, ask: Ask, shopper: Shopper, store: Store, config: Config, now: float) -> Reply:
    if shopper.store_id is None:
        await store.coupons.touch_seen(shopper.id, shopper.target, now)
        live, welcome_cid = [], None
    else:
        live, welcome_cid = await store.coupons.claim_inputs(shopper.store_id, shopper.id, shopper.target, now,
                                                             new_code=new_code)
    try:
        return await _claim_live(msg, ask, shopper, store, config, now, live, welcome_cid)
    finally:
        await store.coupons.release_unclaimed(shopper.id)  # a code reserved ahead that no claim took


async def _claim_live(msg: Message, ask: Ask, shopper: Shopper, store: Store, config: Config, now: float,
                      live: list[str], welcome_cid: str | None) -> Reply:
    if ask.hint is not None and live:
        statics = await service.campaign_statics(store, config, live)
        offered = [statics[c] for c in live if c in statics]
        matching = [c["id"] for c in offered if ask.hint.matches(c)]
        if not matching:  # "还有满50减10的券吗" and there is none: say so, issue nothing unasked
            return Reply("coupons/no_match.txt.j2", asked=ask.hint.label(), offered=offered)
        live = matching
    # A redelivered 领券 always claims again ("again" files the code anew), so filing may wait for the ack.
    report = await service.claim(store, config, shopper, msg_id=msg.id, now=now, only_new=ask.new_only, cids=live,
                                 defer=True)
    if welcome_cid and any(c.campaign == welcome_cid and c.codes for c in report.claims):
        await store.coupons.decide_greeting(shopper.store_id, shopper.id)  # type: ignore[arg-type]
    return Reply("coupons/claim.txt.j2", **report.context())


async def _greet_new_member(msg: Message, shopper: Shopper, store: Store, config: Config, emit: Emit,
                            now: float) -> None:
    """A new group member's first words to the bot bring the store's welcome coupon, sent on its own."""
    report = await service.first_talk_grant(store, config, shopper, msg_id=msg.id, now=now)
    if report is not None:
        await emit(msg, [Reply("coupons/welcome.txt.j2", **report.context())], tag="!coupon-welcome")
        await store.coupons.decide_greeting(shopper.store_id, shopper.id)  # type: ignore[arg-type]


@router.any_text()
async def first_talk(msg: Message, store: Store, config: Config, shoppers: Shoppers, emit: Emit,
                     now: float) -> object:
    # Not a coupon line: note when a kf shopper last wrote (reminders need the 48 h window) and give a
    # new group member the welcome coupon the first time they talk; the message goes on to others.
    kf = kf_parts(msg)
    if kf is None or msg.sender_kind != "customer":
        return SKIP
    await store.coupons.touch_seen(kf[1], f"{kf[0]}:{kf[1]}", now)
    if not await store.coupons.any_welcome():
        return SKIP  # the common case costs one write and one read
    shopper = await shopper_of(msg, shoppers)
    if shopper is not None:
        await _greet_new_member(msg, shopper, store, config, emit, now)
    return SKIP


def welcome_extra(store: Store, config: Config):
    """Hook for the new-contact welcome (`shoppers.add_welcome_extra(welcome_extra(store, config))`):
    (store_id, external_userid, guide) -> a line carrying a welcome-coupon code, or None."""
    async def line(store_id: str, external_userid: str, guide: str) -> str | None:
        got = await service.welcome_code_for(store, config, store_id, external_userid,
                                             msg_id=f"contact:{store_id}:{external_userid}")
        return renderer(config)(Reply("coupons/welcome_line.txt.j2", **got)) if got else None
    return line


@router.schedule("coupon_reminders")
async def reminders(msg: Message, store: Store, config: Config, emit: Emit, now: float) -> None:
    await send_reminders(store, config, emit, msg, now=float(msg.time or now))
    # The daily pass also forgets codes past expiry + grace (store/keys.py coupon_code_index).
    await store.coupons.prune_code_index(float(msg.time or now), ALPHABET)
