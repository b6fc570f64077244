"""Sample contexts for templates/qa/*, built the way handlers/qa/answer.py builds them."""
from handlers.qa.catalog import Product

_P = Product("F001", "丹东99草莓", ("草莓",), "水果", "500g/盒", "盒", 3990, 120, "辽宁丹东", 5, "第二盒半价")
_OUT = Product("F008", "泰国金枕榴莲", ("榴莲",), "水果", "约3kg/个", "个", 16800, 0, "泰国", 5, "")
_LOW = Product("B010", "飞天茅台53度", ("茅台",), "酒水饮料", "500ml/瓶", "瓶", 289900, 3, "贵州仁怀", 0, "每人限购1瓶")
_BARE = Product("X1", "散装花生", (), "", "", "", 1200, 8, "", None, "")

SAMPLES = {
    "qa/product.txt.j2": [
        {"p": p, "attribute": a, "guessed": g}
        for p in (_P, _OUT, _LOW, _BARE)
        for a in ("price", "stock", "spec", "origin", "shelf_life", "promo")
        for g in (False, True)
    ],
    "qa/clarify.txt.j2": [{"options": [_P, _OUT, _LOW], "attribute": "price"}],
    "qa/faq.txt.j2": [{"answer": "门店营业时间：每天 8:00-22:00。", "faq_id": "hours"}],
    "qa/promo_list.txt.j2": [{"items": [_P, _LOW], "more": 0}, {"items": [_P], "more": 5}, {"items": [], "more": 0}],
    "qa/unknown_product.txt.j2": [{"term": "牛油果"}, {"term": ""}],
}
