"""The reader end to end against the fake archive: shape of the inbox messages, what is dropped,
the cursor, and the poison item that kills the SDK child."""
from __future__ import annotations

from bot.archive.reader import ArchiveReader
from store.archive import ArchiveState
from tests.archive.conftest import inbox_messages


async def test_store_group_lines_reach_the_inbox_in_the_agreed_shape(wecom, reader, store):
    a = wecom.archive
    said = a.say("wrGroupA", "wmShopper1", "+2 3栋502", at_ms=1_700_000_000_123)
    a.say("wrGroupB", "xiaoli", "今天草莓到货")
    assert await reader.pull_once() == 2
    got = await inbox_messages(store)
    assert [m.text for m in got] == ["+2 3栋502", "今天草莓到货"]
    m = got[0]
    assert (m.id, m.channel, m.chat_type, m.conversation, m.chat_id, m.sender, m.sender_kind, m.kind, m.time) == (
        said["msgid"], "archive", "group", "wrGroupA", "wrGroupA", "wmShopper1", "customer", "text", 1_700_000_000)
    assert m.raw == {"store": "S01", "msgtype": "text", "seq": 1}
    assert got[1].sender_kind == "staff" and got[1].raw["store"] == "S02"
    assert await reader.state.cursor() == 2


async def test_everything_but_store_group_text_is_dropped_and_not_stored(wecom, reader, store, redis, prefix):
    a = wecom.archive
    a.say("wrOtherGroup", "wmShopper1", "SECRET-unknown-group")
    a.single("xiaowang", "wmShopper1", "SECRET-one-to-one")
    a.say("wrGroupA", "wmShopper1", "", msgtype="image")
    a.say("wrGroupA", "wmShopper1", "SECRET-recalled", action="recall")
    a.say("wrGroupA", "wmShopper2", "kept")
    assert await reader.pull_once() == 5
    assert [m.text for m in await inbox_messages(store)] == ["kept"]
    assert await reader.state.cursor() == 5
    dump = b""
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        t = (await redis.type(key)).decode()
        if t == "string":
            dump += await redis.get(key) or b""
        elif t == "zset":
            dump += b"".join(await redis.zrange(key, 0, -1))
        elif t == "stream":
            dump += b"".join(v for _, f in await redis.xrange(key) for v in f.values())
        elif t == "hash":
            dump += b"".join(v for v in (await redis.hgetall(key)).values())
    assert b"SECRET" not in dump and "kept".encode() in dump


async def test_hostile_items_and_messages_are_dropped_not_stored_under_a_made_up_id(wecom, reader, store):
    a = wecom.archive
    a.say("wrGroupA", "wmShopper1", "ok 1")
    a.items[-1]["msgid"] = None  # WeCom's outer msgid missing: the decrypted one is used
    a.say("wrGroupA", "wmShopper1", "ok 2")
    a.items.append({**a.items[-1], "seq": "not a number"})  # ignored: never moves the cursor
    a.say("wrGroupA", ["not", "a", "sender"], "bad sender")  # type: ignore[arg-type]
    a.items[-1]["seq"] = 4
    a.say("wrGroupA", "wmShopper1", "bad key version")
    a.items[-1]["publickey_ver"] = "v1"  # refused by the child as an item, not a crash
    got = await reader.pull_once()
    assert got == 4 and await reader.state.cursor() == 5 and reader.sdk.restarts == 0
    [rec] = await reader.state.poison()
    assert rec["seq"] == "5" and rec["reason"].startswith("item")
    msgs = await inbox_messages(store)
    assert [m.text for m in msgs] == ["ok 1", "ok 2"] and msgs[0].id.endswith("_external")


async def test_a_pull_again_adds_nothing_twice_and_continues_after_the_cursor(wecom, reader, store):
    a = wecom.archive
    for i in range(5):
        a.say("wrGroupA", "wmShopper1", f"line {i}")
    assert await reader.pull_once() == 5
    assert await reader.pull_once() == 0
    await store.r.hset(reader.state.k.archive_cursor(reader.state.corp), "seq", 2)  # as if a save was lost
    assert await reader.pull_once() == 3
    a.say("wrGroupA", "wmShopper1", "line 5")
    assert await reader.pull_once() == 1
    assert [m.text for m in await inbox_messages(store)] == [f"line {i}" for i in range(6)]


async def test_pages_are_pulled_until_a_short_one(wecom, reader, store):
    for i in range(250):
        wecom.archive.say("wrGroupB", "wmShopper1", f"n{i}")
    assert await reader.drain() == 250  # batch is 100: three pages
    assert len(await inbox_messages(store)) == 250
    assert await reader.state.cursor() == 250


async def test_a_malformed_item_kills_only_the_sdk_child_and_is_skipped_and_recorded(wecom, reader, store):
    a = wecom.archive
    for i in range(3):
        a.say("wrGroupA", "wmShopper1", f"before {i}")
    bad = a.malformed()
    for i in range(3):
        a.say("wrGroupA", "wmShopper1", f"after {i}")
    first = await reader.sdk.ping()
    assert await reader.pull_once() == 7
    assert reader.sdk.restarts == reader.cfg.archive.poison_tries  # it died on the item, twice
    assert await reader.sdk.ping() != first  # a fresh child answers
    assert [m.text for m in await inbox_messages(store)] == [f"before {i}" for i in range(3)] + [
        f"after {i}" for i in range(3)]
    assert await reader.state.cursor() == 7
    [rec] = await reader.state.poison()
    assert (rec["seq"], rec["msgid"], rec["ver"], rec["reason"]) == ("4", bad, "1", "crashed the SDK")


async def test_an_item_for_a_key_version_we_lack_stops_the_reader_there(wecom, reader, store, rsa_key):
    from cryptography.hazmat.primitives.asymmetric import rsa
    import pytest
    from bot.archive.reader import KeyMissing
    a = wecom.archive
    a.say("wrGroupA", "wmShopper1", "old key")
    a.set_key(2, rsa.generate_private_key(public_exponent=65537, key_size=1024))  # console key changed
    a.say("wrGroupA", "wmShopper1", "new key")
    with pytest.raises(KeyMissing):
        await reader.pull_once()
    assert [m.text for m in await inbox_messages(store)] == ["old key"]
    assert await reader.state.cursor() == 1  # nothing skipped: it waits for the key
    assert await reader.state.poison() == []


async def test_only_the_lease_holder_moves_the_cursor(cfg, store, wecom, reader):
    import pytest
    from store.archive import LeaseLost
    wecom.archive.say("wrGroupA", "wmShopper1", "x")
    other = ArchiveReader(cfg, store, owner="other-reader")
    try:
        with pytest.raises(LeaseLost):
            await other.pull_once()  # it pulled and put (deduplicated), but may not move the cursor
        assert await other.state.cursor() == 0
        assert await reader.pull_once() == 1
        assert len(await inbox_messages(store)) == 1
    finally:
        await other.sdk.stop()
