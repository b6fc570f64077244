"""Application factory: what runs, in which order, and what is torn down in reverse.

Everything feature-specific comes from the feature list (handlers.FEATURES, or a test's own list):
routers for the worker's dispatcher, jobs for the scheduler, settings checked before anything
starts, setup/teardown, admin API routes. This module and bot/cli.py are the only ones in bot/ that
import `handlers`, and only for that list.
"""
from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

import handlers
from bot import api, callback, console, dead_letters, health, metrics, server
from bot import feature as contract
from bot.appkeys import CONFIG, CONSUMERS, CRYPTO_AIBOT, CRYPTO_APP, DEPS, FEATURES, HTTP, REDIS, STORE
from bot.config import Config, check_features
from bot.consumer import PartitionConsumer, consumer_name
from bot.crypto import Crypto
from bot.loops import supervise
from bot.redis_server import EmbeddedRedis
from bot.outbox import Emitter
from bot.render import renderer
from bot.router import Dispatcher
from bot.scheduler import Scheduler
from bot.sender import Sender
from bot.wecom_api import WeComClient
from store import Store, connect

log = logging.getLogger(__name__)


def _crypto(token: str, key: str, receive_id: str) -> Crypto | None:
    return Crypto(token, key, receive_id) if token and key else None


WORKER_GC_THRESHOLDS = (10_000, 20, 100)


def create_app(config: Config, *, role: str = "all", redis: Redis | None = None,
               features: list[contract.Feature] | None = None) -> web.Application:
    """The service for `role` (all | web | worker). Raises ConfigError when a section, key or job
    name is unknown to `features` (default handlers.FEATURES), before anything is started."""
    features = list(handlers.FEATURES if features is None else features)
    contract.check_unique(features)
    typed_settings = check_features(config, features)
    app = web.Application(client_max_size=config.server.max_body_bytes)
    app[CONFIG] = config
    app[FEATURES] = features
    app[CRYPTO_APP] = _crypto(config.wecom.app.token, config.wecom.app.encoding_aes_key, config.wecom.corp_id)
    app[CRYPTO_AIBOT] = _crypto(config.wecom.aibot.token, config.wecom.aibot.encoding_aes_key, "")

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        embedded = supervisor = None
        client = redis
        if client is None:
            url = config.redis.url
            if not url:
                embedded = EmbeddedRedis(config.redis.data_dir)
                url = await embedded.astart()
                supervisor = asyncio.create_task(embedded.supervise())
            client = connect(url)
        app[REDIS] = client
        w = config.worker
        app[STORE] = Store(client, prefix=config.redis.prefix, partitions=w.partitions,
                           dedupe_ttl=w.dedupe_ttl_seconds, dead_max=w.dead_letter_max, dead_days=w.dead_letter_days,
                           retention=config.retention)
        if config.archive.enabled:
            app[STORE].inbox.group_text_days = config.archive.keep_days
        await app[STORE].inbox.ensure_groups()
        await app[STORE].outbox.ensure_groups()
        yield
        if redis is None:
            await client.aclose()
        if embedded:
            supervisor.cancel()
            await embedded.astop()

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession()
        app[HTTP] = session
        store = app[STORE]
        client = WeComClient(session, store.r, store.keys, corp_id=config.wecom.corp_id,
                             api_base=config.wecom.api_base, timeout=config.sender.timeout_seconds)
        sender = Sender(config, store, client)
        deps = {"store": store, "config": config, "api": client, "sender": sender,
                "emit": Emitter(store, renderer(config))}
        # A handler asks for its feature's settings by parameter name: `<feature>_settings`.
        deps.update({f"{name}_settings": st for name, st in typed_settings.items()})
        await contract.setup(features, deps)
        app[DEPS] = deps
        dead = dead_letters.refresher(store)
        metrics.REFRESHERS.append(dead)
        yield
        if dead in metrics.REFRESHERS:
            metrics.REFRESHERS.remove(dead)
        await contract.teardown(features, deps)
        await session.close()

    async def worker_ctx(app: web.Application) -> AsyncIterator[None]:
        deps, store = app[DEPS], app[STORE]
        # A message allocates a few hundred short-lived containers: at CPython's default (700) a
        # young-generation pass ran every five messages and cost ~110 µs per message in
        # bench/chain_scale.py; with these thresholds ~20 µs, for a few MB more kept between passes.
        gc.set_threshold(*WORKER_GC_THRESHOLDS)
        renderer(config).compile_all()  # before the first message, not during it
        p = pipeline(config, deps, features)
        inbox, outbox, scheduler = p.inbox, p.outbox, p.scheduler
        # supervise(): a consumer's run() handles Redis errors itself; this restarts it after a bug.
        consumers = [(c, asyncio.create_task(supervise(f"{c.stream.name}_consumer", c.run))) for c in (inbox, outbox)]
        app[CONSUMERS] = consumers
        retries = asyncio.create_task(supervise("sender_retries", deps["sender"].run_retries))
        gauges = health.stream_gauges(store)
        metrics.REFRESHERS.append(gauges)
        await scheduler.start()
        yield
        await scheduler.stop()
        # Drain in pipeline order: the inbox's last acks queue replies the sender can still send.
        for consumer, _ in consumers:
            await consumer.stop(timeout=10)
        retries.cancel()
        for _, task in consumers:
            task.cancel()
        await asyncio.wait([retries, *(t for _, t in consumers)], timeout=10)  # each consumer bounds its own shutdown too
        metrics.REFRESHERS.remove(gauges)

    async def archive_ctx(app: web.Application) -> AsyncIterator[None]:
        from bot.archive.reader import ArchiveReader
        reader = ArchiveReader(config, app[STORE], app[DEPS]["api"])
        app[DEPS]["archive"] = reader
        task = asyncio.create_task(supervise("archive_reader", reader.run))
        yield
        await reader.stop()
        await asyncio.wait([task], timeout=15)
        task.cancel()

    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(services_ctx)
    if config.wecom.aibot.mode == "websocket":  # every role: a lease picks the one process that dials
        from bot import aibot_ws
        app.cleanup_ctx.append(aibot_ws.link_ctx)
    if role in ("all", "worker"):
        app.cleanup_ctx.append(worker_ctx)
    if role == "archive" or (role == "all" and config.archive.enabled):
        app.cleanup_ctx.append(archive_ctx)
    if role in ("all", "web"):
        callback.setup(app)
        api.setup(app, contract.api_routes(features))
        console.setup(app, [p for f in features for p in f.pages])
    health.setup(app)
    app.router.add_get("/metrics", metrics_route)
    if config.demo:
        from bot.fakewecom import create_fake_app
        fake = create_fake_app()
        if config.archive.enabled and config.archive.sdk == "fake":
            from bot.archive import fake as fake_archive
            fake_archive.install(fake, fake_archive.for_config(config))
        app.add_subapp("/fake", fake)
    server.guard_routes(app)  # every route: the connection guard's bookkeeping and the 500 backstop
    return app


@dataclass(frozen=True)
class Pipeline:
    """What a worker process runs over the services in `deps`: handlers, sender, scheduled jobs."""

    worker: Any  # bot.worker.Worker
    inbox: PartitionConsumer
    outbox: PartitionConsumer
    scheduler: Scheduler


def pipeline(config: Config, deps: dict[str, Any], features: list[contract.Feature], *, worker_name: str = "",
             sender_name: str = "") -> Pipeline:
    """The worker, its inbox and outbox consumers and the scheduler, wired to `deps` (the tests'
    harness drives the same pieces in burst mode)."""
    from bot.worker import Worker  # bot.worker imports the router and store layers; only workers need it
    store, w = deps["store"], config.worker
    worker = Worker(config, store, Dispatcher(contract.routers(features)), deps)
    deps["worker"] = worker
    opts = dict(lease_ms=w.lease_ms, retry_after_ms=w.retry_after_ms, max_deliveries=w.max_deliveries)
    inbox = PartitionConsumer(store.inbox, worker.handle, name=worker_name or consumer_name("worker"), **opts)
    outbox = PartitionConsumer(store.outbox, deps["sender"].handle, name=sender_name or consumer_name("sender"),
                               **opts)
    return Pipeline(worker, inbox, outbox, Scheduler(config, store, contract.jobs(features)))


async def metrics_route(request: web.Request) -> web.Response:
    body = await metrics.scrape()
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})
