"""A reader killed (SIGKILL) anywhere in a batch loses and doubles nothing: the inbox ends with
every store-group line exactly once and the cursor at the end."""
from __future__ import annotations

import asyncio
import collections
import os
import random
import signal
import sys
from pathlib import Path

from tests.archive.conftest import inbox_messages

ROOT = Path(__file__).resolve().parents[2]


async def test_a_reader_killed_mid_batch_loses_and_doubles_nothing(wecom, store, redis_url, prefix, key_file,
                                                                  reader):
    await reader.state.release(reader.owner)  # the subprocess reads; this one only inspects
    a = wecom.archive
    expected = []
    for i in range(1000):
        if i % 7 == 3:
            a.say("wrOtherGroup", "wmShopper1", f"other {i}")
        else:
            expected.append(a.say(("wrGroupA", "wrGroupB")[i % 2], "wmShopper1", f"line {i}")["msgid"])
    rng = random.Random(14)
    kills, progress = 0, []

    async def inbox_len() -> int:
        return sum([await store.r.xlen(store.inbox.key(p)) for p in range(store.inbox.n)])

    for attempt in range(30):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "tests/archive/_killable_reader.py"), redis_url, prefix, wecom.base_url,
            str(key_file), cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
        if kills < 5:  # kill it once it is writing: inside a page, between pages, before a cursor save
            before = await inbox_len()
            while proc.returncode is None and await inbox_len() == before:
                await asyncio.sleep(0.01)
            await asyncio.sleep(rng.uniform(0, 0.3))
        if proc.returncode is None and kills < 5:
            os.killpg(proc.pid, signal.SIGKILL)  # the reader and its SDK child, mid-whatever
            await proc.wait()
            kills += 1
            progress.append(await reader.state.cursor())
            continue
        assert await asyncio.wait_for(proc.wait(), 120) == 0
        break
    else:
        raise AssertionError("the reader never finished")
    assert kills >= 2
    assert any(0 < seq < 1000 for seq in progress), f"no kill landed mid-work (cursor at kills: {progress})"
    got = await inbox_messages(store)
    counts = collections.Counter(m.id for m in got)
    assert sorted(counts) == sorted(expected)
    assert max(counts.values()) == 1
    assert await reader.state.cursor() == 1000


async def test_a_crash_between_the_inbox_and_the_cursor_save_replays_nothing(wecom, reader, store, monkeypatch):
    import pytest
    for i in range(10):
        wecom.archive.say("wrGroupA", "wmShopper1", f"l{i}")

    async def crash(owner, seq):
        raise ConnectionError("killed before the cursor was saved")
    saved = reader.state.save_cursor
    monkeypatch.setattr(reader.state, "save_cursor", crash)
    with pytest.raises(ConnectionError):
        await reader.pull_once()
    assert len(await inbox_messages(store)) == 10 and await reader.state.cursor() == 0
    monkeypatch.setattr(reader.state, "save_cursor", saved)
    assert await reader.pull_once() == 10  # the same page again: deduplicated by msgid in the inbox
    assert [m.text for m in await inbox_messages(store)] == [f"l{i}" for i in range(10)]
    assert await reader.state.cursor() == 10
