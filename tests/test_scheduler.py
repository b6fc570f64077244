"""Scheduled jobs: the configured timezone, ids named by the fire time, once across replicas."""
from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.message import Message
from bot.scheduler import Job, Scheduler, trigger_for
from tests.conftest import make_config

TZ = ZoneInfo("Asia/Shanghai")


async def inbox_ids(store) -> list[str]:
    ids = []
    for part in range(store.inbox.n):
        for _, fields in await store.r.xrange(store.inbox.key(part)):
            ids.append(Message.from_json(fields[b"d"]).id)
    return ids


def test_cron_runs_in_the_configured_timezone():
    nxt = trigger_for("30 22 * * *", TZ).get_next_fire_time(None, datetime(2026, 6, 1, 12, 0, tzinfo=TZ))
    assert (nxt.hour, nxt.minute, nxt.utcoffset().total_seconds()) == (22, 30, 8 * 3600)


async def test_two_replicas_firing_the_same_time_enqueue_once(service):
    jobs = [Job("nightly", "* * * * *"), Job("sweep", "@every 30")]
    a, b = (Scheduler(service.config, service.store, jobs) for _ in range(2))
    for job in jobs:
        await a._fire(job)
        await b._fire(job)
    ids = await inbox_ids(service.store)
    assert sorted(i.rsplit(":", 1)[0] for i in ids) == ["job:nightly", "job:sweep"]
    nightly = next(i for i in ids if i.startswith("job:nightly"))
    assert int(nightly.rsplit(":", 1)[1]) % 60 == 0  # named by the scheduled minute, not the moment it ran


async def test_two_running_schedulers_fire_each_time_once(aiohttp_client, redis, prefix, fake):
    """Two replicas' real APScheduler loops, a job every second: every fire time lands once."""
    from tests.harness import Harness
    h = await Harness.start(aiohttp_client, redis, make_config(prefix, fake.base_url), fake)
    jobs = [Job("tick", "@every 1")]
    replicas = [Scheduler(h.config, h.store, jobs) for _ in range(2)]
    fired: list[list[datetime]] = [[], []]
    for s, log in zip(replicas, fired):
        enqueue = s.enqueue

        async def counted(name, fire, late=False, _enqueue=enqueue, _log=log):
            _log.append(fire)
            return await _enqueue(name, fire, late)
        s.enqueue = counted
        await s.start()
    try:
        while min(map(len, fired)) < 3:
            await asyncio.sleep(0.1)
    finally:
        for s in replicas:
            await s.stop()
    ids = await inbox_ids(h.store)
    times = {int(f.timestamp()) for log in fired for f in log}
    assert len(ids) == len(set(ids)) == len(times)  # both replicas fired; one entry per fire time


async def test_a_job_message_reaches_its_handler_once(service):
    from bot.router import Dispatcher, Router
    runs = []
    r = Router("jobs")

    @r.schedule("nightly")
    async def nightly(msg: Message) -> None:
        runs.append(msg.id)

    service.worker.dispatcher = Dispatcher([r])
    s = Scheduler(service.config, service.store, [Job("nightly", "* * * * *")])
    for _ in range(3):
        await s._fire(s.jobs[0])
    await service.drain()
    assert len(runs) == 1 and runs[0].startswith("job:nightly:")


def test_schedule_section_overrides_and_disables_jobs(prefix):
    cfg = make_config(prefix, "http://x", schedule={"nightly": "0 3 * * *", "sweep": ""})
    s = Scheduler(cfg, None, [Job("nightly", "* * * * *"), Job("sweep", "@every 30"), Job("other", "@every 5")])
    assert [(j.name, j.spec) for j in s.jobs] == [("nightly", "0 3 * * *"), ("other", "@every 5")]


async def test_a_fire_during_a_redis_outage_is_retried_until_it_is_enqueued(service):
    from bot import metrics
    job = Job("sweep", "@every 30")
    s = Scheduler(service.config, service.store, [job])
    real, calls = s.enqueue, []

    async def flaky(name, fire, late=False):
        calls.append(fire)
        if len(calls) <= 2:
            raise ConnectionError("Redis is restarting")
        return await real(name, fire, late)
    s.enqueue = flaky
    before = metrics.LOOP_ERRORS.labels("scheduler_sweep")._value.get()
    await s._fire(job)
    assert len(calls) == 3 and len(set(calls)) == 1  # the same fire time each try: deduped by the inbox
    assert [i.rsplit(":", 1)[0] for i in await inbox_ids(service.store)] == ["job:sweep"]
    assert metrics.LOOP_ERRORS.labels("scheduler_sweep")._value.get() - before == 2
