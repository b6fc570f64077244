"""Score the Q&A engine on a labelled question set, next to a plain longest-alias baseline.

    python bench/qa_eval.py [--set FILE] [--catalog FILE] [--faq FILE] [-v]

Each line of the set is {"q", "intent", and "sku" | "candidates" | "faq" | "term"}. An item counts
when the intent matches and so does its detail: the SKU for product, the FAQ id for faq, the term
for unknown_product, and at least two of the listed candidates for clarify. Prints accuracy per
intent and overall for both matchers, and the "none answered as a product" count.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.qa.catalog import FaqEntry, Product, parse_catalog, parse_faq_csv  # noqa: E402
from handlers.qa.engine import QAIndex  # noqa: E402
from handlers.qa.normalize import key, normalize  # noqa: E402

DEFAULT_SET = ROOT.parent / "shared" / "data" / "qa_public.jsonl"
INTENTS = ("product", "clarify", "promo_list", "faq", "unknown_product", "none")


class Baseline:
    """The plain matcher the engine is measured against: the longest catalog name or alias found
    as a substring wins; failing that the first FAQ keyword found, then a promotion word;
    otherwise nothing."""

    PROMO_WORDS = ("特价", "活动", "优惠", "打折", "促销", "半价")

    def __init__(self, products: list[Product], faqs: list[FaqEntry]) -> None:
        self.alias: dict[str, str] = {}
        for p in products:
            for a in (p.name, *p.aliases):
                self.alias.setdefault(key(a), p.sku)
        self.max_len = max((len(k) for k in self.alias), default=1)
        self.faqs = [(e.id, [key(k) for k in e.keywords]) for e in faqs]

    def match(self, text: str) -> dict:
        s = normalize(text)
        best: tuple[int, str] | None = None
        for i in range(len(s)):
            for L in range(min(self.max_len, len(s) - i), 0, -1):
                sku = self.alias.get(s[i:i + L])
                if sku:
                    if best is None or L > best[0]:
                        best = (L, sku)
                    break
        if best:
            return {"intent": "product", "sku": best[1]}
        for fid, keys in self.faqs:
            if any(k in s for k in keys):
                return {"intent": "faq", "faq": fid}
        if any(w in s for w in self.PROMO_WORDS):
            return {"intent": "promo_list"}
        return {"intent": "none"}


def engine_answer(index: QAIndex, text: str) -> dict:
    m = index.match(text)
    return {"intent": m.intent, "sku": m.sku, "candidates": m.candidate_skus if m.intent == "clarify" else [],
            "faq": m.faq.id if m.faq else None, "term": m.term or None}


def correct(item: dict, got: dict) -> bool:
    if got.get("intent") != item["intent"]:
        return False
    intent = item["intent"]
    if intent == "product":
        return got.get("sku") == item.get("sku")
    if intent == "clarify":
        return len(set(got.get("candidates") or []) & set(item.get("candidates") or [])) >= 2
    if intent == "faq":
        return got.get("faq") == item.get("faq")
    if intent == "unknown_product":
        return (got.get("term") or "") == (item.get("term") or "")
    return True


def score(items: list[dict], answer) -> tuple[dict[str, tuple[int, int]], int, list[tuple[dict, dict]]]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    none_as_product = 0
    for it in items:
        got = answer(it["q"])
        ok = correct(it, got)
        per[it["intent"]][0] += ok
        per[it["intent"]][1] += 1
        if not ok:
            misses.append((it, got))
        if it["intent"] == "none" and got.get("intent") == "product":
            none_as_product += 1
    return {k: (v[0], v[1]) for k, v in per.items()}, none_as_product, misses


def report(name: str, per: dict[str, tuple[int, int]], none_as_product: int) -> float:
    total_ok = sum(v[0] for v in per.values())
    total = sum(v[1] for v in per.values())
    print(f"{name}")
    for intent in INTENTS:
        if intent in per:
            ok, n = per[intent]
            print(f"  {intent:16s} {ok:4d}/{n:<4d} {100 * ok / n:6.1f}%")
    acc = total_ok / total if total else 0.0
    print(f"  {'overall':16s} {total_ok:4d}/{total:<4d} {100 * acc:6.1f}%   none answered as product: {none_as_product}")
    return acc


def load_items(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=DEFAULT_SET)
    ap.add_argument("--catalog", type=Path, default=ROOT / "data" / "catalog.csv")
    ap.add_argument("--faq", type=Path, default=ROOT / "data" / "faq.csv")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the engine's misses")
    args = ap.parse_args(argv)

    products, errors = parse_catalog(args.catalog.read_bytes(), args.catalog.name)
    if errors:
        for line, msg in errors:
            print(f"{args.catalog}:{line}: {msg}", file=sys.stderr)
        return 2
    faqs, errors = parse_faq_csv(args.faq.read_bytes())
    if errors:
        for line, msg in errors:
            print(f"{args.faq}:{line}: {msg}", file=sys.stderr)
        return 2
    items = load_items(args.set)
    index = QAIndex.build(products, faqs)
    baseline = Baseline(products, faqs)

    print(f"set: {args.set} ({len(items)} items; {dict(Counter(i['intent'] for i in items))})")
    per, nap, misses = score(items, lambda q: engine_answer(index, q))
    acc = report("engine", per, nap)
    bper, bnap, _ = score(items, baseline.match)
    bacc = report("baseline (longest alias substring, then FAQ keyword, then promo word)", bper, bnap)
    print(f"engine - baseline: {100 * (acc - bacc):+.1f} points")
    if args.verbose:
        for it, got in misses:
            print("MISS", json.dumps(it, ensure_ascii=False), "->", json.dumps(got, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
