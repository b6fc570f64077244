"""Sample contexts for templates/qa/*, built the way handlers/qa/answer.py and edit.py build them."""
from handlers.qa.catalog import Product

_P = Product("F001", "丹东99草莓", ("草莓",), "水果", "500g/盒", "盒", 3990, 120, "辽宁丹东", 5, "第二盒半价")
_OUT = Product("F008", "泰国金枕榴莲", ("榴莲",), "水果", "约3kg/个", "个", 16800, 0, "泰国", 5, "")
_LOW = Product("B010", "飞天茅台53度", ("茅台",), "酒水饮料", "500ml/瓶", "瓶", 289900, 3, "贵州仁怀", 0, "每人限购1瓶")
_BARE = Product("X1", "散装花生", (), "", "", "", 1200, 8, "", None, "")

_EDIT_PROBLEMS = [
    {"problem": "usage", "cmd": c, "target": ""} for c in ("改价", "库存", "促销")
] + [
    {"problem": "bad_price", "cmd": "改价", "target": "", "value": "abc"},
    {"problem": "bad_stock", "cmd": "库存", "target": "", "value": "-1"},
    {"problem": "bad_promo", "cmd": "促销", "target": "", "limit": 40},
    {"problem": "not_found", "cmd": "改价", "target": "", "term": "火龙果"},
    {"problem": "guess", "cmd": "改价", "target": "F001", "term": "草梅", "p": _P},
    {"problem": "choose", "cmd": "库存", "target": "F001", "term": "水果", "options": [_P, _OUT]},
    {"problem": "not_carried", "cmd": "改价", "target": "", "term": "泰国金枕榴莲", "store_name": "梅溪湖店"},
    {"problem": "wrong_store", "cmd": "改价", "target": "", "stores": [{"id": "S01", "name": "梅溪湖店"}]},
    {"problem": "no_store", "cmd": "改价", "target": ""},
    {"problem": "which_store", "cmd": "促销", "target": "", "stores": [{"id": "S01", "name": "梅溪湖店"}, {"id": "S02", "name": "五一广场店"}],
     "store_hint": "S01"},
]

SAMPLES = {
    "qa/product.txt.j2": [
        {"p": p, "attribute": a, "guessed": g, "noted": n, "human": n}
        for p in (_P, _OUT, _LOW, _BARE)
        for a in ("price", "stock", "spec", "origin", "shelf_life", "promo")
        for g in (False, True)
        for n in (False, True)
    ] + [{"p": _P, "attribute": "price", "guessed": False, "noted": False, "human": True,
          "tuan": {"id": 3, "price_fen": 3690, "unit": "盒", "cutoff": 1733227200}}],
    "qa/clarify.txt.j2": [{"options": [_P, _OUT, _LOW], "attribute": "price", "pick": k} for k in (True, False)],
    "qa/faq.txt.j2": [{"answer": "门店营业时间：每天 8:00-22:00。", "faq_id": "hours"}],
    "qa/promo_list.txt.j2": [{"items": [_P, _LOW], "more": 0}, {"items": [_P], "more": 5}, {"items": [], "more": 0}],
    "qa/unknown_product.txt.j2": [{"term": t, "noted": n, "human": h}
                                  for t in ("牛油果", "") for n in (False, True) for h in (False, True)],
    "qa/hint.txt.j2": [{"human": True}, {"human": False}],
    "qa/edit_problem.txt.j2": _EDIT_PROBLEMS,
    "qa/edit_done.txt.j2": [
        {"cmd": "改价", "attribute": "price_fen", "p": _P, "before": [3990, 3690], "after": 3590,
         "store_name": "", "rows": 2, "crossed": []},
        {"cmd": "改价", "attribute": "price_fen", "p": _P, "before": [3990], "after": 3000, "store_name": "梅溪湖店",
         "rows": 1, "crossed": [{"id": 12, "product": "丹东99草莓", "unit": "盒", "price_fen": 3690,
                                 "list_price_fen": 3990, "not_cheaper": True},
                                {"id": 13, "product": "丹东99草莓", "unit": "盒", "price_fen": 2990,
                                 "list_price_fen": 3990, "not_cheaper": False}]},
        {"cmd": "库存", "attribute": "stock", "p": _P, "before": [120], "after": 0, "store_name": "梅溪湖店", "rows": 1,
         "crossed": []},
        {"cmd": "促销", "attribute": "promo", "p": _P, "before": [""], "after": "第二盒半价", "store_name": "梅溪湖店",
         "rows": 1, "crossed": []},
        {"cmd": "促销", "attribute": "promo", "p": _P, "before": ["第二盒半价"], "after": "", "store_name": "梅溪湖店",
         "rows": 1, "crossed": []},
    ],
    "qa/group_questions.txt.j2": [
        {"group": "梅溪湖1群", "items": [
            {"name": "王姐", "text": "草莓还有吗", "answer": "丹东99草莓 39.9元/盒，有货", "at": 1_763_900_000},
            {"name": "顾客ab12", "text": "能不能进点榴莲", "answer": "", "at": 1_763_900_030}]}],
}
