"""APScheduler in the configured timezone. A job only enqueues a synthetic Message whose id is
`job:<name>:<fire time>`; the inbox dedupes it, so N replicas firing the same time run it once.

Jobs with catch_up=True that were due while no replica was running are enqueued at start, marked late.
A fire that cannot be enqueued (Redis unreachable) is retried with backoff until the job's next
fire time, logged once per outage.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.loops import Outage
from bot.message import Message
from store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    spec: str  # five-field cron ("30 22 * * *") or "@every <seconds>"
    catch_up: bool = False


def trigger_for(spec: str, tz: ZoneInfo):
    if spec.startswith("@every"):
        return IntervalTrigger(seconds=int(spec.split()[1]), timezone=tz)
    return CronTrigger.from_crontab(spec, timezone=tz)


def fire_message(name: str, fire: datetime, late: bool = False) -> Message:
    ts = int(fire.timestamp())
    return Message(id=f"job:{name}:{ts}", channel="schedule", conversation=f"job:{name}", kind="schedule",
                   event=name, sender="scheduler", sender_kind="system", time=ts, raw={"late": late})


class Scheduler:
    def __init__(self, config: Config, store: Store, jobs: list[Job]) -> None:
        self.tz = ZoneInfo(config.bot.timezone)
        overrides = config.section("schedule")
        self.jobs = [Job(j.name, str(overrides.get(j.name, j.spec)), j.catch_up) for j in jobs
                     if overrides.get(j.name, j.spec)]
        self.store = store
        self.sched = AsyncIOScheduler(timezone=self.tz)
        self._outages = {j.name: Outage(f"scheduler_{j.name}", log) for j in self.jobs}

    async def enqueue(self, name: str, fire: datetime, late: bool = False) -> bool:
        msg = fire_message(name, fire, late)
        added = await self.store.inbox.put(msg.conversation, msg.id, msg.to_json())
        await self.store.schedule.fired(name, int(fire.timestamp()))
        return added is not None

    async def _fire(self, job: Job) -> None:
        trigger = trigger_for(job.spec, self.tz)
        now = datetime.now(self.tz)
        # The scheduled time, not "now", names the run: every replica computes the same id.
        fire = trigger.get_next_fire_time(None, now - timedelta(seconds=30)) or now
        if isinstance(trigger, IntervalTrigger):
            step = int(trigger.interval.total_seconds())
            fire = datetime.fromtimestamp(int(now.timestamp()) // step * step, self.tz)
        nxt = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        # Retry until just before the next fire, so runs of one job never overlap.
        deadline = time.monotonic() + max(5.0, (nxt - now).total_seconds() - 1 if nxt else 60.0)
        outage = self._outages[job.name]
        while True:
            try:
                await self.enqueue(job.name, fire)
                outage.ok()
                return
            except Exception:
                outage.failed(f"enqueue of the {fire:%H:%M:%S} run")
            if time.monotonic() > deadline:
                log.error("job %s: the run of %s was not enqueued before the next one", job.name, fire)
                return
            await asyncio.sleep(min(outage.backoff.next(), max(0.0, deadline - time.monotonic())))

    async def catch_up(self, now: datetime | None = None) -> list[str]:
        """Enqueue the latest missed fire of each catch-up job since its last recorded run."""
        now = now or datetime.now(self.tz)
        fired = []
        for job in self.jobs:
            last = await self.store.schedule.last_fire(job.name)
            if last is None:
                await self.store.schedule.fired(job.name, int(now.timestamp()))
                continue
            if not job.catch_up:
                continue
            trigger = trigger_for(job.spec, self.tz)
            prev, missed = datetime.fromtimestamp(last, self.tz), None
            nxt = trigger.get_next_fire_time(None, prev + timedelta(seconds=1))
            while nxt is not None and nxt <= now:
                missed = nxt
                nxt = trigger.get_next_fire_time(nxt, nxt + timedelta(seconds=1))
            if missed is not None:
                log.warning("job %s missed its run at %s; running it now (late)", job.name, missed)
                await self.enqueue(job.name, missed, late=True)
                fired.append(job.name)
        return fired

    async def start(self) -> None:
        await self.catch_up()
        for job in self.jobs:
            self.sched.add_job(self._fire, trigger_for(job.spec, self.tz), args=[job], id=job.name,
                               misfire_grace_time=30, coalesce=True, max_instances=1)
        self.sched.start()
        log.info("scheduler started: %s", ", ".join(f"{j.name}={j.spec}" for j in self.jobs) or "no jobs")

    async def stop(self) -> None:
        if self.sched.running:
            self.sched.shutdown(wait=False)
