"""Every process answers from its own index and picks up catalog changes made by any other, and
the demo files seed an empty catalog only."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.config import ConfigError
from handlers.qa.cache import QACache
from handlers.qa.catalog import Product
from handlers.qa.settings import resolve, settings
from store import Store
from tests.qa.conftest import DATA, qa_config
from tests.qa.helpers import shopper_says


def second_process(h, refresh: float) -> QACache:
    """Another replica: its own Store and cache over the same Redis."""
    return QACache(Store(h.redis, prefix=h.config.redis.prefix), refresh_seconds=refresh)


async def test_a_guide_edit_through_one_process_is_answered_by_another(service):
    other = second_process(service, refresh=0.05)
    assert (await other.index("S01")).product("F001").price_fen == 3990
    out = await service.ask("/改价 草莓 35.9", user="xiaowang")  # through this process's wiring
    assert "35.9元/盒" in out[0]
    await asyncio.sleep(0.1)  # past the other's refresh interval
    idx = await other.index("S01")
    assert idx.product("F001").price_fen == 3590
    assert idx.match("草莓多少钱").product.price_fen == 3590
    assert (await other.index("S02")).product("F001").price_fen == 3990  # the guide's store only


async def test_within_the_refresh_interval_the_index_is_not_reread(service):
    slow = second_process(service, refresh=3600)
    await slow.index("S01")
    await service.store.catalog.edit("F001", "S01", "stock", 0, "m:stock0")
    assert (await slow.index("S01")).product("F001").stock == 120  # no Redis read yet
    slow.invalidate()
    assert (await slow.index("S01")).product("F001").stock == 0


async def test_an_edit_patches_the_index_an_import_rebuilds_it(service):
    """Guides change price, stock and promo all day; that must not cost every process a rebuild of
    every store's index. An import that renames things must rebuild."""
    cache = second_process(service, refresh=3600)
    before = await cache.index("S01")
    other_store = await cache.index("S02")
    await service.store.catalog.edit("F001", "S01", "promo", "买一送一", "m:promo")
    cache.invalidate()
    after = await cache.index("S01")
    assert after is not before and after._alias is before._alias  # patched, not rebuilt
    assert after.match("草莓有活动吗").product.promo == "买一送一"
    assert any(p.sku == "F001" for p in after.promotions())
    assert before.product("F001").promo == "第二盒半价"  # the old one is left as it was
    assert (await cache.index("S02")).product("F001").promo == "第二盒半价"
    assert (await cache.index("S02"))._alias is other_store._alias
    _, products, faqs = await service.store.catalog.load()
    renamed = [dataclasses.replace(p, aliases=(*p.aliases, "天使莓")) if p.sku == "F001" else p for p in products]
    await service.store.catalog.replace(renamed)
    cache.invalidate()
    serving = await cache.index("S01")  # the rebuild runs in the background; the old index answers
    assert serving._alias is before._alias and serving.match("天使莓多少钱").intent == "unknown_product"
    await cache.settled()
    rebuilt = await cache.index("S01")
    assert rebuilt._alias is not before._alias and rebuilt.match("天使莓多少钱").sku == "F001"


async def test_an_import_reaches_the_running_service(service):
    await service.store.catalog.replace([Product("N1", "海南椰子", ("椰子",), "水果", "1个", "个", 1290, 9)])
    out = await shopper_says(service, "wm1", "椰子多少钱")
    assert "海南椰子 12.9元/个" in out[0]


async def test_seed_fills_an_empty_catalog_once_and_never_overwrites(service, redis, prefix):
    # The service seeded the demo files at start.
    version = await service.store.catalog.version()
    _, products, faqs = await service.store.catalog.load()
    assert version >= 1 and len(products) == 114 and {f.id for f in faqs} >= {"hours", "delivery"}
    await service.store.catalog.edit("F001", None, "price_fen", 100, "m:edit")
    again = second_process(service, refresh=0)
    assert await again.seed(DATA / "catalog.csv", DATA / "faq.csv") is False
    _, products, _ = await service.store.catalog.load()
    assert next(p for p in products if p.sku == "F001").price_fen == 100


async def test_two_replicas_starting_at_once_seed_once(redis, prefix):
    a, b = (QACache(Store(redis, prefix=prefix)) for _ in range(2))
    done = await asyncio.gather(*(c.seed(DATA / "catalog.csv", DATA / "faq.csv") for c in (a, b)))
    assert sorted(done) == [False, True]
    assert await a.store.catalog.version() == 1


async def test_a_seed_file_with_bad_rows_seeds_nothing(redis, prefix, tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_text("sku,name,price\nA1,苹果,abc\n", encoding="utf-8")
    cache = QACache(Store(redis, prefix=prefix))
    assert await cache.seed(bad, DATA / "faq.csv") is False
    assert await cache.store.catalog.version() == 0


def test_relative_paths_resolve_next_to_the_config_then_cwd_then_the_source_tree(tmp_path, monkeypatch, prefix):
    cfg = qa_config(prefix, "http://x")
    monkeypatch.chdir(tmp_path)  # not the repo: the source tree still has data/
    assert resolve(cfg, "data/catalog.csv") == DATA / "catalog.csv"
    (tmp_path / "mine.csv").write_text("x")
    assert resolve(cfg, "mine.csv") == tmp_path / "mine.csv"
    assert resolve(cfg, "nowhere.csv") is None and resolve(cfg, "") is None


def test_demo_defaults_to_the_demo_files_and_production_to_nothing(prefix):
    cfg = qa_config(prefix, "http://x")
    bare = dataclasses.replace(cfg, extra={})
    assert (settings(bare).catalog, settings(bare).faq) == ("", "")
    demo = dataclasses.replace(bare, demo=True)
    assert (settings(demo).catalog, settings(demo).faq) == ("data/catalog.csv", "data/faq.csv")


def test_bad_qa_settings_name_the_key(prefix):
    cfg = qa_config(prefix, "http://x")
    for section, message in (({"refresh": 1}, "unknown key qa.refresh"),
                             ({"refresh_seconds": "soon"}, "qa.refresh_seconds must be a number"),
                             ({"hint_every_minutes": -1}, "qa.hint_every_minutes must not be negative")):
        with pytest.raises(ConfigError, match=message):
            settings(dataclasses.replace(cfg, extra={"qa": section}))


async def test_a_cold_process_answers_every_concurrent_question(service):
    """Issue 11: the first questions of a fresh worker raced the cache load; an empty index was
    built, the handler passed on them and they were acked unanswered."""
    from bot.render import renderer
    render = renderer()
    from tests.qa.helpers import dispatch, kf_message

    cache = service.deps["qa"]
    assert cache.version == -1  # nothing loaded yet in this process
    cache.refresh = 1.0  # production's interval (the tests' 0 re-reads on every question)
    msgs = [kf_message(f"cold{n}", "草莓多少钱") for n in range(20)]
    replies = await asyncio.gather(*(dispatch(service, m) for m in msgs))
    assert all(len(r) == 1 and "丹东99草莓" in render(r[0]) for r in replies), [r and r[0].template for r in replies]


async def test_concurrent_first_asks_load_the_catalog_once(service, monkeypatch):
    cache = second_process(service, refresh=1.0)
    loads = 0
    real = cache.store.catalog.load

    async def counted():
        nonlocal loads
        loads += 1
        return await real()

    monkeypatch.setattr(cache.store.catalog, "load", counted)
    got = await asyncio.gather(*(cache.index(s) for s in ("S01", "S02", None) * 7))
    assert loads == 1 and all(idx.match("草莓多少钱").sku == "F001" for idx in got)


async def test_a_load_read_in_chunks_never_mixes_two_versions(service, monkeypatch):
    """A chain's catalog is read in HSCAN chunks; an edit landing mid-read makes it read again."""
    import store.catalog as catalog_mod

    monkeypatch.setattr(catalog_mod, "LOAD_CHUNK", 5)
    cat = service.store.catalog
    real_scan, edits = cat.r.hscan_iter, []

    async def scan_with_an_edit(*a, **kw):
        n = 0
        async for item in real_scan(*a, **kw):
            n += 1
            if n == 10 and not edits:  # a guide's edit between two chunks of the first read
                edits.append(await cat.edit("F001", None, "price_fen", 100, "m:mid-load"))
            yield item

    monkeypatch.setattr(cat.r, "hscan_iter", scan_with_an_edit)
    version, products, _ = await cat.load()
    assert edits and edits[0].status == "applied"
    assert version == await cat.version() and len(products) == 114
    assert next(p for p in products if p.sku == "F001").price_fen == 100
    assert len({id(p.category) for p in products if p.category == "水果"}) == 1  # one string for all rows


async def test_a_failed_version_check_answers_from_the_loaded_catalog(service, monkeypatch, caplog):
    from redis.exceptions import ConnectionError as RedisConnectionError

    cache = second_process(service, refresh=0)
    assert (await cache.index("S01")).product("F001").price_fen == 3990

    async def down():
        raise RedisConnectionError("Redis is restarting")

    monkeypatch.setattr(cache.store.catalog, "version", down)
    assert (await cache.index("S01")).product("F001").price_fen == 3990
    assert "catalog version check failed" in caplog.text


async def test_an_edit_reaches_a_process_as_the_rows_it_wrote_an_import_as_a_full_load(service, monkeypatch):
    """A chain's catalog is half a million rows: a guide's edit must not make every process read
    them all again. The edit's rows come from the change log; an import is read in full."""
    cache = second_process(service, refresh=0)
    s02 = await cache.index("S02")
    loads = []
    real = cache.store.catalog.load

    async def counted():
        loads.append(1)
        return await real()

    monkeypatch.setattr(cache.store.catalog, "load", counted)
    await service.store.catalog.edit("F001", "S01", "price_fen", 3590, "m:e1")
    await service.store.catalog.edit("F002", None, "stock", 0, "m:e2")
    assert (await cache.index("S01")).product("F001").price_fen == 3590
    assert (await cache.index("S02")).product("F001").price_fen == 3990
    s02_now = await cache.index("S02")
    assert s02_now.product("F002").stock == 0 and loads == []
    await service.store.catalog.edit("F001", "S01", "promo", "店庆", "m:e3")  # S01 only: S02 keeps its index
    assert (await cache.index("S01")).product("F001").promo == "店庆"
    assert (await cache.index("S02")) is s02_now and cache.version == await cache.store.catalog.version()
    assert loads == []
    assert (await cache.index("S02"))._alias is s02._alias
    _, products, faqs = await service.store.catalog.load()
    await service.store.catalog.replace(products)
    await cache.index("S01")
    assert loads == [1]


async def test_the_first_import_into_an_empty_catalog_is_waited_for(redis, prefix):
    """A process that found no catalog has nothing to answer from while the first import's index
    is built: questions wait for it instead of passing on ("no catalog yet")."""
    cache = QACache(Store(redis, prefix=prefix), refresh_seconds=0)
    await cache.index("S01")
    assert cache.empty
    await cache.store.catalog.replace([Product("N1", "海南椰子", ("椰子",), "水果", "1个", "个", 1290, 9)])
    idx = await cache.index("S01")
    assert not cache.empty and idx.match("椰子多少钱").sku == "N1"


async def _forget_catalog(h) -> None:
    """What a Redis restarted without persistence leaves: no catalog keys at all."""
    keys = [k async for k in h.redis.scan_iter(match=f"{h.config.redis.prefix}:*cat*", count=1000)]
    if keys:
        await h.redis.delete(*keys)
    assert await h.store.catalog.version() == 0


async def test_a_catalog_lost_with_redis_is_seeded_again_from_the_configured_files(service):
    cache = service.deps["qa"]
    assert (await cache.index("S01")).match("草莓多少钱").product.sku == "F001"
    await _forget_catalog(service)
    cache.invalidate()
    assert (await cache.index("S01")).match("草莓多少钱").product.sku == "F001"  # still answering
    assert await service.store.catalog.version() > 0  # and the files are back in Redis
    assert "39.9元" in (await shopper_says(service, "wmLost", "草莓多少钱"))[0]


async def test_without_files_a_lost_catalog_is_answered_from_memory(service, caplog):
    cache = service.deps["qa"]
    await cache.index("S01")
    cache.seed_files = (None, None)
    await _forget_catalog(service)
    cache.invalidate()
    assert (await cache.index("S01")).match("草莓多少钱").product.sku == "F001"
    assert "catalog is gone from Redis" in caplog.text


def test_a_chain_sized_index_is_kept_out_of_full_gc_passes():
    """Objects alive after a chain-sized build are frozen (later full passes skip them); a small
    catalog changes nothing; each freeze first unfreezes and collects, so nothing stays frozen
    past the next build."""
    import gc

    from handlers.qa import cache as qa_cache
    before = gc.get_freeze_count()
    try:
        qa_cache.keep_out_of_gc(qa_cache.FREEZE_ROWS - 1)
        assert gc.get_freeze_count() == before
        qa_cache.keep_out_of_gc(qa_cache.FREEZE_ROWS)
        frozen = gc.get_freeze_count()
        assert frozen > 0
        qa_cache.keep_out_of_gc(qa_cache.FREEZE_ROWS)
        assert abs(gc.get_freeze_count() - frozen) < frozen // 2  # re-frozen, not piled up
    finally:
        gc.unfreeze()
