"""Okapi BM25 over the tokens of product names, the ranking fallback for words no alias covers."""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence


class BM25:
    """Okapi BM25 over the name and alias tokens of each product (k1 1.2, b 0.75)."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.k1, self.b = 1.2, 0.75
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / len(docs)) if docs else 1.0
        for i, d in enumerate(docs):
            counts: dict[str, int] = defaultdict(int)
            for t in d:
                counts[t] += 1
            for t, c in counts.items():
                self.postings[t].append((i, c))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def top(self, tokens: Sequence[str]) -> tuple[int, ...]:
        """Best-scoring products whose score is within 10% of the best (a tie is several).

        Only products that contain every token qualify: a word no product has ("伊利冰淇淋")
        means the line asks for something else, not for the closest name.
        """
        if not tokens or any(t not in self.postings for t in tokens):
            return ()
        scores: dict[int, float] = defaultdict(float)
        for t in tokens:
            for i, tf in self.postings.get(t, ()):
                denom = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                scores[i] += self.idf[t] * tf * (self.k1 + 1) / denom
        need = set(tokens)
        docs = {i for i in scores if all(any(d == i for d, _ in self.postings[t]) for t in need)}
        scores = {i: v for i, v in scores.items() if i in docs}
        if not scores:
            return ()
        best = max(scores.values())
        return tuple(sorted((i for i, v in scores.items() if v >= 0.9 * best), key=lambda i: (-scores[i], i)))
