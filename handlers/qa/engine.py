"""The Q&A matching engine: what a shopper's line asks about, with a confidence. Pure, no I/O.

`QAIndex.build(products, faqs)` indexes the catalog once; `index.match(text)` reads one line:

1. normalise (normalize.py) and drop plain chatter;
2. alias dictionary: names and aliases found longest first; short ones must line up with the
   segmenter's word boundaries, so "小龙虾" is not "虾" and "蛋挞" is not "蛋";
3. pinyin: Latin runs read as full pinyin, initials or a mix ("caomei", "tls", "tlsu");
4. typos: one wrong character, scored by pinyin so a homophone ("草梅", "特伦苏", "香焦") counts and
   a different word ("土鸭蛋" against "土鸡蛋") does not; two-character words need an exact homophone;
5. what is left is segmented (jieba with the catalog words added, private to the index) and
   read as noun phrases: a category head ("牛奶", "油", "猪肉") names every product it ends, a
   modifier narrows it ("金龙鱼油", "新疆的苹果") or, when it names something the catalog does not
   have ("三元的牛奶", "光明酸奶", "草莓酱"), makes the phrase a product the store does not carry;
6. a BM25 ranking over the tokens of product names picks up the rest ("麒麟" → 海南麒麟西瓜);
7. the decision: one product (and the attribute asked), a tie to clarify, a FAQ entry, the
   promotions list, an item the store does not carry, or nothing.
"""
from __future__ import annotations

import copy
import os
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from handlers.qa import lexicon as lx
from handlers.qa import pinyin as py
from store.catalog import FaqEntry, Product
from handlers.qa.faq import FaqMatcher
from handlers.qa.grocery import core_name, lexicon_aliases
from handlers.qa.normalize import key, normalize
from handlers.qa.rank import BM25, pack_of, pack_reader, pick
from handlers.qa.segment import base_tokenizer, cut_without, private_tokenizer, word_bounds
from handlers.qa.words import WORDS

INTENTS = ("product", "clarify", "promo_list", "faq", "unknown_product", "none")
MAX_CANDIDATES = 6
MAX_CHARS = 200  # a longer message is a pasted list or an article, not a question to match
CATALOG_WORD_FREQ = 1000  # high enough to keep a catalog word whole, low enough not to split longer words
COMMON_WORD_FREQ = 3000   # a dictionary word this frequent is ordinary language, not a brand or a typo
_MASK = "□"
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_HAS_CJK = re.compile(r"[\u4e00-\u9fff]")
_ALNUM = re.compile(r"[a-z0-9]")
_LATIN = re.compile(r"^[a-z]+$")
_PUNCT = re.compile(r"^[\s,.?!;:~()\[\]{}<>+=*/\\|-]+$")


@dataclass(frozen=True, slots=True)
class Match:
    """What one line asks. `candidates` are the products to choose from (clarify) or on offer (promo_list)."""

    intent: str
    product: Product | None = None
    attribute: str = ""
    candidates: tuple[Product, ...] = ()
    faq: FaqEntry | None = None
    term: str = ""
    confidence: float = 0.0
    stage: str = ""  # which step decided, for tests and logs

    @property
    def sku(self) -> str | None:
        return self.product.sku if self.product else None

    @property
    def candidate_skus(self) -> list[str]:
        return [p.sku for p in self.candidates]

    @property
    def demand(self) -> tuple[str, str] | None:
        """What purchasing should hear of: ("unmet", sku) when out of stock, ("wish", term) when not carried."""
        if self.intent == "product" and self.product is not None and not self.product.in_stock:
            return "unmet", self.product.sku
        if self.intent == "unknown_product" and self.term:
            return "wish", self.term
        return None


# --- the internal pieces of one line ----------------------------------------------------------

@dataclass(slots=True)
class _Unit:
    start: int
    end: int
    text: str
    kind: str  # mention | content | stop | qty | de | punct
    ids: tuple[int, ...] = ()     # products this unit names on its own
    ext: tuple[int, ...] = ()     # products it can head once narrowed ("纯牛奶" heads every 纯牛奶)
    source: str = ""              # alias | pinyin | typo | head | category
    conf: float = 0.0
    generic: bool = False


@dataclass(slots=True)
class _Ref:
    kind: str                     # products | unknown
    ids: tuple[int, ...] = ()
    term: str = ""
    source: str = ""
    conf: float = 0.0
    start: int = 0
    clause: int = 0
    strength: str = ""            # unknown: brandmiss | compound | plain | absent
    cue: bool = False             # its clause asks something
    descriptive: bool = False     # "是新米吗", "有番茄的吗": describes another product, names none
    family: tuple[int, ...] = ()  # every product the head word covers, for "苹果有几种"


def _shape(p: Product) -> Product:
    """What matching reads of a product: all but the fields guides edit (and the store list, which
    only decides which row a store gets)."""
    return replace(p, price_fen=0, stock=0, promo="", stores=())


class _Patched(Sequence):
    """A shared product list seen through one store's rows at a few positions: O(1) per read,
    O(patched rows) in memory."""

    __slots__ = ("base", "patch")

    def __init__(self, base: Sequence[Product], patch: dict[int, Product]) -> None:
        self.base, self.patch = base, patch

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.base)))]
        if i < 0:
            i += len(self.base)
        p = self.patch.get(i)
        return self.base[i] if p is None else p

    def __iter__(self):
        get = self.patch.get
        for i, p in enumerate(self.base):
            yield get(i, p)


class QAIndex:
    """An immutable index over one store's catalog and FAQ. Stores that sell the same rows share
    one (`overlay` adds a store's own price, stock and promo without copying anything)."""

    products: Sequence[Product]

    @classmethod
    def build(cls, products: Iterable[Product], faqs: Iterable[FaqEntry] = (),
              store: str | None = None) -> "QAIndex":
        """Index `products` (per-store variants resolved for `store`) and `faqs`."""
        self = cls.__new__(cls)
        self._build(list(products), list(faqs), store)
        return self

    # --- build ---------------------------------------------------------------------------------

    @staticmethod
    def _choose(products: list[Product], store: str | None) -> tuple[list[Product], list[Product]]:
        """(the store's products, those plus the ones it does not carry). A store's own row wins."""
        chosen: dict[str, Product] = {}
        absent: dict[str, Product] = {}
        for p in products:
            if not p.carried_by(store):
                absent.setdefault(p.sku, p)
                continue
            cur = chosen.get(p.sku)
            if cur is None or (store is not None and store in p.stores and store not in cur.stores):
                chosen[p.sku] = p
        # Products the store does not carry stay in the index so "we don't sell that here" is precise.
        carried = list(chosen.values())
        return carried, carried + [p for s, p in absent.items() if s not in chosen]

    def _set_products(self, carried: Sequence[Product], everything: Sequence[Product]) -> None:
        self.products, self._all, self._carried = carried, everything, len(carried)
        self._sku_pos = {p.sku: i for i, p in enumerate(carried)}
        self._sku_upper = {p.sku.upper(): p.sku for p in carried}
        self._promo_ids = tuple(i for i, p in enumerate(carried) if p.promo)
        self._promo_cache = None

    @property
    def _promos(self) -> tuple[Product, ...]:
        """Promoted products, in stock first; worked out on first use, since a store's overlay is
        made for every question after an edit and most questions never ask for the list."""
        got = self._promo_cache
        if got is None:
            carried = self.products
            ids = sorted(self._promo_ids, key=lambda i: (not carried[i].in_stock, i))
            got = self._promo_cache = tuple(carried[i] for i in ids)
        return got

    def with_live_fields(self, products: Iterable[Product], faqs: Iterable[FaqEntry] = (),
                         store: str | None = None) -> "QAIndex | None":
        """This index over a newer catalog that differs only in price, stock and promo (what guides
        change all day), or None when anything matching reads changed and a rebuild is needed.
        Matching never reads those fields, so every structure is shared; only the products move."""
        return self.with_live_view(*self._choose(list(products), store), faqs)

    def with_live_view(self, carried: list[Product], everything: list[Product],
                       faqs: Iterable[FaqEntry] = ()) -> "QAIndex | None":
        """with_live_fields for a store view already chosen (see handlers/qa/views.py)."""
        if list(faqs) != self.faqs or not self.same_shape(carried, everything):
            return None
        new = copy.copy(self)
        new._set_products(carried, everything)
        return new

    def same_shape(self, carried: Sequence[Product], everything: Sequence[Product]) -> bool:
        """Would matching over this view read exactly what this index reads (so it can serve it)?"""
        if len(carried) != self._carried or len(everything) != len(self._all):
            return False
        return all(a is b or _shape(a) == _shape(b) for a, b in zip(everything, self._all))

    def overlay(self, patches: dict[int, Product]) -> "QAIndex":
        """This index for a store that sells the same rows with its own price, stock or promo on a
        few of them: `patches` maps carried positions to that store's rows. Every structure, and
        this index's product list, is shared; the overlay costs O(len(patches))."""
        if not patches:
            return self
        new = copy.copy(self)
        new.products = _Patched(self.products, patches)
        new._all = _Patched(self._all, patches)
        ids = {i for i in self._promo_ids if i not in patches}
        ids.update(i for i, p in patches.items() if p.promo)
        new._promo_ids = tuple(sorted(ids))
        new._promo_cache = None
        return new

    @classmethod
    def from_view(cls, carried: list[Product], everything: list[Product], faqs: Iterable[FaqEntry] = (),
                  like: "QAIndex | None" = None) -> "QAIndex":
        """Index one store's view (its products, then those it does not carry) as chosen already.
        With `like` (another store's index over the same names), the tables that depend on the set
        of names only (homophones, one-slip patterns, segmenter words, the FAQ) are `like`'s."""
        self = cls.__new__(cls)
        self._index(carried, everything, list(faqs), like)
        return self

    def _build(self, products: list[Product], faqs: list[FaqEntry], store: str | None) -> None:
        self._index(*self._choose(products, store), faqs)

    def _index(self, carried: list[Product], everything: list[Product], faqs: list[FaqEntry],
               like: "QAIndex | None" = None) -> None:
        self._set_products(carried, everything)
        self.faqs = list(faqs)

        alias: dict[str, list[int]] = defaultdict(list)
        strings: list[tuple[int, str, bool]] = []
        name_keys: list[str] = []
        for i, p in enumerate(self._all):
            for j, raw in enumerate((p.name, *p.aliases)):
                k = key(raw)
                if j == 0:
                    name_keys.append(k)
                if k and i not in alias[k]:
                    alias[k].append(i)
                    strings.append((i, k, j == 0))
        # A name without its size and pack ("可口可乐2l" -> "可口可乐") names every size of it, and
        # rows that share it are variants of one product, picked by size and pack words.
        cores = [core_name(k) for k in name_keys]
        variants: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(cores):
            if c and c != name_keys[i]:
                variants[c].append(i)
                if c not in alias or all(x in variants[c] for x in alias[c]):
                    if i not in alias[c]:
                        alias[c].append(i)
                        strings.append((i, c, False))
        for i, k in enumerate(name_keys):
            if k in variants and i not in variants[k]:
                variants[k].append(i)  # "王老吉" beside "王老吉整箱24罐"
        self._variants = {i: tuple(sorted(v)) for v in variants.values() if len(v) > 1 for i in v}
        self._packs = [pack_of(name_keys[i], key(p.spec), key(p.unit)) for i, p in enumerate(self._all)]
        # Diminutives shoppers add to short nouns ("梨子", "青提子") name the same product.
        for k, ids in list(alias.items()):
            if _CJK.match(k) and len(k) <= 2 and k[-1] not in "子儿":
                for v in (k + "子",):
                    if v not in alias:
                        alias[v] = list(ids)
        self._alias = {k: tuple(v) for k, v in alias.items()}
        # An alias that opens its product's name is a brand ("王老吉", "雀巢"); one that does not is
        # a generic noun ("火腿肠", "奶粉") that an unknown brand in front of it can turn into a miss.
        self._brand_alias = frozenset(
            k for k, ids in self._alias.items()
            if all(name_keys[i].startswith(k) and name_keys[i] != k for i in ids))
        self._max_len = max((len(k) for k in self._alias), default=1)
        self._keys: list[list[str]] = [[] for _ in self._all]
        for i, k, _ in strings:
            self._keys[i].append(k)
        self._text = ["|".join((*self._keys[i], key(f"{p.origin}|{p.spec}|{p.category}|{p.unit}")))
                      for i, p in enumerate(self._all)]
        self._classified: dict[str, _Unit] = {}

        suffix: dict[str, dict[int, int]] = defaultdict(dict)
        by_last: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for i, k, is_name in strings:
            if not _CJK.match(k):
                # "南孚5号电池" still ends in "电池" and "5号电池"; a Latin-only key ends in nothing.
                if _HAS_CJK.search(k) and not _ALNUM.match(k[-1]):
                    rank = 0 if is_name else 1
                    for n in range(1, len(k)):
                        if not (_ALNUM.match(k[-n]) and _ALNUM.match(k[-n - 1])):  # not inside "330ml"
                            d = suffix[k[-n:]]
                            d[i] = min(d.get(i, 9), rank)
                continue
            rank = 0 if is_name else 1
            for n in range(1, len(k)):
                d = suffix[k[-n:]]
                d[i] = min(d.get(i, 9), rank)
            by_last[k[-1]].append((k, i))
        self._suffix_ranks = dict(suffix)  # sorted on first use: most suffixes are never asked for
        self._suffix_sorted: dict[str, tuple[int, ...]] = {}
        self._by_last = dict(by_last)

        self._tk = private_tokenizer()
        base_freq = base_tokenizer().FREQ
        self._base_freq = base_freq
        for k in self._alias:
            self._tk.add_word(k, max(base_freq.get(k) or 0, CATALOG_WORD_FREQ))

        self._category: dict[str, tuple[int, ...]] = {}
        cats: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self.products):
            c = key(p.category)
            if c:
                cats[c].append(i)
        for c, ids in cats.items():
            for t in {c, *(t for t in self._tk.lcut(c, HMM=False) if len(t) > 1)}:
                if t not in lx.GENERIC_MODIFIERS and t not in self._alias:
                    self._category[t] = tuple(sorted(set(self._category.get(t, ())) | set(ids)))

        # Tokens of names: the leading one names a brand or origin ("蒙牛", "阿克苏"), and an alias
        # that opens with a known brand adds its product to that brand ("伊利金典"). Names' tokens and
        # whole aliases feed the BM25 fallback.
        brand: dict[str, set[int]] = defaultdict(set)
        docs: list[list[str]] = [[] for _ in self._all]
        vocab = WORDS.vocabulary()
        for i, k, is_name in strings:
            if not is_name:
                docs[i].append(k)
                continue
            cut = cut_without(self._tk, k) if len(k) > 2 else []
            if cut and cut[0] in variants and cut[0] != k:  # "怡宝纯净水|整箱": the brand is inside the core
                cut = base_tokenizer().lcut(cut[0], HMM=False) + cut[1:]
            toks = [t for t in cut if len(t) > 1 and _CJK.match(t)]
            docs[i].extend(toks)
            # A lexicon word in a name ("麒麟西瓜") still ranks by its parts ("麒麟").
            docs[i].extend(p for t in toks if len(t) > 2 and t not in alias and t in vocab
                           for p in base_tokenizer().lcut(t, HMM=False) if len(p) > 1 and p != t)
            if toks and k.startswith(toks[0]) and toks[0] != k and toks[0] not in lx.GENERIC_MODIFIERS:
                brand[toks[0]].add(i)
        for i, k, is_name in strings:
            if not is_name:
                for n in range(2, min(5, len(k))):
                    if k[:n] in brand:
                        brand[k[:n]].add(i)
        self._shared_prefixes(name_keys, brand)
        self._brand = {t: tuple(sorted(v)) for t, v in brand.items()}
        self._bm25 = BM25(docs)

        full: dict[str, set[int]] = defaultdict(set)
        initials: dict[str, set[int]] = defaultdict(set)
        homophone: dict[tuple[str, ...], set[str]] = defaultdict(set)
        wild: dict[str, set[str]] = defaultdict(set)
        by_letter: dict[str, list[tuple[tuple[str, ...], int]]] = defaultdict(list)
        syl_of, fuzzy_of = py.syllable, py.fuzzy
        same_names = like is not None and {k for _, k, _ in strings} == {k for ks in like._keys for k in ks}
        for i, k, _ in strings:
            n = len(k)
            if n < 2 or not _CJK.match(k):
                continue
            for reading in py.readings(k):
                full["".join(reading)].add(i)
                initials["".join([x[0] for x in reading])].add(i)
                by_letter[reading[0][0]].append((reading, i))
            if same_names:
                continue
            syl = tuple(map(syl_of, k))
            if n == 2:
                homophone[syl].add(k)
                continue
            homophone[tuple(map(fuzzy_of, syl))].add(k)
            for j in range(n):
                wild[k[:j] + "*" + k[j + 1:]].add(k)
        self._py_full = {s: tuple(sorted(v)) for s, v in full.items()}
        self._py_initials = {s: tuple(sorted(v)) for s, v in initials.items() if len(s) > 2}
        self._py_by_letter = dict(by_letter)
        if same_names:
            self._homophone, self._wild = like._homophone, like._wild
        else:
            self._homophone = {s: tuple(sorted(v)) for s, v in homophone.items()}
            self._wild = {s: tuple(v) for s, v in wild.items()}  # readers sort what they find

        self._add_lexicon()
        self._faq = like._faq if like is not None and like.faqs == self.faqs else FaqMatcher(self.faqs)

    def _shared_prefixes(self, name_keys: list[str], brand: dict[str, set[int]]) -> None:
        """Names that open with the same words share a brand ("金龙鱼花生油5l", "金龙鱼调和油5l" ->
        金龙鱼), even where the segmenter does not know the brand as one word."""
        base = base_tokenizer()
        by_start: dict[str, list[int]] = defaultdict(list)
        for i, k in enumerate(name_keys):
            if len(k) > 2 and _CJK.match(k[:2]):
                by_start[k[:2]].append(i)
        names = set(name_keys)
        for ids in by_start.values():
            if len(ids) < 2:
                continue
            keys = [name_keys[i] for i in ids]
            n = len(os.path.commonprefix(keys))
            # the words of the shared characters, cut without the catalog's own words
            common: list[str] = []
            at = 0
            for tok in base.lcut(keys[0], HMM=False):
                at += len(tok)
                if at > n:
                    break
                common.append(tok)
            for n in range(1, len(common) + 1):  # "蓝月亮" and "蓝月亮洗衣液" both open both names
                prefix = "".join(common[:n])
                if (len(prefix) >= 2 and _CJK.match(prefix) and prefix not in names and prefix not in self._alias
                        and prefix not in lx.GENERIC_MODIFIERS and prefix not in lx.STOP_TOKENS):
                    brand[prefix].update(ids)
                    self._tk.add_word(prefix, max(self._base_freq.get(prefix) or 0, CATALOG_WORD_FREQ))

    def _named_by(self, w: str) -> tuple[int, ...] | None:
        """Products whose names end in `w`, or have it as a word ("三全汤圆黑芝麻" has 汤圆)."""
        return self._suffix(w) or tuple(sorted(i for i, _ in self._bm25.postings.get(w, ()))) or None

    def _add_lexicon(self) -> None:
        """The shipped grocery lexicon joined to this catalog: everyday and regional names, and
        kinds, as extra aliases; their pinyin too ("yagao"). Built once per catalog version."""
        joined = lexicon_aliases(self._alias, self._named_by, self._category)
        extra = joined.aliases
        self._lexicon_words = frozenset(extra)
        self._lexicon_typos: frozenset[str] = frozenset()
        self._bare = {c: frozenset(ids) for c, ids in joined.bare.items()}
        for w, ids in joined.heads.items():
            py_key = "".join(py.syllable(c) for c in w)
            if py_key not in self._py_full:
                self._py_full[py_key] = ids
        if not extra:
            return
        alias = dict(self._alias)
        typos = set()
        for w, ids in extra.items():
            alias[w] = ids
            if _CJK.match(w) and len(w) >= 2:
                syl = tuple(py.syllable(c) for c in w)
                near = self._homophone.get(syl if len(w) == 2 else tuple(map(py.fuzzy, syl)), ())
                if any(len(k) == len(w) and set(self._alias[k]) & set(ids) for k in near):
                    typos.add(w)  # a misspelling ("草梅"): the answer confirms the product as for a typo
            self._tk.add_word(w, max(self._base_freq.get(w) or 0, CATALOG_WORD_FREQ))
            if _CJK.match(w):
                py_key = "".join(py.syllable(c) for c in w)
                if py_key not in self._py_full:
                    self._py_full[py_key] = ids
        self._alias = alias
        self._lexicon_typos = frozenset(typos)
        self._max_len = max(self._max_len, max(len(w) for w in extra))

    # --- public ----------------------------------------------------------------------------------

    def product(self, sku: str) -> Product | None:
        i = self._sku_pos.get(sku)
        return None if i is None else self.products[i]

    def product_by_code(self, code: str) -> Product | None:
        """The carried product whose SKU is `code`, in any letter case (guides type "f001")."""
        sku = self._sku_upper.get(code.upper())
        return None if sku is None else self.product(sku)

    def promotions(self, category: str | None = None) -> tuple[Product, ...]:
        """Products with an active promo, in-stock first, optionally one category."""
        if category is None:
            return self._promos
        return tuple(p for p in self._promos if p.category == category)

    def match(self, text: str) -> Match:
        """Decide what `text` asks. Deterministic; never raises on odd input."""
        norm = normalize(text)[:MAX_CHARS]
        if not norm or lx.CHATTER.match(norm):
            return Match("none", confidence=1.0, stage="chatter")
        mentions = self._find_aliases(norm)
        masked = _mask(norm, mentions)
        if lx.NOT_QA.search(masked):
            return Match("none", confidence=0.8, stage="not_qa")
        cue_text = lx.NOT_A_CUE.sub(lambda m: _MASK * len(m.group(0)), masked)  # "收到了" is not "到了吗"
        # A remark about goods ("草莓很甜", "榴莲味道太冲了") is not a question, but a complaint is.
        if ((lx.STATEMENT.search(masked) or lx.NARRATIVE.search(masked)) and not lx.QUESTION.search(cue_text)
                and not (_asks(cue_text) and lx.PRODUCT_CUE.search(cue_text) and not lx.NARRATIVE.search(masked))
                and not (lx.COMPLAINT.search(masked) and not lx.NOT_GROCERY.search(masked))):
            return Match("none", confidence=0.9, stage="statement")

        units = self._units(norm, masked, mentions)
        refs = self._refs(units, masked)
        attribute = _attribute(masked)
        unit_chars = [m.group(0)[-1] for m in lx.QUANTITY_RE.finditer(masked)
                      if m.group(0)[-1] in lx.UNIT_CHARS]
        faq, faq_score, faq_weak = self._faq.match(masked)
        return self._decide(masked, refs, attribute, unit_chars, faq, faq_score, faq_weak)

    # --- stage 2: alias dictionary ----------------------------------------------------------------

    def _find_aliases(self, s: str) -> list[_Unit]:
        """Names and aliases in the line, longest first, without overlaps."""
        n = len(s)
        found: list[tuple[int, int, tuple[int, ...]]] = []
        for i in range(n):
            for L in range(min(self._max_len, n - i), 0, -1):
                ids = self._alias.get(s[i:i + L])
                if ids:
                    found.append((i, i + L, ids))
        if not found:
            return []
        bounds = None
        taken = [False] * n
        out: list[_Unit] = []
        for i, j, ids in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
            if any(taken[i:j]):
                continue
            frag = s[i:j]
            if _ALNUM.match(frag[0]) or _ALNUM.match(frag[-1]):
                if (i > 0 and _ALNUM.match(s[i - 1])) or (j < n and _ALNUM.match(s[j])):
                    continue
            elif j - i <= 2:
                if bounds is None:
                    bounds = word_bounds(self._tk.lcut(s, HMM=False))
                if i not in bounds or j not in bounds:
                    continue
            for t in range(i, j):
                taken[t] = True
            if frag in self._lexicon_typos:
                out.append(_Unit(i, j, frag, "mention", ids=ids, ext=self._extend(frag, ids), source="typo",
                                 conf=0.85))
                continue
            out.append(_Unit(i, j, frag, "mention", ids=ids, ext=self._extend(frag, ids),
                             source="alias", conf=0.95))
        out.sort(key=lambda u: u.start)
        return out

    def _suffix(self, t: str) -> tuple[int, ...] | None:
        """Products whose name or an alias ends in `t`, names before aliases, then catalog order."""
        got = self._suffix_sorted.get(t)
        if got is None:
            ranks = self._suffix_ranks.get(t)
            if ranks is None:
                return None
            got = self._suffix_sorted[t] = tuple(sorted(ranks, key=lambda i: (ranks[i], i)))
        return got

    def _extend(self, k: str, ids: tuple[int, ...]) -> tuple[int, ...]:
        more = self._suffix(k) or ()
        return ids + tuple(i for i in more if i not in ids)

    # --- stages 3-5: tokens, pinyin, typos, noun phrases -------------------------------------------

    def _units(self, s: str, masked: str, mentions: list[_Unit]) -> list[_Unit]:
        """The line as a sequence of mentions, question words, quantities and leftover words."""
        n = len(s)
        owner: list[_Unit | None] = [None] * n
        for m in mentions:
            for t in range(m.start, m.end):
                owner[t] = m
        stop = [False] * n
        for pattern in (lx.STOP_RE, lx.CUE, lx.STOCK_FRAME, *(p for _, p in lx.ATTRIBUTE_PATTERNS)):
            for m in pattern.finditer(masked):
                for t in range(m.start(), m.end()):
                    stop[t] = True
        qty = [False] * n
        for m in lx.QUANTITY_RE.finditer(masked):
            for t in range(m.start(), m.end()):
                qty[t] = True
        self._mark_cue_homophones(masked, stop)

        units: list[_Unit] = []
        pos = 0
        for tok in self._tk.cut(masked, HMM=False):
            start, end = pos, pos + len(tok)
            pos = end
            piece_start = start
            # A token may straddle a mention (misaligned long alias): cut it around the mention.
            t = start
            while t < end:
                m = owner[t]
                if m is not None:
                    if piece_start < t:
                        units.extend(self._plain_units(s, piece_start, t, stop, qty))
                    if not units or units[-1] is not m:
                        units.append(m)
                    t = m.end
                    piece_start = t
                    continue
                t += 1
            if piece_start < end:
                units.extend(self._plain_units(s, piece_start, end, stop, qty))
        return self._latin_and_typos(s, units, stop)

    def _plain_units(self, s: str, i: int, j: int, stop: list[bool], qty: list[bool]) -> list[_Unit]:
        """A token, cut where a stop phrase begins or ends inside it ("求进|点" → "求", "进点").

        A dictionary word is never cut: "康师傅" keeps its "师傅".
        """
        text = s[i:j]
        if j - i > 1 and ((self._tk.FREQ.get(text) or 0) > 0) and not all(stop[i:j]):
            unit = self._plain_unit(s, i, j, [False] * len(s), qty)
            return [unit]
        out: list[_Unit] = []
        a = i
        for t in range(i + 1, j + 1):
            if t == j or stop[t] != stop[a]:
                out.append(self._plain_unit(s, a, t, stop, qty))
                a = t
        return out

    def _plain_unit(self, s: str, i: int, j: int, stop: list[bool], qty: list[bool]) -> _Unit:
        text = s[i:j]
        if _PUNCT.match(text):
            return _Unit(i, j, text, "punct")
        if text == "的" or text == "之":
            return _Unit(i, j, text, "de")
        if all(qty[i:j]):
            return _Unit(i, j, text, "qty")
        if all(stop[i:j]) or text in lx.STOP_TOKENS or (len(text) == 1 and text in lx.FUNCTION_CHARS):
            return _Unit(i, j, text, "stop")
        return _Unit(i, j, text, "content", generic=text in lx.GENERIC_MODIFIERS)

    def _mark_cue_homophones(self, masked: str, stop: list[bool]) -> None:
        """Mark "诱惑" (you huo = 有货) and the like as question words, not product words."""
        syl = [py.syllable(c) for c in masked]
        for pattern in lx.CUE_HOMOPHONES:
            L = len(pattern)
            for i in range(len(masked) - L + 1):
                # A literal "有" is the real word followed by something else ("有火龙果").
                if masked[i] != "有" and tuple(syl[i:i + L]) == pattern:
                    for t in range(i, i + L):
                        stop[t] = True

    def _latin_and_typos(self, s: str, units: list[_Unit], stop: list[bool]) -> list[_Unit]:
        out: list[_Unit] = []
        for u in units:
            if u.kind == "content" and _LATIN.match(u.text):
                out.extend(self._pinyin(u))
            else:
                out.append(u)
        out = self._typos(s, out, stop)
        out = [self._classify(u) for u in out]
        # A one-character head between other loose characters is part of a word the segmenter
        # did not know ("君/乐/宝"), not a category noun.
        for k, u in enumerate(out):
            if u.kind == "content" and u.ids and len(u.text) == 1 and u.source == "head":
                prev = out[k - 1] if k else None
                nxt = out[k + 1] if k + 1 < len(out) else None
                if any(x is not None and x.kind == "content" and not x.ids and not x.generic
                       and len(x.text) == 1 and (x.end == u.start or x.start == u.end) for x in (prev, nxt)):
                    out[k] = _Unit(u.start, u.end, u.text, "content")
        return out

    def _explained(self, t: str) -> bool:
        """A token the later stages already read (a category, a head noun, a brand) is not a typo."""
        if len(t) < 2:
            return False  # single characters are what a typo is made of ("兰/莓", "车里/子")
        return t in self._category or t in self._brand or t in self._suffix_ranks

    def _pinyin(self, u: _Unit) -> list[_Unit]:
        """Stage 3: a Latin run as pinyin of a catalog word ("caomei", "xihongshi", "tls")."""
        text = u.text
        if text in lx.LATIN_CHATTER or len(text) < 2:
            return [_Unit(u.start, u.end, text, "stop")]
        for core, lead in py.strip_cues(text):
            if len(core) < 2:
                continue
            hit, source, conf = self._py_full.get(core), "pinyin", 0.9
            if hit is None and len(core) >= 3:
                hit, conf = self._py_initials.get(core), 0.8
            if hit is None and len(core) >= 3:
                hit, conf = self._py_mixed(core), 0.75
            if hit:
                a = u.start + lead
                return [_Unit(a, a + len(core), core, "mention", ids=hit, ext=hit, source=source, conf=conf)]
        return [u]

    def _py_mixed(self, q: str) -> tuple[int, ...] | None:
        """Each syllable typed in full or as a prefix ("tlsu" = te lun su)."""
        hits = sorted({i for syl, i in self._py_by_letter.get(q[0], ()) if py.parses_as(q, syl)})
        return tuple(hits) or None

    def _typos(self, s: str, units: list[_Unit], stop: list[bool]) -> list[_Unit]:
        """Stage 4: windows of the line that are an alias with one character slipped.

        A window must hold a character nothing else explains; it may span question words and
        whole aliases ("鸟不湿", "番茄过底" = 番茄锅底) but never cut an alias in two.
        """
        n = len(s)
        loose = [0] * (n + 1)
        noncjk = [0] * (n + 1)
        mention_at: list[_Unit | None] = [None] * n
        for u in units:
            if u.kind == "mention":
                for t in range(u.start, u.end):
                    mention_at[t] = u
            elif u.kind == "content" and not u.generic and _CJK.match(u.text) and not self._explained(u.text):
                for t in range(u.start, u.end):
                    loose[t + 1] = 1
        if not any(loose):
            return units
        for t in range(n):
            loose[t + 1] += loose[t]
            noncjk[t + 1] = noncjk[t] + (0 if "\u4e00" <= s[t] <= "\u9fff" else 1)
        found: list[_Unit] = []
        taken = [False] * n
        for L in range(min(self._max_len, n), 1, -1):
            for i in range(0, n - L + 1):
                j = i + L
                if loose[j] == loose[i] or noncjk[j] != noncjk[i] or any(taken[i:j]):
                    continue
                first, last = mention_at[i], mention_at[j - 1]
                if (first is not None and first.start < i) or (last is not None and last.end > j):
                    continue
                hit = self._typo_lookup(s[i:j], stop[i:j])
                if hit is None:
                    continue
                ids, conf, k = hit
                for t in range(i, j):
                    taken[t] = True
                found.append(_Unit(i, j, s[i:j], "mention", ids=ids, ext=self._extend(k, ids),
                                   source="typo", conf=conf))
        if not found:
            return units
        found.sort(key=lambda m: m.start)
        out: list[_Unit] = []
        emitted: set[int] = set()
        for u in units:
            covering = [m for m in found if m.start < u.end and u.start < m.end]
            if not covering:
                out.append(u)
                continue
            t = u.start
            for m in covering:
                if t < m.start:
                    out.append(_Unit(t, m.start, s[t:m.start], u.kind if u.kind != "mention" else "content"))
                if id(m) not in emitted:
                    emitted.add(id(m))
                    out.append(m)
                t = max(t, m.end)
            if t < u.end:
                out.append(_Unit(t, u.end, s[t:u.end], u.kind if u.kind != "mention" else "content"))
        return out

    def _typo_lookup(self, frag: str, stops: list[bool]) -> tuple[tuple[int, ...], float, str] | None:
        """The aliases `frag` could be a slip of, with a confidence, or None.

        Two characters need an exact homophone ("草梅"); longer ones a fuzzy homophone or, with
        everything else equal, a character of the same initial ("猕猴挑"). A question word may be
        the slip only as a true homophone inside the window ("鸟不湿"), never at its end ("花生有"
        is not 花生油).
        """
        L = len(frag)
        if L == 2 and (self._base_freq.get(frag) or 0) >= 200:
            return None  # a real word ("几斤", "时间") is not a slip for a product

        def allowed(k: str, homophone: bool) -> bool:
            diffs = [p for p in range(L) if k[p] != frag[p]]
            if not diffs:
                return False  # the alias itself, already judged by the word-boundary rule
            return all(not stops[p] or (homophone and p < L - 1) for p in diffs)

        keys: set[str] = set()
        syl = tuple(py.syllable(c) for c in frag)
        for k in self._homophone.get(syl if L == 2 else tuple(py.fuzzy(x) for x in syl), ()):
            same = sum(1 for x, y in zip(k, frag) if x == y)
            if (same >= L - 1 or (L >= 4 and same >= L - 2)) and allowed(k, True):
                keys.add(k)
        conf = 0.85
        if not keys and L >= 3:
            for j in range(L):
                for k in self._wild.get(frag[:j] + "*" + frag[j + 1:], ()):
                    if py.near(k[j], frag[j]) and allowed(k, False):
                        keys.add(k)
            conf = 0.7
        if not keys:
            return None
        ids: list[int] = []
        for k in sorted(keys):
            for i in self._alias[k]:
                if i not in ids:
                    ids.append(i)
        return tuple(ids), conf, sorted(keys)[0]

    def _classify(self, u: _Unit) -> _Unit:
        """Give a content token the products it heads: alias + 子/儿, category, suffix, subsequence."""
        if u.kind != "content" or u.generic:
            return u
        # The reading of a word depends on the word only; generic nouns recur, so remember it.
        seen = self._classified.get(u.text)
        if seen is None:
            seen = self._classify_word(_Unit(0, len(u.text), u.text, "content"))
            if len(self._classified) < 50_000:
                self._classified[u.text] = seen
        if seen.kind == "content" and not seen.ids:
            return u
        return _Unit(u.start, u.end, u.text, seen.kind, ids=seen.ids, ext=seen.ext, source=seen.source,
                     conf=seen.conf)

    def _classify_word(self, u: _Unit) -> _Unit:
        t = u.text
        if len(t) > 1 and t[-1] in "子儿" and t[:-1] in self._alias:
            ids = self._alias[t[:-1]]
            return _Unit(u.start, u.end, t, "mention", ids=ids, ext=self._extend(t[:-1], ids),
                         source="alias", conf=0.9)
        if t in self._category:
            ids = self._category[t]
            return _Unit(u.start, u.end, t, "content", ids=ids, ext=ids, source="category", conf=0.6)
        if not _CJK.match(t):
            return u
        ids = self._suffix(t)
        if ids is not None and len(t) == 1 and len(ids) < 2:
            ids = None  # one character heads a category ("油", "鱼"), not one product ("青" of 上海青)
        if ids is None and len(t) >= 2:
            ids = self._subsequence_head(t)
        if ids:
            return _Unit(u.start, u.end, t, "content", ids=self._dominant(ids, t), ext=ids,
                         source="head", conf=0.7)
        return u

    def _dominant(self, ids: tuple[int, ...], t: str) -> tuple[int, ...]:
        """A generic noun means one kind of goods: "鱼" is fish, not 金龙鱼 oil; "白菜" not a dumpling."""
        cats: dict[str, list[int]] = defaultdict(list)
        for i in ids:
            cats[self._all[i].category].append(i)
        if len(cats) < 2:
            return ids
        meant = self._bare.get(t)
        if meant:  # "油" alone is cooking oil (data/lexicon/bare.tsv), not 酱油 or 蚝油
            chosen = {self._all[i].category for i in ids if i in meant}
            if len(chosen) == 1:
                return tuple(i for i in ids if self._all[i].category in chosen)

        def core(i: int) -> int:  # the shortest name or alias that ends in the word
            return min((len(k) for k in self._keys[i] if k.endswith(t)), default=99)

        best = max(cats.values(), key=lambda g: (len(g), -min(core(i) for i in g), -min(g)))
        return tuple(i for i in ids if i in best)

    def _kind_of(self, word: str) -> tuple[int, ...]:
        """The carried products of the same kind as `word`, by its last character ("食用油" → 油)."""
        ids = self._suffix(word[-1:]) if word else None
        if not ids or len(ids) < 2:
            return ()
        return tuple(i for i in self._dominant(ids, word[-1]) if i < self._carried)

    def _subsequence_head(self, t: str) -> tuple[int, ...] | None:
        """"猪肉" heads 土猪五花肉 and 猪里脊肉: same last character, the rest in order before it."""
        hits: list[int] = []
        for k, i in self._by_last.get(t[-1], ()):
            if len(k) > len(t) and _is_subsequence(t[:-1], k[:-1]) and i not in hits:
                hits.append(i)
        return tuple(hits) or None

    def _refs(self, units: list[_Unit], masked: str) -> list[_Ref]:
        """Group the units into noun phrases (split by question words and punctuation), resolve each."""
        clause = 0
        cut = [0]
        nps: list[tuple[int, list[_Unit], bool]] = []
        cur: list[_Unit] = []
        after_copula = False

        def flush() -> None:
            trailing_de = bool(cur) and cur[-1].kind == "de"
            while cur and cur[-1].kind == "de":
                cur.pop()
            if cur:
                nps.append((clause, list(cur), trailing_de or after_copula))
            cur.clear()

        for k, u in enumerate(units):
            if not cur:
                prev = units[k - 1] if k else None
                after_copula = prev is not None and prev.text in ("是", "是不是")
            if u.kind == "punct":
                flush()
                clause += 1
                cut.append(u.end)
            elif u.kind in ("stop", "qty"):
                flush()
            elif u.kind == "de":
                if cur:
                    cur.append(u)
            else:
                named = any(x.ids for x in cur if x.kind != "de")
                if (cur and named and not u.ids and not u.generic and not _glued(cur[-1], u, self._base_freq)
                        and not (cur[-1].kind == "de" and self._noun_like(u.text))):
                    flush()
                cur.append(u)
        flush()
        cut.append(len(masked))
        cues = [_asks(masked[cut[c]:cut[c + 1]]) for c in range(clause + 1)]
        refs: list[_Ref] = []
        for c, np_units, descriptive in nps:
            for r in self._resolve(np_units, c):
                r.cue = cues[c]
                r.descriptive = descriptive
                refs.append(r)
        return refs

    def _resolve(self, np_units: list[_Unit], clause: int) -> list[_Ref]:
        """Stage 5: one noun phrase to the products it names, or to a term the store does not have."""
        core = [u for u in np_units if u.kind != "de" and not u.generic]
        if not core:
            return []
        core = _merge_unknown(core)
        start = core[0].start
        text = "".join(u.text for u in core)
        if len(core) > 1 and text in self._alias:
            ids = self._alias[text]
            return [self._ref(ids, "alias", 0.95, start, clause, text)]
        named = [u for u in core if u.ids]
        if not named:
            whole = [u for u in np_units if u.kind != "de" and not (u.generic and len(u.text) > 1)]
            return [self._lone("".join(u.text for u in whole), whole[0].start, clause)]
        last = core[-1]
        if not last.ids and len(core) > 1 and core[-2].ids and (
                _glued(core[-2], last, self._base_freq)
                or (np_units[np_units.index(last) - 1].kind == "de" and self._noun_like(last.text))):
            # "草莓酱", "榴莲千层", "农夫山泉的果汁": the product word only modifies another noun.
            return [_Ref("unknown", term=text, start=start, clause=clause, strength="compound", conf=0.75)]
        head = named[-1]
        h = core.index(head)
        if h > 0 and _prefixed(core[h - 1], head):
            return [_Ref("unknown", term=text, start=start, clause=clause, strength="compound", conf=0.7)]
        ids = list(head.ext)
        for u in named[:-1]:
            both = [i for i in ids if i in u.ext]
            if not both:
                # Two product words side by side are a list ("苹果香蕉"), unless the first is a
                # brand and the second a generic noun: "雀巢奶粉" is one item the store lacks.
                if all(x.kind == "mention" for x in named) and not (
                        u.text in self._brand_alias and head.text not in self._brand_alias):
                    return [self._ref(x.ids, x.source, x.conf, x.start, clause, x.text) for x in named]
                return [_Ref("unknown", term=text, start=start, clause=clause, strength="compound", conf=0.75)]
            ids = both
        for u in core:
            if u.ids:
                continue
            narrowed = [i for i in ids if u.text in self._text[i]]
            if narrowed:
                ids = narrowed
            elif head.kind == "mention" and head.text in self._brand_alias:
                continue  # "红罐王老吉": a word before a brand describes it
            elif self._brandlike(u.text):
                return [_Ref("unknown", term=text, start=start, clause=clause, strength="brandmiss", conf=0.8)]
            elif _adjective_char(u, core):
                # "黑猪肉", "青苹果": a one-character kind the catalog does not have.
                return [_Ref("unknown", term=text, start=start, clause=clause, strength="compound", conf=0.65)]
        if head.kind != "mention" and set(ids) == set(head.ext):
            ids = list(head.ids)  # nothing narrowed the head word: its main kind of goods
        family = tuple(ids)
        if head.kind == "mention":
            exact = [i for i in ids if i in head.ids]
            if exact:
                ids = exact
        conf = head.conf if len(named) == 1 else max(u.conf for u in named)
        ref = self._ref(tuple(ids), head.source, conf, start, clause, text)
        ref.family = tuple(i for i in family if i < self._carried)
        return [ref]

    def _ref(self, ids: tuple[int, ...], source: str, conf: float, start: int, clause: int,
             text: str) -> _Ref:
        carried = tuple(i for i in ids if i < self._carried)
        if not carried:
            return _Ref("unknown", term=self._all[ids[0]].name, start=start, clause=clause,
                        strength="absent", conf=0.9)
        return _Ref("products", ids=carried, source=source, conf=conf, start=start, clause=clause, term=text)

    def _lone(self, text: str, start: int, clause: int) -> _Ref:
        """A phrase with no catalog word: a brand or origin alone, a BM25 hit, or an unknown item."""
        ids = self._brand.get(text)
        if ids:
            return self._ref(ids, "brand", 0.6, start, clause, text)
        if len(text) >= 2 and _CJK.match(text):
            # A whole-word homophone of an alias ("混沌" for 馄饨) when nothing else explains the word.
            homo = [k for k in self._homophone.get(tuple(py.syllable(c) for c in text), ()) if len(k) == len(text)]
            if not homo and len(text) > 2:
                homo = [k for k in self._homophone.get(tuple(py.fuzzy(py.syllable(c)) for c in text), ())
                        if len(k) == len(text)]
            if homo:
                ids = tuple(dict.fromkeys(i for k in homo for i in self._alias[k]))
                return self._ref(ids, "typo", 0.6, start, clause, text)
            ranked = self._bm25.top([t for t in self._tk.lcut(text, HMM=False) if len(t) > 1])
            if ranked:
                return self._ref(ranked, "bm25", 0.5, start, clause, text)
        return _Ref("unknown", term=text, start=start, clause=clause, strength="plain", conf=0.6)

    def _wishable(self, term: str, asked: bool = False) -> bool:
        """Does `term` look like goods a buyer could stock, worth a line on the digest's wish list?

        A grocery word of the lexicon, or a word ending in one or in a catalog word ("光明牛奶"),
        qualifies; so does any other Chinese word of two or more characters that is not ordinary
        language. Latin letters alone ("zi", "iphone") and words about orders, money or non-grocery
        goods (手机, 衣服) do not; a single character only when it is what was asked ("卖不卖烟",
        `asked`), never a character left over from a longer phrase.
        """
        if not _HAS_CJK.search(term) or lx.NOT_AN_ITEM.search(term):
            return False
        if len(term) < 2:
            return asked and term not in lx.FUNCTION_CHARS
        vocab = WORDS.vocabulary()
        if term in vocab or term in self._alias or term in self._category:
            return True
        if any(term.endswith(w) for w in (term[-n:] for n in range(2, min(5, len(term) + 1)))
               if w in vocab or w in self._alias or w in self._suffix_ranks):
            return True
        return (self._base_freq.get(term) or 0) < COMMON_WORD_FREQ and not any(c in "我你他她们" for c in term)

    def _noun_like(self, t: str) -> bool:
        """Could `t` be the head noun of an item ("果汁"), rather than a verb or a common word?"""
        return (len(t) >= 2 and bool(_CJK.match(t)) and t not in lx.STOP_TOKENS and t not in lx.GENERIC_MODIFIERS
                and not any(c in lx.FUNCTION_CHARS for c in t) and (self._base_freq.get(t) or 0) < COMMON_WORD_FREQ)

    def _brandlike(self, t: str) -> bool:
        """Could `t` name a brand or variety the catalog lacks ("三元", "金锣"), not a plain word?"""
        if t in self._brand:
            return True
        if len(t) < 2 or not _CJK.match(t) or t in lx.GENERIC_MODIFIERS or t in lx.STOP_TOKENS:
            return False
        if any(c in lx.FUNCTION_CHARS for c in t):
            return False
        return (self._base_freq.get(t) or 0) < COMMON_WORD_FREQ


    # --- stage 7: decide ----------------------------------------------------------------------------

    def _decide(self, masked: str, refs: list[_Ref], attribute: str, unit_chars: list[str],
                faq: FaqEntry | None, faq_score: float, faq_weak: bool) -> Match:
        """Stage 7. A store-policy question outranks a product named in passing ("苹果坏了怎么办"),
        except a where-is question beside a product; an item the store lacks outranks the nearest
        product ("三元的牛奶" is never answered with 蒙牛)."""
        products = [r for r in refs if r.kind == "products"]
        strong_unknown = [r for r in refs if r.kind == "unknown" and r.strength != "plain"]
        plain_unknown = [r for r in refs if r.kind == "unknown" and r.strength == "plain"]
        if faq is not None and (not faq_weak or not (products or strong_unknown)):
            return Match("faq", faq=faq, confidence=min(0.95, 0.5 + faq_score / 10), stage="faq")
        if strong_unknown:
            r = strong_unknown[0]
            term = _clean_term(r.term)
            if not self._wishable(term):
                return Match("none", confidence=0.6, stage="not_an_item")
            return Match("unknown_product", term=term, confidence=r.conf, stage=r.strength)
        if products:
            return self._decide_products(products, masked, attribute or "price", unit_chars)
        if lx.PROMO_LIST.search(masked):
            return Match("promo_list", candidates=self._promos, confidence=0.85, stage="promo")
        if plain_unknown and lx.PRODUCT_CUE.search(masked):
            asked = [r for r in plain_unknown if r.cue and not lx.NOT_AN_ITEM.search(r.term)]
            if asked:
                # The item is the first word that is not ordinary language ("牛油果", not "下次").
                items = [r for r in asked if (self._base_freq.get(r.term) or 0) < COMMON_WORD_FREQ]
                r = items[0] if items else min(asked, key=lambda r: (self._base_freq.get(r.term) or 0, r.start))
                term = _clean_term(r.term)
                if term and term not in lx.STOP_TOKENS and self._wishable(term, asked=True):
                    return Match("unknown_product", term=term, confidence=r.conf, stage="plain")
        return Match("none", confidence=0.5, stage="nothing")

    def _decide_products(self, products: list[_Ref], masked: str, attribute: str, unit_chars: list[str]) -> Match:
        """One product, or the few to choose from, or the promotions of a kind of goods."""
        ask = pack_reader().read(masked)
        named = [r for r in products if not r.descriptive]
        if named:
            products = named
        cue_clauses = {r.clause for r in products if r.cue}
        if len({r.clause for r in products}) > 1 and cue_clauses:
            products = [r for r in products if r.clause in cue_clauses]  # "草莓不错，车厘子多少钱"
        generic = all(r.source == "category" or (r.source == "head" and len(r.ids) > 1) for r in products)
        if generic and lx.PROMO_LIST.search(masked) and (
                all(r.source == "category" for r in products) or lx.PROMO_ON_NOUN.search(masked)):
            cats = {self.products[i].category for r in products for i in r.ids}
            promos = tuple(p for p in self._promos if p.category in cats)
            return Match("promo_list", candidates=promos, confidence=0.8, stage="category")
        singles: list[int] = []
        for r in products:
            if len(r.ids) == 1 and r.ids[0] not in singles:
                singles.append(r.ids[0])
        groups = [r for r in products if len(r.ids) > 1]
        if len(singles) == 1 and not groups:
            family = next((r.family for r in products if len(r.family) > 1), ())
            if not family and lx.VARIETY.search(masked):
                family = self._kind_of(products[0].term)  # "食用油有几种": the oils, not just 金龙鱼
            if family and lx.VARIETY.search(masked):  # "苹果有几种": all of them, not the alias's one
                return Match("clarify", candidates=tuple(self.products[i] for i in family[:MAX_CANDIDATES]),
                             attribute=attribute, confidence=0.6, stage="variety")
            one = singles[0]
            if ask and one in self._variants:
                # "整箱王老吉", "怡宝一箱": the named row's sibling of the size or pack asked for.
                fit = [i for i in pick(self._variants[one], self._packs, ask) if i < self._carried]
                if one not in fit and fit:
                    if len(fit) > 1:
                        return Match("clarify", candidates=tuple(self.products[i] for i in fit[:MAX_CANDIDATES]),
                                     attribute=attribute, confidence=0.6, stage="pack")
                    one = fit[0]
            return Match("product", product=self.products[one], attribute=attribute,
                         confidence=max(r.conf for r in products), stage=products[0].source)
        ids = list(singles)
        for r in groups:
            if ask:
                # A named product in several sizes or packs: the words decide ("大瓶雪碧", "金龙鱼5L").
                chosen = pick(r.ids, self._packs, ask)
            else:
                narrowed = {i for i in r.ids if _fits_unit(self.products[i], unit_chars)}
                if len(narrowed) >= 2:
                    chosen = [i for i in r.ids if i in narrowed]
                else:  # one left: a generic word still gets a choice, that one first
                    chosen = sorted(r.ids, key=lambda i: i not in narrowed)
            ids.extend(i for i in chosen if i not in ids)
        cands = tuple(self.products[i] for i in ids[:MAX_CANDIDATES])
        if len(cands) == 1:
            return Match("product", product=cands[0], attribute=attribute, confidence=0.6, stage=products[0].source)
        return Match("clarify", candidates=cands, attribute=attribute, confidence=0.6, stage=products[0].source)


# --- helpers -------------------------------------------------------------------------------------

def _mask(s: str, mentions: list[_Unit]) -> str:
    if not mentions:
        return s
    chars = list(s)
    for m in mentions:
        for t in range(m.start, m.end):
            chars[t] = _MASK
    return "".join(chars)


def _attribute(masked: str) -> str:
    best: tuple[int, int, str] | None = None
    for attr, pattern in lx.ATTRIBUTE_PATTERNS:
        m = pattern.search(masked)
        if m:
            cand = (m.start(), -(m.end() - m.start()), attr)
            if best is None or cand < best:
                best = cand
    if best:
        return best[2]
    return "stock" if lx.STOCK_FRAME.search(masked) else ""


def _glued(prev: _Unit, u: _Unit, base_freq: dict[str, int] | None = None) -> bool:
    """Does `u` turn the product word before it into another product ("草莓酱", "榴莲千层")?"""
    if prev.end != u.start or u.ids or u.generic or prev.kind != "mention" or u.kind != "content":
        return False
    if u.text in lx.SUFFIX_MORPHEMES:
        return True
    if len(u.text) < 2 or not _CJK.match(u.text) or any(c in lx.FUNCTION_CHARS for c in u.text):
        return False
    return base_freq is not None and (base_freq.get(u.text) or 0) < COMMON_WORD_FREQ


def _prefixed(u: _Unit, head: _Unit) -> bool:
    """A one-character word glued before a one-character product ("地蛋", "乌鸡", "河虾")."""
    return (len(head.text) == 1 and head.kind == "mention" and u.end == head.start and len(u.text) == 1
            and not u.ids and not u.generic and u.text not in lx.FUNCTION_CHARS and bool(_CJK.match(u.text)))


def _adjective_char(u: _Unit, core: list[_Unit]) -> bool:
    """A one-character word right before the head noun, neither generic nor a function word."""
    k = core.index(u)
    nxt = core[k + 1] if k + 1 < len(core) else None
    return (len(u.text) == 1 and bool(_CJK.match(u.text)) and u.text not in lx.FUNCTION_CHARS
            and nxt is not None and bool(nxt.ids) and nxt.start == u.end)


def _is_subsequence(a: str, b: str) -> bool:
    it = iter(b)
    return all(c in it for c in a)


def _merge_unknown(units: list[_Unit]) -> list[_Unit]:
    """Adjacent unknown tokens are one word the segmenter did not know ("卫/岗" → "卫岗")."""
    out: list[_Unit] = []
    for u in units:
        if out and not u.ids and not out[-1].ids and out[-1].kind == "content" and u.kind == "content":
            prev = out[-1]
            out[-1] = _Unit(prev.start, u.end, prev.text + u.text, "content")
        else:
            out.append(u)
    return out


def _asks(text: str) -> bool:
    """Does this text ask something (a question word, an attribute, a wish)?"""
    return (bool(lx.CUE.search(text)) or bool(lx.STOCK_FRAME.search(text))
            or any(p.search(text) for _, p in lx.ATTRIBUTE_PATTERNS))


def _fits_unit(p: Product, unit_chars: list[str]) -> bool:
    """Is the product sold by the classifier the shopper used ("一桶", "一箱")? True when none was used."""
    return not unit_chars or any(u == p.unit or u in p.spec for u in unit_chars)


_TERM_EDGE = re.compile(r"^(?:[的了吗呢啊呀吧嘛哦么卖买要有进订求来]+)|(?:[的了吗呢啊呀吧嘛哦么卖]+)$")


def _clean_term(term: str) -> str:
    t = term.strip(" ,.?!~")
    if t in WORDS.vocabulary():
        return t  # "烧卖" is a dish, not "烧" + the verb 卖
    prev = None
    while prev != t:
        prev = t
        t = _TERM_EDGE.sub("", t)
    return t
