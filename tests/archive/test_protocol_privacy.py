"""The child's frame protocol refuses what is not a frame; group text never reaches a log line."""
from __future__ import annotations

import asyncio
import io
import logging

import pytest

from bot.archive import protocol
from tests.archive.conftest import inbox_messages


def test_frames_round_trip_and_bad_frames_are_refused():
    buf = io.BytesIO(protocol.encode({"op": "pull", "seq": 3}) + protocol.encode({"ok": True, "t": "草莓"}))
    assert protocol.read_sync(buf) == {"op": "pull", "seq": 3}
    assert protocol.read_sync(buf) == {"ok": True, "t": "草莓"}
    assert protocol.read_sync(buf) is None  # clean EOF between frames
    for bad in (protocol.HEADER.pack(protocol.MAX_FRAME + 1), protocol.HEADER.pack(10) + b"{}",
                protocol.HEADER.pack(2) + b"[]", protocol.HEADER.pack(3) + b"{x}", b"\x00\x00"):
        with pytest.raises(protocol.FrameError):
            protocol.read_sync(io.BytesIO(bad))


async def test_async_reader_tells_eof_from_a_torn_frame():
    r = asyncio.StreamReader()
    r.feed_data(protocol.encode({"a": 1}))
    r.feed_eof()
    assert await protocol.read(r) == {"a": 1}
    with pytest.raises(EOFError):
        await protocol.read(r)
    r = asyncio.StreamReader()
    r.feed_data(protocol.encode({"a": 1})[:-1])
    r.feed_eof()
    with pytest.raises(protocol.FrameError):
        await protocol.read(r)


async def test_group_text_is_never_logged(wecom, reader, store, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    a = wecom.archive
    a.say("wrGroupA", "wmShopper1", "PRIVATE-line-kept")
    a.say("wrElsewhere", "wmShopper1", "PRIVATE-line-dropped")
    a.malformed()
    a.say("wrGroupA", "wmShopper1", "PRIVATE-after-poison")
    assert await reader.pull_once() == 4
    assert len(await inbox_messages(store)) == 2
    assert reader.sdk.restarts >= 1 and await reader.state.poison()  # warnings were logged
    out, err = capfd.readouterr()  # the child's stderr too
    logged = caplog.text + out + err
    assert "archive item seq 3" in logged  # the poison warning is there, by seq and msgid
    assert "PRIVATE" not in logged
    assert "PRIVATE" not in "".join(r.getMessage() + str(r.args) for r in caplog.records)


async def test_a_failing_handler_does_not_log_the_group_line(cfg, store, caplog):
    import pytest
    from bot.message import Message
    from bot.router import Dispatcher, Router
    from bot.worker import Worker
    from store.streams import Entry
    boom = Router("tests.archive.boom")

    @boom.any_text()
    async def fail(msg):
        raise RuntimeError("a handler bug")

    worker = Worker(cfg, store, Dispatcher([boom]), {"store": store, "config": cfg})
    msg = Message(id="m1_external", channel="archive", chat_type="group", conversation="wrGroupA",
                  chat_id="wrGroupA", sender="wmShopper1", sender_kind="customer", text="PRIVATE-in-a-bug",
                  raw={"store": "S01", "msgtype": "text", "seq": 1})
    with pytest.raises(RuntimeError):
        await worker.handle(Entry(0, "1-0", "wrGroupA", msg.to_json()))
    assert "handler failed on m1_external" in caplog.text and "PRIVATE" not in caplog.text
