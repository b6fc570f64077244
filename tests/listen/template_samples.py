"""Sample contexts for templates changed by the listening features (collected by tests/test_templates.py)."""
_REFUSED = {"reason": "used_today", "store_name": "梅溪湖店", "skipped": 2, "earlier_at": 1732363200,
            "earlier_head": "今晚草莓特价", "text": "明早鸡蛋到货", "link": "https://work.weixin.qq.com/kf/kfc123"}

SAMPLES = {
    "shoppers/post_refused.txt.j2": [
        {**_REFUSED, "everything": everything, "quota": quota, "limit": limit}
        for everything in (True, False) for quota, limit in (("month", 31), ("week", 7), ("day", 1))],
}
