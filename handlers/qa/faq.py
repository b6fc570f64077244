"""FAQ matching on meaning: the file's keywords, shoppers' phrasings of the same topic, fuzzy wording.

The entries come from the store's FAQ file, in its own words. lexicon.FAQ_TOPICS names the topics
stores write about (hours, delivery, pickup, returns...): how shoppers ask about each, and the words
that mark an entry as being about it. Each entry is tagged with its topics once, from its id and
keywords or, when no entry's keywords mark a topic, from the answers; a shopper's phrasing of a
topic then finds that entry whatever its keywords are ("几点关门" finds an entry keyed 营业时间).
Where the evidence of two entries overlaps, the longer span wins.
"""
from __future__ import annotations

import re

from rapidfuzz import fuzz

from handlers.qa import lexicon as lx
from store.catalog import FaqEntry
from handlers.qa.normalize import key


class FaqMatcher:
    def __init__(self, entries: list[FaqEntry]) -> None:
        self.faqs = list(entries)
        self._keys = [tuple(key(k) for k in e.keywords if key(k)) for e in self.faqs]
        self._topic_entries = [self._tagged(t) for t in lx.FAQ_TOPICS]
        self._answer_bigrams = [{a[j:j + 2] for j in range(len(a) - 1)} for a in (key(e.answer) for e in self.faqs)]

    def _tagged(self, topic: lx.FaqTopic) -> list[int]:
        """Entries about `topic`: by their id and keywords, else (no entry keyed so) by their answers."""
        words = [key(w) for w in topic.entry]
        own = [ei for ei, e in enumerate(self.faqs)
               if any(w in k for w in words for k in (*self._keys[ei], e.id.lower()))]
        if own:
            return own
        return [ei for ei, e in enumerate(self.faqs) if any(w in key(e.answer) for w in words)]

    def match(self, masked: str) -> tuple[FaqEntry | None, float, bool]:
        """The best FAQ entry, its score, and whether it is weak beside a product (where-is, 会员价)."""
        if not self.faqs:
            return None, 0.0, False
        # "会员价" asks a product's price when a product is named, so it is weak evidence.
        weak_zone = [m.span() for m in re.finditer("会员价", masked)]

        def weak_hit(a: int, b: int) -> bool:
            return any(x <= a and b <= y for x, y in weak_zone)

        # Evidence: (entry, start, end, score, strong). Exact keywords and shopper-phrasing hints
        # carry a span; where spans of two entries overlap the longer one wins ("在哪里领" is
        # pickup, not the address keyword "在哪里").
        found: list[tuple[int, int, int, float, bool]] = []
        for ei, keys in enumerate(self._keys):
            for k in keys:
                at = masked.find(k)
                if at >= 0:
                    weak = k in lx.LOCATION_WORDS or weak_hit(at, at + len(k))
                    found.append((ei, at, at + len(k), float(len(k)), not weak))
                elif len(k) >= 4 and fuzz.partial_ratio(k, masked) >= 75:
                    found.append((ei, -1, -1, 0.6 * len(k), k not in lx.LOCATION_WORDS))
        for ti, topic in enumerate(lx.FAQ_TOPICS):
            hit = topic.question.search(masked)
            if hit:
                weak = topic.where or weak_hit(*hit.span())
                for ei in self._topic_entries[ti]:
                    found.append((ei, hit.start(), hit.end(), 2.5, not weak))
        kept: list[tuple[int, int, int, float, bool]] = []
        for ev in sorted(found, key=lambda e: (e[1] - e[2], e[1])):
            ei, a, b = ev[0], ev[1], ev[2]
            if a >= 0 and any(k[0] != ei and k[1] >= 0 and k[1] < b and a < k[2] and (k[2] - k[1]) > (b - a)
                              for k in kept):
                continue
            kept.append(ev)
        scores = [0.0] * len(self.faqs)
        strong = [False] * len(self.faqs)
        for ei, _, _, value, is_strong in kept:
            scores[ei] += value
            strong[ei] = strong[ei] or is_strong
        best = max(range(len(scores)), key=lambda e: scores[e])
        if not strong[best]:
            # "自提在哪里": where a service is found is that service's question.
            specific = [e for e in range(len(scores)) if strong[e] and scores[e] >= 2]
            if specific:
                best = max(specific, key=lambda e: scores[e])
        if scores[best] < 2:
            return None, 0.0, False
        top = scores[best]
        tied = [e for e, v in enumerate(scores) if v == top and strong[e] == strong[best]]
        if len(tied) > 1:
            grams = {masked[j:j + 2] for j in range(len(masked) - 1)}
            best = max(tied, key=lambda e: (len(grams & self._answer_bigrams[e]), -e))
        return self.faqs[best], top, not strong[best]
