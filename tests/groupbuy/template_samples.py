"""Sample contexts for templates/groupbuy/ (collected by tests/test_templates.py)."""
G = {"id": 12, "product": "丹东99草莓", "unit": "盒", "price_fen": 3690, "bundle_qty": 2, "bundle_price_fen": 6900,
     "list_price_fen": 3990, "spec": "500g/盒", "cap": 200, "per_person": 4, "min_to_form": 20,
     "cutoff": 1_763_900_000, "pickup": "周六10-12点服务台", "status": "open", "result": "", "total": 86,
     "waiting": 0, "shortfall": 0, "kf_link": "https://work.weixin.qq.com/kf/wkS01?enc_scene=ENCgb12", "sku": "F001"}
G_FREE = {**G, "product": "农家土鸡蛋", "unit": "份", "bundle_qty": 0, "bundle_price_fen": 0, "list_price_fen": 0,
          "spec": "", "cap": 0, "per_person": 0, "min_to_form": 0, "kf_link": "", "sku": ""}
LIMITS = {"max_price_yuan": 100000, "max_quantity": 100000, "max_per_person": 1000}
G_CLOSED = {**G, "status": "closed", "result": "formed", "waiting": 3}
G_FAILED = {**G, "status": "closed", "result": "failed", "total": 12, "shortfall": 8}
L = {"no": 17, "name": "王姐", "who": "", "qty": 2, "tag": "3栋502", "status": "active", "pos": 0,
     "amount_fen": 6900}
L_MOM = {**L, "no": 18, "who": "我妈", "qty": 1, "name": "王姐（我妈）", "amount_fen": 3690}
L_WAIT = {**L, "no": 230, "status": "waiting", "pos": 2}


def r(code, **kw):
    base = {"code": code, "g": G, "line": L, "mine": [L], "gone": [], "total": 86, "cap": 200, "allowed": 0,
            "room": 0, "entry": 0}
    return {**base, **kw}


RECEIPTS = [r("joined"), r("waiting", line=L_WAIT, mine=[L_WAIT]), r("exists", mine=[L, L_MOM]), r("changed"),
            r("unchanged"), r("cancelled", gone=[17], mine=[]), r("cancelled", gone=[18], mine=[L]),
            r("limit", allowed=1), r("limit", allowed=0), r("full", room=3), r("full", room=0),
            r("no_line", mine=[]), r("no_line", entry=5, mine=[]), r("not_yours", entry=5),
            r("ambiguous", mine=[L, L_MOM]), r("cutoff"), r("gb_closed", mine=[]), r("gb_cancelled"),
            r("bad_qty"), r("joined", g=G_FREE, cap=0), r("joined", line=L_MOM, mine=[L, L_MOM]),
            r("waiting", line=L_WAIT, mine=[L, L_WAIT])]

SAMPLES = {
    "groupbuy/receipt.txt.j2": [{"items": [x]} for x in RECEIPTS] + [{"items": RECEIPTS[:2]}],
    "groupbuy/promoted.txt.j2": [{"g": G, "line": L}, {"g": G, "line": {**L, "name": ""}}],
    "groupbuy/mine.txt.j2": [{"items": [{"g": G, "mine": [L, L_MOM]}, {"g": G_CLOSED, "mine": [L]}], "open": True},
                             {"items": [{"g": G_FAILED, "mine": [L]}], "open": False},
                             {"items": [], "open": True}, {"items": [], "open": False}],
    "groupbuy/cutoff_info.txt.j2": [{"groups": [{**G, "past": False}, {**G_FREE, "past": False, "shortfall": 5,
                                                                         "min_to_form": 30}]},
                                    {"groups": [{**G, "past": True}, {**G_CLOSED, "past": True},
                                                {**G_FAILED, "past": True}, {**G, "status": "cancelled",
                                                                             "past": False}]}],
    "groupbuy/pickup_info.txt.j2": [{"groups": [G, G_CLOSED], "tag": "3栋502"}, {"groups": [G_FAILED], "tag": ""}],
    "groupbuy/ask_which.txt.j2": [{"groups": [G, G_FREE]}],
    "groupbuy/ask_unit.txt.j2": [{"product": "丹东99草莓", "unit": "盒", "written": w, "reason": why}
                                 for w, why in (("半盒", "fraction"), ("3", "no_unit"), ("2斤", "unit_mismatch"),
                                                 ("1000", "too_many"))],
    "groupbuy/no_open.txt.j2": [{}],
    "groupbuy/ask_price_unit.txt.j2": [{"product": "丹东99草莓", "price_fen": 19800, "unit": "份", "catalog_unit": "盒"}],
    "groupbuy/bare_price.txt.j2": [{"price_fen": 3690, "draft": "", "unit": "份"},
                                   {"price_fen": 3690, "draft": "丹东99草莓", "unit": "盒"}],
    "groupbuy/paste_nothing.txt.j2": [{"product": "丹东99草莓", "unit": "盒", "mine": [L]},
                                      {"product": "丹东99草莓", "unit": "盒", "mine": []}],
    "groupbuy/draft.txt.j2": [{"g": G, "notes": ["不成团原路退"]}, {"g": G_FREE, "notes": []}],
    "groupbuy/open_error.txt.j2": [{"codes": ["missing_title", "missing_price", "bad_price", "missing_cutoff",
                                              "bad_cutoff", "cutoff_past", "missing_pickup", "bad_cap", "bad_limit",
                                              "bad_min", "limit_over_cap", "min_over_cap", "unit_conflict",
                                              "pickup_before_cutoff", "price_too_high", "cap_too_high",
                                              "min_too_high", "limit_too_high", "something_new"],
                                    "limits": LIMITS,
                                    "draft": {"cutoff": 1_763_900_000, "cap": 10, "per_person_limit": 20,
                                              "min_to_form": 30, "pickup": "12月6日 周六 下午", "price_fen": 3690,
                                              "unit": "盒", "units": ["盒", "箱"]}},
                                   {"codes": ["cutoff_past"], "limits": LIMITS,
                                    "draft": {"cutoff": 0, "cap": 0, "per_person_limit": 0, "min_to_form": 0,
                                              "pickup": "", "price_fen": 0, "unit": "", "units": []}}],
    "groupbuy/opened.txt.j2": [{"g": G, "post": p, "earlier_at": at, "earlier_head": head}
                               for p, at, head in (("paste", 0, ""), ("posted", 0, ""), ("no_groups", 0, ""),
                                                   ("used_today", 1_763_900_000, "【接龙团购】丹东99草莓团"),
                                                   ("used_today", 0, ""))]
                              + [{"g": G, "post": "used_today", "earlier_at": 1_763_900_000, "earlier_head": "x",
                                  "quota": q} for q in ("month", "week", "day")],
    "groupbuy/announce.txt.j2": [{"g": G, "store_name": "梅溪湖店", "card": False},
                                 {"g": G_FREE, "store_name": "", "card": False},
                                 {"g": G, "store_name": "梅溪湖店", "card": True}],
    "groupbuy/overview.txt.j2": [{"groups": [{**G, "waiting": 4}, {**G_FREE, "min_to_form": 10, "shortfall": 4}]},
                                 {"groups": []}],
    "groupbuy/roster.txt.j2": [{"g": G, "lines": [L, {**L_MOM, "status": "collected"}], "waiting": [L_WAIT],
                                "amount_fen": 10590, "collected": 1},
                               {"g": G_FAILED, "lines": [], "waiting": [], "amount_fen": 0, "collected": 0},
                               {"g": {**G, "status": "cancelled"}, "lines": [L], "waiting": [], "amount_fen": 6900,
                                "collected": 0}],
    "groupbuy/proxy.txt.j2": [{**r(code, room=room, allowed=1, gone=[18]), "name": "李阿姨"}
                              for code, room in (("joined", 0), ("waiting", 0), ("cancelled", 0), ("limit", 0),
                                                 ("full", 2), ("full", 0), ("no_line", 0), ("cutoff", 0),
                                                 ("gb_cancelled", 0), ("weird", 0))]
                             + [{**r("waiting", line=L_WAIT), "name": "李阿姨"}],
    "groupbuy/result_guide.txt.j2": [{"g": G_CLOSED, "people": 40, "amount_fen": 317340, "reached": 38},
                                     {"g": G_FAILED, "people": 6, "amount_fen": 44280, "reached": 5}],
    "groupbuy/result_shopper.txt.j2": [{"g": G_CLOSED, "got": [L, L_MOM], "waiting": [], "amount_fen": 10590,
                                        "tag": "3栋502"},
                                       {"g": G_CLOSED, "got": [], "waiting": [L_WAIT], "amount_fen": 0, "tag": ""},
                                       {"g": G_FAILED, "got": [L], "waiting": [], "amount_fen": 6900, "tag": ""}],
    "groupbuy/group_cancelled.txt.j2": [{"g": G}],
    "groupbuy/close_preview.txt.j2": [
        {"g": G, "action": a, "formed": f, "reached": 5, "getting": 4, "waiting": w, "phoned": p, "shortfall": 8,
         "minutes": 10} for a in ("close", "cancel") for f in (True, False) for w in (0, 1) for p in (0, 2)],
    "groupbuy/guide_done.txt.j2": [{"what": w, "g": G_CLOSED, "gid": 12, "reached": 3}
                                   for w in ("cancelled_now", "closed_now", "gb_closed", "gb_cancelled", "other")]
                                  + [{"what": w, "g": None, "gid": 99} for w in ("not_found", "not_yours")],
    "groupbuy/collect.txt.j2": [{"code": c, "g": G_CLOSED, "ref": ref, "lines": [L, L_MOM], "already": [19]}
                                for c, ref in (("collected", "3栋502"), ("already", "17号"), ("not_closed", ""),
                                               ("failed", ""), ("not_active", ""), ("no_line", "9号"),
                                               ("no_line", ""))]
                               + [{"code": "collected", "g": G_CLOSED, "ref": "17号", "lines": [L], "already": []}],
    "groupbuy/usage.txt.j2": [{"command": c} for c in ("开团", "代报", "提货", "结团")],
    "groupbuy/heard.txt.j2": [
        {"group": "梅溪湖1群", "name": "王姐", "excerpt": "+2 3栋502", "items": RECEIPTS, "ignored": 0,
         "unclear": [], "problem": ""},
        {"group": "", "name": "顾客ab12", "excerpt": "#接龙【丹东99草莓团】…", "paste_rows": 7, "items": [], "ignored": 2,
         "unclear": ["7. 李四 1盒"], "problem": "ask_which"},
        {"group": "梅溪湖1群", "name": "王姐", "excerpt": "半盒", "items": [], "ignored": 0, "unclear": [],
         "problem": "ask_unit"}],
    "groupbuy/paste_list.txt.j2": [
        {"g": G, "lines": [L, L_MOM], "waiting": [L_WAIT], "amount_fen": 10590, "collected": 0},
        {"g": G_FREE, "lines": [], "waiting": [], "amount_fen": 0, "collected": 0}],
    "groupbuy/paste_list_done.txt.j2": [
        {"what": "usage", "gid": 0, "times": []}, {"what": "times", "gid": 12, "times": ["12:00", "18:00"]},
        {"what": "times", "gid": 12, "times": []}, {"what": "closed", "gid": 12, "times": []}],
}
