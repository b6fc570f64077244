"""The catalog-name index reads a line exactly as cleaning and masking every catalog name did."""
from __future__ import annotations

import random

import pytest

from bench.handle_cost import generate
from handlers.groupbuy.intents import GroupRef, NotGroupBuy, parse_shopper
from handlers.groupbuy.names import CatalogNames, NameIndex, OtherNames, mask_found
from handlers.groupbuy.numerals import MASK, PROTECTED_NAMES, mask
from handlers.groupbuy.text import clean

HIDDEN = "\x01"


def reference_others(rows, skus, own) -> list[str]:
    """handlers.groupbuy.context.other_products as it was: every row, every line."""
    out = []
    for sku, names in rows:
        if sku in skus:
            continue
        for n in names:
            if len(n) >= 2 and not any(n in t or t in n for t in own):
                out.append(n)
    return list(dict.fromkeys(out))


def reference_read(work: str, others: list[str], reverse_ties: bool = False) -> tuple[bool, str]:
    """intents._parse_line's two catalog steps as they were: any(clean(o) in work) and mask().
    mask() took equal-length names in set order; `reverse_ties` takes them the other way round.
    `others` are cleaned already (the costly part of the old way, done once here per set)."""
    hit = any(o in work for o in others)
    names = sorted({n for n in (*PROTECTED_NAMES, *others) if n}, reverse=reverse_ties)
    for name in sorted(names, key=len, reverse=True):
        work = work.replace(name, HIDDEN * len(name))
    return hit, work


@pytest.fixture(scope="module")
def catalog():
    products = generate(800)
    return [(p.sku, (p.name, *p.aliases)) for p in products]


def lines(rows, rng: random.Random, n: int) -> list[str]:
    """Shopper-like lines: catalog names and aliases glued to quantities, fillers and each other."""
    words = [w for _, names in rows for w in names] + list(PROTECTED_NAMES)
    glue = ["", " ", "+1", "两斤", "我要", "2盒", "多少钱", "，", "还有吗", "三只", MASK * 2, "草莓", "来俩"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 4)):
            w = clean(rng.choice(words), emoji_words=False)
            if rng.random() < 0.3 and len(w) > 2:  # a piece of a name
                i = rng.randrange(len(w) - 1)
                w = w[i:i + rng.randint(2, len(w) - i)]
            parts += [w, rng.choice(glue)]
        out.append("".join(parts))
    return out


@pytest.mark.parametrize("size", [114, 800])  # the demo rows alone (aliases of one row), and variants
def test_others_are_the_names_other_products_chose(size):
    catalog = [(p.sku, (p.name, *p.aliases)) for p in generate(size)]
    names = CatalogNames(catalog)
    rng = random.Random(1)
    for _ in range(40):
        picked = rng.sample(catalog, rng.randint(1, 3))
        skus = {sku for sku, _ in picked}
        # A 团's own names: its SKU's names, or a title alone (then the SKU keeps the rest out).
        own = [t for _, ns in picked for t in (ns if rng.random() < 0.5 else ns[:1])]
        expected = reference_others(catalog, skus, own)
        found = names.others(skus, own)
        active = {c for c in names.catalog if found.other(c)}
        assert active == {clean(o, emoji_words=False) for o in expected} - {""}


def test_a_line_reads_as_before(catalog):
    names = CatalogNames(catalog)
    rng = random.Random(2)
    for _ in range(40):
        picked = rng.sample(catalog, rng.randint(1, 2))
        skus = {sku for sku, _ in picked}
        own = [t for _, ns in picked for t in ns]
        others = [clean(o, emoji_words=False) for o in reference_others(catalog, skus, own)]
        indexed = names.others(skus, own)
        for text in lines(catalog, rng, 25):
            hit, masked = indexed.read(text, HIDDEN)
            ref_hit, ref_masked = reference_read(text, others)
            assert hit == ref_hit, text
            if ref_masked == reference_read(text, others, reverse_ties=True)[1]:
                assert masked == ref_masked, (text, masked, ref_masked)
            else:  # overlapping names of equal length: which one wins was set order before
                assert masked.count(HIDDEN) == ref_masked.count(HIDDEN), (text, masked, ref_masked)


def test_mask_found_is_mask():
    rng = random.Random(4)
    names = ["五花肉", "五花", "花肉", "三只松鼠", "松鼠", "草莓", "莓草", "草莓草", "aa", "a"]
    for _ in range(500):
        text = "".join(rng.choice("五花肉三只松鼠草莓a ") for _ in range(rng.randint(0, 14)))
        # One name per length, so mask()'s order among equal lengths cannot differ.
        chosen = list({len(n): n for n in rng.sample(names, rng.randint(1, len(names)))}.values())
        found = NameIndex(chosen).occurrences(text)
        assert mask_found(text, found, HIDDEN) == mask(text, chosen, HIDDEN), (text, chosen)


def test_a_name_that_cleans_to_nothing_still_counts_everywhere():
    # As before: clean("🍓🍓") is "" and "" is in every line, so every line names another product.
    others = OtherNames.of(["🎁🎁"])
    assert others.read("+1", HIDDEN)[0] is True
    assert parse_shopper("+1", [GroupRef(1, "丹东99草莓", ("草莓",), "盒")], other_products=others) == \
        NotGroupBuy("other_product")


def test_the_parser_takes_a_list_or_an_index_alike(catalog):
    group = GroupRef(1, "丹东99草莓", ("草莓", "99草莓"), "盒")
    names = CatalogNames(catalog)
    skus = {sku for sku, ns in catalog if "丹东99草莓" in ns}
    others = reference_others(catalog, skus, [group.product, *group.aliases])
    indexed = names.others(skus, [group.product, *group.aliases])
    for text in ("+1", "我要两份", "我要两斤五花肉", "三只松鼠2袋", "草莓2 车厘子1", "车厘子+1", "五常大米要一袋",
                 "草莓两盒 3栋502", "给我妈也报一份", "改成3盒"):
        assert parse_shopper(text, [group], other_products=indexed) == \
            parse_shopper(text, [group], other_products=others), text


async def test_a_price_edit_keeps_the_catalog_names_without_reading_the_catalog(service, monkeypatch):
    from handlers.groupbuy import context
    from tests.groupbuy.helpers import load_catalog
    await load_catalog(service)
    store = service.store
    cache = context.CatalogNamesCache()
    first = await cache.names(store, await store.catalog.version())
    await store.catalog.edit("F001", "S01", "price_fen", 3590, "m:edit-keeps-names")

    async def no_full_read():
        raise AssertionError("a price edit must not re-read the whole catalog")
    monkeypatch.setattr(store.catalog, "load", no_full_read)
    assert await cache.names(store, await store.catalog.version()) is first
