"""Score the Q&A engine on labelled question sets, next to a plain longest-alias baseline.

    python bench/qa_eval.py [-v]                                   # every set below
    python bench/qa_eval.py --set FILE [--catalog FILE] [--faq FILE] [-v]

The sets, each with its own catalog and FAQ:
- public: the shared public set on data/catalog.csv (../shared/data/qa_public.jsonl);
- private: tests/qa/private_set.jsonl on the same catalog;
- gd: bench/qa_gd, a Guangdong community store (265 SKUs, its own FAQ, Cantonese-influenced
  questions), written before the engine saw it and then used while building the lexicon;
- north: bench/qa_north, a northern convenience store (105 SKUs, its own FAQ), written and
  committed before the engine saw it, run once untuned (92.2%) and then fixed by class.

Each line of a set is {"q", "intent", and "sku" | "candidates" | "faq" | "term"}. An item counts
when the intent matches and so does its detail: the SKU for product, the FAQ id for faq, the term
for unknown_product, and at least two of the listed candidates for clarify. Prints accuracy per
intent for the engine and the baseline side by side, and the "none answered as a product" count.
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

BENCH = ROOT / "bench"


def _public_set() -> Path:
    """The shared public set: beside the repo (../shared), or /work/shared in a worktree layout."""
    for base in (ROOT.parent, ROOT.parent.parent, Path("/work")):
        p = base / "shared" / "data" / "qa_public.jsonl"
        if p.exists():
            return p
    return ROOT.parent / "shared" / "data" / "qa_public.jsonl"


SETS = {  # name: (questions, catalog, faq)
    "public": (_public_set(), ROOT / "data" / "catalog.csv", ROOT / "data" / "faq.csv"),
    "private": (ROOT / "tests" / "qa" / "private_set.jsonl", ROOT / "data" / "catalog.csv", ROOT / "data" / "faq.csv"),
    "gd": (BENCH / "qa_gd" / "questions.jsonl", BENCH / "qa_gd" / "catalog.csv", BENCH / "qa_gd" / "faq.csv"),
    "north": (BENCH / "qa_north" / "questions.jsonl", BENCH / "qa_north" / "catalog.csv", BENCH / "qa_north" / "faq.csv"),
}
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


def report(name: str, per: dict[str, tuple[int, int]], nap: int, bper: dict[str, tuple[int, int]],
           bnap: int) -> tuple[float, float]:
    """Per intent: engine and baseline side by side. Returns (engine, baseline) overall accuracy."""
    print(f"  {'intent':16s} {'engine':>17s}   {'baseline':>17s}")
    for intent in INTENTS:
        if intent in per:
            ok, n = per[intent]
            bok, _ = bper.get(intent, (0, n))
            print(f"  {intent:16s} {ok:5d}/{n:<5d} {100 * ok / n:5.1f}%   {bok:5d}/{n:<5d} {100 * bok / n:5.1f}%")
    total = sum(v[1] for v in per.values())
    ok, bok = sum(v[0] for v in per.values()), sum(v[0] for v in bper.values())
    acc, bacc = (ok / total, bok / total) if total else (0.0, 0.0)
    print(f"  {'overall':16s} {ok:5d}/{total:<5d} {100 * acc:5.1f}%   {bok:5d}/{total:<5d} {100 * bacc:5.1f}%")
    print(f"  none answered as a product: engine {nap}, baseline {bnap}")
    return acc, bacc


def load_items(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load(path: Path, parse, name: str):
    rows, errors = parse(path.read_bytes(), name) if parse is parse_catalog else parse(path.read_bytes())
    for line, msg in errors:
        print(f"{path}:{line}: {msg}", file=sys.stderr)
    return None if errors else rows


def run_set(name: str, questions: Path, catalog: Path, faq: Path, verbose: bool) -> tuple[float, int] | None:
    products, faqs = load(catalog, parse_catalog, catalog.name), load(faq, parse_faq_csv, faq.name)
    if products is None or faqs is None:
        return None
    items = load_items(questions)
    index = QAIndex.build(products, faqs)
    baseline = Baseline(products, faqs)
    print(f"\n[{name}] {questions} ({len(items)} questions; {len(products)} products, {len(faqs)} FAQ entries)")
    per, nap, misses = score(items, lambda q: engine_answer(index, q))
    bper, bnap, _ = score(items, baseline.match)
    acc, bacc = report(name, per, nap, bper, bnap)
    print(f"  engine - baseline: {100 * (acc - bacc):+.1f} points")
    if verbose:
        for it, got in misses:
            print("  MISS", json.dumps(it, ensure_ascii=False), "->", json.dumps(got, ensure_ascii=False))
    return acc, nap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, help="one question set (default: every set in SETS)")
    ap.add_argument("--catalog", type=Path, default=ROOT / "data" / "catalog.csv")
    ap.add_argument("--faq", type=Path, default=ROOT / "data" / "faq.csv")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the engine's misses")
    args = ap.parse_args(argv)
    sets = {"set": (args.set, args.catalog, args.faq)} if args.set else {
        k: v for k, v in SETS.items() if v[0].exists()}
    results = {}
    for name, (questions, catalog, faq) in sets.items():
        got = run_set(name, questions, catalog, faq, args.verbose)
        if got is None:
            return 2
        results[name] = got
    print("\nsummary: " + ", ".join(f"{k} {100 * a:.1f}% (chatter as product {n})" for k, (a, n) in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
