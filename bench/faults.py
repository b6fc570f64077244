"""Fault scenarios against a real web + 2 workers: does anything acked get lost or doubled?

Each scenario starts a fresh cluster (bench/faultlab.py: its own redis-server on a free port, the fake
WeCom with fault modes in this process), warms it with a few questions, then runs a bounded load of
signed kf and app callbacks while the fault happens, waits for the answers to settle and prints
acked vs answered, duplicates shoppers saw, and the delay of the slowest answer.

    python bench/faults.py                  # every scenario, full length (~25 min)
    python bench/faults.py --short          # WeCom down 60 s instead of 5 min, soak 2 min
    python bench/faults.py redis_down soak  # some scenarios only

Expected on a healthy build: lost 0 and duplicates 0 everywhere; the soak's RSS and Redis memory flat.
Figures are wall-clock delays and the service's CPU seconds per 1,000 messages (from /proc), next to
the same run's warm-up, so a busy machine shows up as slower, not as lost.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.faultlab import Cluster, Load, Report, check, settle  # noqa: E402

RATE = 20.0  # msg/s during the fault scenarios (the soak uses 100)


KEEP = False  # --keep: leave each scenario's directory (config, process logs, Redis) for a post-mortem


async def _with_cluster(name: str, body, **opts) -> list[Report]:
    tmp = tempfile.mkdtemp(prefix="qb-faults-", dir="/tmp")
    if KEEP:
        print(f"{name}: logs in {tmp}", flush=True)
    try:
        cluster = Cluster(tmp, **opts)
        await cluster.start()
        try:
            warm = Load(cluster, rate=10, shoppers=20, app_share=0, prefix="wmWarm")
            await warm.run(20)
            await warm.finish()
            await settle(cluster, warm, quiet_s=30, cap_s=90)
            reports = [check(cluster, warm, f"{name} / fresh start (20 questions)")]
            cpu0 = cluster.cpu_seconds()
            load = Load(cluster, rate=RATE, shoppers=1000)
            notes = await body(cluster, load) or []
            await load.finish()
            wiped_at = getattr(cluster, "wiped_at", None)
            await settle(cluster, load, quiet_s=90, cap_s=600, wiped_at=wiped_at)
            report = check(cluster, load, name, wiped_at)
            report.notes += notes
            report.notes.append(f"service CPU {1000 * (cluster.cpu_seconds() - cpu0) / max(1, len(load.asked)):.1f} "
                                f"s per 1,000 messages; callbacks {dict(load.callbacks)}; worker restarts "
                                f"{cluster.restarts}; fake WeCom calls failed or delayed on purpose {cluster.faults.hits}")
            if report.lost:
                ex = report.lost_examples[:3]
                report.notes.append("e.g. unanswered: " + ", ".join(f"{a.kind} {a.user} {a.product}" for a in ex))
            reports.append(report)
            return reports
        finally:
            await cluster.close()
    finally:
        if not KEEP:
            shutil.rmtree(tmp, ignore_errors=True)


async def redis_down(args) -> list[Report]:
    async def body(c: Cluster, load: Load):
        run = asyncio.create_task(load.run(int(RATE * 40)))
        await asyncio.sleep(10)
        await c.stop_redis()
        t = time.monotonic()
        await asyncio.sleep(10)
        await c.start_redis()
        down = time.monotonic() - t
        await run
        return [f"Redis down {down:.1f} s, data kept (AOF)"]
    return await _with_cluster("redis down 10 s", body)


async def redis_empty(args) -> list[Report]:
    async def body(c: Cluster, load: Load):
        run = asyncio.create_task(load.run(int(RATE * 40)))
        await asyncio.sleep(10)
        await c.stop_redis()
        await c.start_redis(empty=True)
        await run
        return ["Redis restarted empty (no persistence) 10 s into the load"]
    return await _with_cluster("redis restarted empty", body)


async def wecom_down(args) -> list[Report]:
    down = 60.0 if args.short else 300.0

    async def body(c: Cluster, load: Load):
        run = asyncio.create_task(load.run(int(RATE * (down + 20))))
        await asyncio.sleep(10)
        # A third of the outage each: errcode -1, HTTP 503, and calls that hang past the timeout.
        for mode, extra in (("busy", {}), ("http5xx", {}), ("hang", {"seconds": 11.0})):
            c.faults.set(mode, **extra)  # hang: 11 s, past the default 10 s client timeout
            await asyncio.sleep(down / 3)
        c.faults.off()
        await run
        return [f"WeCom down {down:.0f} s (-1, then 503, then hanging past the 10 s client timeout)"]
    return await _with_cluster(f"WeCom down {down / 60:.0f} min", body)


async def wecom_slow(args) -> list[Report]:
    async def body(c: Cluster, load: Load):
        run = asyncio.create_task(load.run(int(RATE * 40)))
        await asyncio.sleep(10)
        c.faults.set("hang", paths=["kf/send_msg", "message/send"], seconds=11.0)  # client timeout: 10 s
        await asyncio.sleep(20)
        c.faults.off()
        await run
        return ["sends answered 11 s late (client timeout 10 s) for 20 s: WeCom delivered each one"]
    return await _with_cluster("WeCom slower than the client timeout", body)


async def worker_restarts(args) -> list[Report]:
    async def body(c: Cluster, load: Load):
        run = asyncio.create_task(load.run(int(RATE * 75)))
        for _ in range(5):
            await asyncio.sleep(12)
            await c.kill_worker()
        await run
        return ["kill -9 of a worker every 12 s, each replaced at once"]
    return await _with_cluster("5 worker restarts (kill -9)", body)


async def soak(args) -> list[Report]:
    seconds = args.soak_seconds or (120 if args.short else 600)

    async def body(c: Cluster, load: Load):
        load.rate = 100.0
        run = asyncio.create_task(load.run(int(100 * seconds)))
        samples = []
        while not run.done():
            rss, red = c.rss_mb(), await c.redis_sample()
            samples.append((time.monotonic(), rss, red))
            await asyncio.wait({run}, timeout=seconds / 10)
        await run
        rss, red = c.rss_mb(), await c.redis_sample()
        samples.append((time.monotonic(), rss, red))
        t0 = samples[0][0]
        notes = ["t(s)  " + "  ".join(f"{k[:3]} RSS MB" for k in samples[-1][1])
                 + "  redis MB    keys  stream entries  top key families"]
        for t, rss, red in samples:
            top = ", ".join(f"{k}={v}" for k, v in red["families"].most_common(4))
            notes.append(f"{t - t0:5.0f}  " + "  ".join(f"{v:9.1f}" for v in rss.values())
                         + f"  {red['used_mb']:8.1f}  {red['keys']:6d}  {red['stream_entries']:14d}  {top}")
        second_half = [s for s in samples if s[0] - t0 >= (samples[-1][0] - t0) / 2]
        growth = second_half[-1][2]["used_mb"] - second_half[0][2]["used_mb"]
        notes.append(f"Redis memory growth over the second half: {growth:+.1f} MB "
                     f"({growth / max(1, len(load.asked) / 2) * 1e6:.0f} B per message)")
        return notes
    return await _with_cluster(f"soak {seconds // 60} min at 100 msg/s", body)


SCENARIOS = {"redis_down": redis_down, "redis_empty": redis_empty, "wecom_down": wecom_down,
             "wecom_slow": wecom_slow, "worker_restarts": worker_restarts, "soak": soak}


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help=f"some of: {' '.join(SCENARIOS)} (default: all)")
    p.add_argument("--short", action="store_true", help="WeCom down 60 s, soak 2 min")
    p.add_argument("--soak-seconds", type=int, help="soak length (default 600, --short 120)")
    p.add_argument("--keep", action="store_true", help="keep each scenario's directory (logs, Redis data)")
    args = p.parse_args()
    global KEEP
    KEEP = args.keep
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario {sorted(unknown)[0]}; choose from {', '.join(SCENARIOS)}")
    bad = 0
    summary = []
    for name in args.scenarios or list(SCENARIOS):
        for report in await SCENARIOS[name](args):
            print("\n".join(report.lines()), flush=True)
            summary.append(report)
            bad += report.lost + report.duplicates
    print("\nsummary (acked / answered / lost / duplicates to shoppers / max delay):")
    for r in summary:
        print(f"  {r.name:45s} {r.acked:6d} {r.answered:6d} {r.lost:5d} {r.duplicates:4d} {r.max_delay:7.1f}s")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
