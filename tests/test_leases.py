"""store/leases.py: one holder at a time, immediate release, takeover after a holder dies."""
import asyncio

from store.keys import Keys
from store.leases import Lease, run_singleton


async def test_one_holder_then_release_hands_over(redis, prefix):
    key = Keys(prefix).singleton("job")
    a, b = Lease(redis, key, "a", 5000), Lease(redis, key, "b", 5000)
    assert await a.claim() == 2
    assert await b.claim() == 0
    assert await a.claim() == 1  # renewal
    assert await b.release() is False  # not b's to release
    assert await a.holder() == "a"
    assert await a.release() is True
    assert await b.claim() == 2
    await b.release()


async def test_run_singleton_runs_once_and_fails_over(redis, prefix):
    key = Keys(prefix).singleton("job")
    running: list[str] = []

    def work(name):
        async def run():
            running.append(name)
            await asyncio.Event().wait()
        return run

    t1 = asyncio.create_task(run_singleton(Lease(redis, key, "h1", 600), work("h1"), retry_s=0.05))
    await asyncio.sleep(0.2)
    t2 = asyncio.create_task(run_singleton(Lease(redis, key, "h2", 600), work("h2"), retry_s=0.05))
    await asyncio.sleep(0.5)
    assert running == ["h1"]  # the second host waits
    t1.cancel()  # a clean stop releases at once
    await asyncio.gather(t1, return_exceptions=True)
    await asyncio.sleep(0.3)
    assert running == ["h1", "h2"]
    assert await redis.get(key) == b"h2"
    t2.cancel()
    await asyncio.gather(t2, return_exceptions=True)
    assert await redis.get(key) is None


async def test_work_stops_when_the_lease_is_taken_away(redis, prefix):
    key = Keys(prefix).singleton("job")
    stopped = asyncio.Event()

    async def work():
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    task = asyncio.create_task(run_singleton(Lease(redis, key, "h1", 600), work, retry_s=5))
    # Ours first (a new Cluster client discovers its slots before the first claim; on a busy
    # machine that took longer than a fixed sleep), then another holder takes it.
    async with asyncio.timeout(5):
        while await redis.get(key) != b"h1":
            await asyncio.sleep(0.01)
    await redis.set(key, "intruder", px=5000)  # e.g. it expired during a long pause and was retaken
    await asyncio.wait_for(stopped.wait(), 2)
    assert await redis.get(key) == b"intruder"  # not ours to release
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await redis.delete(key)
