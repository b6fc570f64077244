"""Consent per group (cached, reported as coverage) and msgaudit_notify waking the reader through
the real app callback."""
from __future__ import annotations

import asyncio
import time

import pytest

from bot import metrics
from bot.app import create_app
from bot.archive.fake import notify_xml
from bot.archive.reader import ArchiveReader
from bot.crypto import Crypto
from bot.sandbox import sealed
from bot.wecom_api import WeComClient
from tests.archive.conftest import inbox_messages


def consent_calls(wecom) -> int:
    return len(wecom.sent("msgaudit/check_room_agree"))


async def test_consent_is_asked_once_per_interval_and_reported_as_coverage(wecom, reader, store):
    wecom.disagree.add("wmShopper2")
    c = await reader.consent.get("wrGroupA")
    assert (c.agree, c.disagree, c.default) == (2, 1, 0)
    assert c.coverage == pytest.approx(2 / 3)
    assert metrics.REGISTRY.get_sample_value("qunbot_archive_consent_coverage",
                                             {"store": "S01", "group": "wrGroupA"}) == pytest.approx(2 / 3)
    await reader.consent.get("wrGroupA")
    assert consent_calls(wecom) == 1  # cached in Redis
    other = ArchiveReader(reader.cfg, store, reader.consent.api, owner="o2")
    try:
        await other.consent.get("wrGroupA")
        assert consent_calls(wecom) == 1  # the cache is shared by every process
    finally:
        await other.sdk.stop()
    wecom.disagree.clear()
    assert (await reader.consent.get("wrGroupA", refresh=True)).coverage == 1.0
    assert consent_calls(wecom) == 2


async def test_a_stale_consent_is_asked_again_and_a_failing_group_does_not_stop_the_rest(wecom, reader, store):
    await reader.consent.get("wrGroupA")
    key = store.keys.archive_consent("wrGroupA")
    await store.r.hset(key, "at", time.time() - reader.cfg.archive.consent_check_seconds - 1)
    del wecom.groups["wrGroupB"]  # WeCom answers 40050 for it
    got = await reader.consent.refresh_all()
    assert list(got) == ["wrGroupA"] and consent_calls(wecom) == 3
    assert 0 < await store.r.ttl(key) <= 2 * reader.cfg.archive.consent_check_seconds


@pytest.fixture
async def service(aiohttp_client, redis, cfg):
    return await aiohttp_client(create_app(cfg, role="web", redis=redis))


async def post_notify(service, cfg) -> int:
    w = cfg.wecom
    query, body = sealed(Crypto(w.app.token, w.app.encoding_aes_key, w.corp_id),
                         notify_xml(w.corp_id, w.app.agent_id), w.corp_id)
    resp = await service.post(f"/wecom/app?{query}", data=body)
    assert await resp.text() == ""
    return resp.status


async def test_msgaudit_notify_on_the_app_callback_wakes_the_reader(service, cfg, reader, store):
    assert await post_notify(service, cfg) == 200
    assert await post_notify(service, cfg) == 200  # a second notify before the pull is one wake
    assert await reader._wait_wake(0.5) is True
    assert await reader._wait_wake(0.2) is False
    assert await inbox_messages(store) == []  # the event itself is not a message for the workers


async def test_a_line_in_the_group_reaches_the_inbox_through_notify_without_waiting_for_the_safety_pull(
        service, cfg, wecom, store, http):
    import dataclasses
    cfg = dataclasses.replace(cfg, archive=dataclasses.replace(cfg.archive, safety_pull_seconds=600))
    api = WeComClient(http, store.r, store.keys, corp_id=cfg.wecom.corp_id, api_base=cfg.wecom.api_base)
    reader = ArchiveReader(cfg, store, api)
    wecom.archive.on_new(lambda: post_notify(service, cfg))
    task = asyncio.create_task(reader.run())
    try:
        for _ in range(500):  # the first (safety) pull at start, then it waits for a notify
            if reader.last_pull:
                break
            await asyncio.sleep(0.01)
        wecom.archive.say("wrGroupA", "wmShopper1", "草莓还有吗")
        for _ in range(500):
            if await inbox_messages(store):
                break
            await asyncio.sleep(0.01)
        [m] = await inbox_messages(store)
        assert (m.text, m.channel, m.conversation) == ("草莓还有吗", "archive", "wrGroupA")
    finally:
        await reader.stop()
        await asyncio.wait_for(task, 15)
    assert await store.r.get(store.keys.archive_lease(cfg.wecom.corp_id)) is None  # released on stop
