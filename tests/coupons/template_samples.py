"""Sample contexts for templates/coupons/*, built the way the handlers build them."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Config, Store
from handlers.coupons.chat import LIMITS
from handlers.coupons.codes import format_code
from handlers.coupons.rules import parse_campaign, rule_label, to_record

_NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
_CFG = Config(stores=(Store("S01", "梅溪湖店"), Store("S02", "五一店")))


def _view(text: str, cid: str, state: str = "live", issued: int = 37, redeemed: int = 5, welcome: bool = False):
    from handlers.coupons.service import view
    spec = parse_campaign(text, _NOW)
    meta = {**to_record(spec), "rule": rule_label(spec), "id": cid, "owner": "S01", "state": state,
            "issued": str(issued), "redeemed": str(redeemed), "welcome": "1" if welcome else "0",
            "created_by": "xiaowang", "created_at": str(int(_NOW.timestamp()))}
    return view(meta, _CFG, _NOW.timestamp())


NEW = _view("新人券 满50减10 100张 每人1张 有效3天", "C12", welcome=True)
PCT = _view("周末券 满30享9折 最高减20 50张 有效至12-31 全部门店", "C13", issued=50)
ITEM = _view("单品 F001 立减8元 30张 12月31日前 门店 S01、S02", "C14", state="draft", issued=0, redeemed=0)
FREE = _view("无门槛5元 200张 每人2张 领取后7天有效", "C15", state="stopped")
EXP = int(_NOW.timestamp()) + 3 * 86400
CODE = "7KQ2MXRA" + "D"


def _item(c, code=CODE):
    return {"campaign": c, "code": code, "display": format_code(code), "expires_at": EXP}


SAMPLES = {
    "coupons/draft.txt.j2": [{"c": NEW, "minutes": 10}, {"c": PCT, "minutes": 10}, {"c": ITEM, "minutes": 10}],
    "coupons/parse_error.txt.j2": [
        {"problems": [{"code": "missing_total", "arg": ""}], "limits": LIMITS},
        {"problems": [{"code": "unknown_token", "arg": "满五十"}, {"code": "duplicate", "arg": "validity"},
                      {"code": "bad_percent", "arg": ""}, {"code": "unknown_store", "arg": "S09"},
                      {"code": "need_store", "arg": ""}, {"code": "bad_field", "arg": "kind"},
                      {"code": "bad_total", "arg": ""}, {"code": "something_new", "arg": ""}], "limits": LIMITS},
    ],
    "coupons/confirm.txt.j2": [{"status": s, "c": NEW} for s in ("live", "already", "stopped", "missing")],
    "coupons/list.txt.j2": [{"store": "梅溪湖店", "campaigns": [NEW, PCT, ITEM, FREE]},
                            {"store": "梅溪湖店", "campaigns": []}],
    "coupons/stop_preview.txt.j2": [{"c": FREE, "unredeemed": n, "minutes": 10} for n in (0, 3)],
    "coupons/stop.txt.j2": [{"status": "live", "c": FREE}, {"status": "already", "c": FREE}],
    "coupons/guide_problem.txt.j2": [
        {"problem": p, "arg": "C99", "example": "/券 S01"}
        for p in ("no_store", "need_store", "unknown_campaign", "not_yours", "not_yours_confirm", "not_yours_welcome",
                  "usage_stop", "usage_welcome", "x")],
    "coupons/claim.txt.j2": [
        {"issued": [_item(NEW)], "held": [], "refusals": []},
        {"issued": [_item(NEW)], "held": [_item(FREE)], "refusals": [{"campaign": PCT, "status": "sold_out"}]},
        {"issued": [], "held": [_item(NEW)], "refusals": []},
        {"issued": [], "held": [], "refusals": [{"campaign": PCT, "status": s}
                                                for s in ("sold_out", "ended", "not_new", "not_member", "x")]},
        {"issued": [], "held": [], "refusals": []},
    ],
    "coupons/my_codes.txt.j2": [
        {"codes": [{**_item(NEW), "state": s, "redeemed_at": None} for s in ("issued", "redeemed", "expired", "void")]},
        {"codes": []},
    ],
    "coupons/redeem.txt.j2": [
        {"status": s, "code": CODE, "display": format_code(CODE), "bad_chars": b, "campaign": c, "repeat": r,
         "order_no": "POS-20250615-0001", "redeemed_at": EXP - 86400, "redeemed_store": "梅溪湖店", "expires_at": EXP}
        for s, b, c, r in [("ok", "", NEW, False), ("ok", "", PCT, True), ("empty", "", None, False),
                           ("malformed", "0I", None, False), ("malformed", "", None, False),
                           ("bad_check", "", None, False), ("unknown", "", None, False),
                           ("expired", "", NEW, False), ("stopped", "", FREE, False), ("wrong_store", "", NEW, False),
                           ("wrong_store", "", ITEM, False), ("already_redeemed", "", NEW, False),
                           ("weird", "", None, False)]
    ],
    "coupons/reminder.txt.j2": [{"codes": [_item(NEW), _item(FREE)]}],
    "coupons/welcome.txt.j2": [{"issued": [_item(NEW)], "held": [], "refusals": []}],
    "coupons/staff_only_shoppers.txt.j2": [{}],
    "coupons/no_match.txt.j2": [{"asked": "满50减10", "offered": [NEW, PCT]}, {"asked": "9折", "offered": []}],
    "coupons/usage.txt.j2": [{"codes": [_item(NEW), _item(PCT)]}, {"codes": []}],
    "coupons/support.txt.j2": [
        {"codes": [{**_item(NEW), "state": s, "redeemed_at": None} for s in ("issued", "redeemed", "expired", "void")]},
        {"codes": []}],
    "coupons/proxy.txt.j2": [{}],
    "coupons/welcome_line.txt.j2": [{**_item(NEW), "name": "新人券", "rule": "满50减10", "new": n} for n in (True, False)],
    "coupons/welcome_set.txt.j2": [{"status": s, "c": NEW} for s in ("set", "pending", "cleared", "show", "not_live",
                                                                      "none")],
}
