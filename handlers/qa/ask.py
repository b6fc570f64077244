"""`qunbot ask`: answer one question per input line as one JSON object per output line, no Redis.

Output keys: q, intent (product | clarify | promo_list | faq | unknown_product | none), sku (product),
candidates (SKUs, clarify), faq (id, faq), term (unknown_product), reply (rendered answer or null).
Every input line gets exactly one output line, blank lines included, so outputs line up with inputs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from bot.render import renderer
from handlers.qa.answer import reply_for
from handlers.qa.catalog import parse_catalog, parse_faq_csv
from handlers.qa.engine import QAIndex


def load_index(catalog_path: str | Path, faq_path: str | Path | None) -> tuple[QAIndex | None, list[str]]:
    """Build the index from files; on any import error return (None, messages naming file and line)."""
    catalog_path = Path(catalog_path)
    products, errors = parse_catalog(catalog_path.read_bytes(), catalog_path.name)
    problems = [f"{catalog_path}:{line}: {msg}" for line, msg in errors]
    faqs = []
    if faq_path:
        faq_path = Path(faq_path)
        faqs, ferrors = parse_faq_csv(faq_path.read_bytes())
        problems += [f"{faq_path}:{line}: {msg}" for line, msg in ferrors]
    if problems:
        return None, problems
    return QAIndex.build(products, faqs), []


def answer_line(index: QAIndex, q: str) -> dict:
    m = index.match(q)
    reply = reply_for(m, index)
    return {
        "q": q,
        "intent": m.intent,
        "sku": m.sku if m.intent == "product" else None,
        "candidates": m.candidate_skus if m.intent == "clarify" else [],
        "faq": m.faq.id if m.intent == "faq" and m.faq else None,
        "term": m.term if m.intent == "unknown_product" else None,
        "reply": renderer()(reply) if reply else None,  # an offline tool: no config, default timezone
    }


def files_from_config(config) -> tuple[Path | None, Path | None]:
    """The catalog and FAQ the service would seed from ([qa] catalog/faq; the demo's files on a demo
    config), for `qunbot ask` without flags."""
    from handlers.qa.settings import resolve, settings
    st = settings(config)
    return resolve(config, st.catalog), resolve(config, st.faq)


def run_ask(catalog_path: str | Path, faq_path: str | Path | None, in_stream: TextIO, out_stream: TextIO,
            err_stream: TextIO | None = None) -> int:
    """Read questions from in_stream, write JSON lines to out_stream. Returns the exit code:
    0 on success, 2 when the catalog or FAQ file has bad rows (each reported on err_stream)."""
    err = err_stream or sys.stderr
    try:
        index, problems = load_index(catalog_path, faq_path)
    except OSError as exc:
        index, problems = None, [f"cannot read {exc.filename}: {exc.strerror}"]
    if index is None:
        for p in problems:
            print(p, file=err)
        return 2
    for raw in in_stream:
        q = raw.rstrip("\r\n")
        out_stream.write(json.dumps(answer_line(index, q), ensure_ascii=False) + "\n")
        out_stream.flush()  # one answer per question as it comes, for interactive use
    return 0
