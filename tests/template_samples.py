"""Sample contexts for the core templates (each feature keeps its own tests/<feature>/template_samples.py)."""
SAMPLES = {
    "help.txt.j2": [
        {"role": "guide", "sections": [("", ["帮助 — 查看可用的指令"]), ("商品问答", ["/改价 /库存 /促销"])],
         "topic": "", "compact": True, "missing": ""},
        {"role": "guide", "sections": [("接龙团购", ["/开团 商品 价格 — 发起接龙团购", "确认 — 确认开团"])],
         "topic": "开团", "compact": False, "missing": ""},
        {"role": "shopper", "sections": [("", ["帮助 — 查看可用的指令"])], "topic": "", "compact": False,
         "missing": "退货"}],
    "errors/oops.txt.j2": [{}],
    "errors/forbidden.txt.j2": [{"command": "改价"}],
    "errors/no_store.txt.j2": [{"action": a} for a in ("open", "list", "pickup")],
    "errors/unknown_command.txt.j2": [{"command": "/改介"}],
    "errors/not_understood.txt.j2": [{"role": "guide"}, {"role": "buyer"}],
    "_raw.txt.j2": [{"text": "原样输出"}],
    "_raw.md.j2": [{"text": "**原样**"}],
}
