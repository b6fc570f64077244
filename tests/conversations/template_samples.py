"""Sample contexts for the small-talk templates."""
SAMPLES = {
    f"smalltalk/{kind}.txt.j2": [{"variant": v, "staff": staff, "kf": kf} for v in range(3)
                                 for staff in (False, True) for kf in (False, True)]
    for kind in ("greeting", "thanks", "ack", "emoji")
}

OFFERS = [{"name": "开团", "feature": "groupbuy", "action": "open", "label": "丹东99草莓", "price_fen": 3690, "unit": "盒"},
          {"name": "C12", "feature": "coupons", "action": "create", "cid": "C12", "label": "新人券"},
          {"name": "团9", "feature": "groupbuy", "action": "close", "gid": 9, "label": "丹东99草莓"},
          {"name": "旧", "label": "开团草稿 丹东99草莓 36.9元/盒"}]
SAMPLES["confirm/pending.txt.j2"] = [{"offers": o, "named": n, "minutes": 5}
                                     for o in ([], OFFERS) for n in ("", "团9")]
