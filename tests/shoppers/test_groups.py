"""Customer-group membership follows change_external_chat events and re-syncs on a version gap."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.shoppers.helpers import chat_event_xml, kf_callback, member_version, start  # noqa: I001
from bot.scheduler import fire_message
from handlers.shoppers.groups import INLINE_SYNCS
from tests.conftest import make_config


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    fake.add_group("wrGroupA", "xiaowang", ["wmA"], name="梅溪湖1群")
    return await start(aiohttp_client, redis, service_config, fake)


def _ids(fake, chat="wrGroupA") -> list[str]:
    return [m["userid"] for m in fake.groups[chat]["member_list"]]


def _join(fake, user: str, chat="wrGroupA") -> str:
    """The member joins in WeCom; returns the version before (the event's LastMemVer)."""
    before = member_version(_ids(fake, chat))
    fake.groups[chat]["member_list"].append({"userid": user, "type": 2, "join_time": int(time.time()), "join_scene": 1})
    return before


def _leave(fake, user: str, chat="wrGroupA") -> str:
    before = member_version(_ids(fake, chat))
    fake.groups[chat]["member_list"] = [m for m in fake.groups[chat]["member_list"] if m["userid"] != user]
    return before


async def _event(h, xml: str) -> None:
    assert (await h.post_app(xml)).status == 200
    await h.drain()


async def test_membership_follows_add_and_del_events(shop, fake):
    h, _ = shop
    await _event(h, chat_event_xml("wrGroupA", "create"))
    assert set(await h.store.groups.members("wrGroupA")) == {"xiaowang", "wmA"}
    gets = len(fake.sent("groupchat/get"))

    at = int(time.time()) - 5
    last = _join(fake, "wmB")
    cur = member_version(_ids(fake))
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmB"], last, cur, at=at))
    assert await h.store.groups.groups_of("wmB") == {"wrGroupA": at}  # join time = the event's time
    assert len(fake.sent("groupchat/get")) == gets  # in step: no re-sync needed

    last = _leave(fake, "wmA")
    await _event(h, chat_event_xml("wrGroupA", "update", "del_member", ["wmA"], last, member_version(_ids(fake))))
    assert await h.store.groups.groups_of("wmA") == {}
    assert set(await h.store.groups.members("wrGroupA")) == {"xiaowang", "wmB"}
    assert len(fake.sent("groupchat/get")) == gets
    assert (await h.store.groups.meta("wrGroupA")).version == member_version(_ids(fake))


async def test_a_version_gap_resyncs_from_groupchat_get(shop, fake):
    h, _ = shop
    await _event(h, chat_event_xml("wrGroupA", "create"))
    _join(fake, "wmLost")  # this event never reaches us
    last = _join(fake, "wmC")
    gets = len(fake.sent("groupchat/get"))
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmC"], last, member_version(_ids(fake))))
    assert len(fake.sent("groupchat/get")) == gets + 1
    assert set(await h.store.groups.members("wrGroupA")) == set(_ids(fake))
    assert "wrGroupA" in await h.store.groups.groups_of("wmLost")


async def test_a_lagging_groupchat_get_still_gets_the_change(shop, fake):
    h, _ = shop
    # Never synced, and WeCom's list is still the one from before the join.
    last = member_version(_ids(fake))
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmNew"], last, "v-after"))
    assert set(await h.store.groups.members("wrGroupA")) == {"xiaowang", "wmA", "wmNew"}
    assert (await h.store.groups.meta("wrGroupA")).version == "v-after"


async def test_the_same_change_twice_is_applied_once(shop, fake):
    h, _ = shop
    await _event(h, chat_event_xml("wrGroupA", "create"))
    at = int(time.time()) - 60
    last = _join(fake, "wmTwice")
    cur = member_version(_ids(fake))
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmTwice"], last, cur, at=at))
    gets = len(fake.sent("groupchat/get"))
    # WeCom re-sends it (different CreateTime, so a different plaintext hash)
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmTwice"], last, cur, at=at + 30))
    assert await h.store.groups.groups_of("wmTwice") == {"wrGroupA": at}
    assert len(fake.sent("groupchat/get")) == gets


async def test_dismiss_forgets_the_members(shop, fake):
    h, _ = shop
    await _event(h, chat_event_xml("wrGroupA", "create"))
    await _event(h, chat_event_xml("wrGroupA", "dismiss"))
    assert await h.store.groups.groups_of("wmA") == {}
    assert (await h.store.groups.meta("wrGroupA")).status == "dismissed"


async def test_without_wecom_the_event_is_still_applied(shop, fake):
    h, _ = shop
    fake.script("groupchat/get", 60011)
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmOffline"], "x", "y"))
    assert "wrGroupA" in await h.store.groups.groups_of("wmOffline")


async def test_group_membership_names_the_store_and_join_time(aiohttp_client, redis, prefix, fake):
    stores = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrGroupA"], "kf": "wkHQ"},
              {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "groups": [], "kf": "wkHQ"}]
    fake.add_group("wrGroupA", "xiaowang", ["wmA"])
    fake.add_group("wrNew", "xiaoli", ["wmB"])  # a group a guide made, not in config
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=stores), fake)
    await _event(h, chat_event_xml("wrNew", "create"))
    fake.kf_push("wkHQ", "wmA", "草莓多少钱")
    fake.kf_push("wkHQ", "wmB", "鸡蛋多少钱")
    await kf_callback(h, "wkHQ")
    await h.drain()
    by_user = {c.external_userid: c for c in rec.contexts}
    assert (by_user["wmA"].store_id, by_user["wmA"].store_source) == ("S01", "group")
    assert by_user["wmA"].joined_at == fake.groups["wrGroupA"]["member_list"][1]["join_time"]
    assert (by_user["wmB"].store_id, by_user["wmB"].store_source) == ("S02", "group")
    assert await h.shoppers.groups.store_groups("S02") == ["wrNew"]


async def test_without_a_member_version_from_wecom_the_next_event_is_a_delta(shop, fake):
    h, _ = shop
    fake.groups["wrGroupA"]["member_version"] = ""  # some WeCom answers carry none
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmV1"], "a", "b"))
    gets = len(fake.sent("groupchat/get"))
    await _event(h, chat_event_xml("wrGroupA", "update", "add_member", ["wmV2"], "b", "c"))
    assert len(fake.sent("groupchat/get")) == gets
    assert {"wmV1", "wmV2"} <= set(await h.store.groups.members("wrGroupA"))


async def test_a_redelivered_event_is_handled_once(shop, fake):
    h, _ = shop
    await _event(h, chat_event_xml("wrGroupA", "create"))
    last = _join(fake, "wmRe")
    xml = chat_event_xml("wrGroupA", "update", "add_member", ["wmRe"], last, member_version(_ids(fake)))
    for _ in range(3):  # the same plaintext, encrypted afresh each time (the dedupe key is its hash)
        assert (await h.post_app(xml)).status == 200
    stream = h.store.inbox.key(h.store.inbox.part_of("sys"))
    entries = [e for e in await h.store.r.xrange(stream) if b"wmRe" in e[1][b"d"]]
    assert len(entries) == 1
    await h.drain()
    assert "wrGroupA" in await h.store.groups.groups_of("wmRe")


async def test_many_groups_are_read_a_few_per_message_and_the_rest_by_the_job(aiohttp_client, redis, prefix, fake):
    chats = [f"wrMany{i:02d}" for i in range(30)]
    for chat in chats:
        fake.add_group(chat, "xiaowang", [f"wm{chat}"])
    stores = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": chats, "kf": "wkS01"}]
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=stores), fake)
    fake.kf_push("wkS01", "wmwrMany00", "在吗")
    await kf_callback(h)
    await h.drain()
    # The shopper waited for a few groups (INLINE_SYNCS per context lookup), not for all thirty.
    assert INLINE_SYNCS <= len(fake.sent("groupchat/get")) <= 2 * INLINE_SYNCS
    assert rec.contexts[-1].joined_at is not None  # the first configured group is among them

    job = fire_message("group_resync", datetime.now())
    await h.store.inbox.put(job.conversation, job.id, job.to_json())
    await h.drain()
    assert len(fake.sent("groupchat/get")) == 30
    assert "wrMany29" in await h.store.groups.groups_of("wmwrMany29")


async def test_the_job_heals_a_lost_event_nothing_later_revealed(shop, fake):
    h, _ = shop
    await _event(h, chat_event_xml("wrGroupA", "create"))
    _leave(fake, "wmA")  # its del_member event is lost, and the group stays quiet
    job = fire_message("group_resync", datetime.now())
    await h.store.inbox.put(job.conversation, job.id, job.to_json())
    await h.drain()
    assert "wrGroupA" in await h.store.groups.groups_of("wmA")  # fresh enough: not re-read yet
    await h.store.groups.set_meta("wrGroupA", synced_at=int(time.time()) - 7 * 3600)
    job = fire_message("group_resync", datetime.fromtimestamp(time.time() + 600))
    await h.store.inbox.put(job.conversation, job.id, job.to_json())
    await h.drain()
    assert await h.store.groups.groups_of("wmA") == {}
