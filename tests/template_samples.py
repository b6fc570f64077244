"""Sample contexts for the core templates (each feature keeps its own tests/<feature>/template_samples.py)."""
SAMPLES = {
    "help.txt.j2": [{"role": "导购", "lines": ["帮助 — 查看可用的指令", "/改价 <商品> <价格> — 改价"]}],
    "errors/oops.txt.j2": [{}],
    "errors/forbidden.txt.j2": [{"command": "改价"}],
    "errors/unknown_command.txt.j2": [{"command": "/改介"}],
    "errors/not_understood.txt.j2": [{"role": "guide"}, {"role": "buyer"}],
    "_raw.txt.j2": [{"text": "原样输出"}],
    "_raw.md.j2": [{"text": "**原样**"}],
}
