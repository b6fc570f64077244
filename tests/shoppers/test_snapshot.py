"""The gate's one-round-trip read: on a server that has never seen the line script (a fresh or
restarted Redis), the pipelined EVALSHA falls back to loading it, and the line is still recorded."""
from __future__ import annotations

from redis.asyncio import Redis

from bot.redis_server import EmbeddedRedis
from store import Store


async def test_snapshot_records_the_line_on_a_server_without_the_script(tmp_path):
    emb = EmbeddedRedis(tmp_path, appendonly=False)  # our own server: its script cache is empty
    r = Redis.from_url(await emb.astart())
    try:
        state = Store(r, prefix="t").shoppers
        conv = "kf:wkS01:wmA"
        snap = await state.snapshot(conv, "wmA", ("m1", 100, "草莓多少钱", 5))
        assert snap.line_added is True and snap.handoff is None and snap.name is None and snap.groups == {}
        again = await state.snapshot(conv, "wmA", ("m1", 100, "草莓多少钱", 5))  # a redelivery
        assert again.line_added is False
        assert [x["text"] for x in await state.lines(conv, 5)] == ["草莓多少钱"]
        await state.choose_store(conv, "S02")
        await state.start_handoff(conv, ["xiaowang"], "S02", 200, 600)
        later = await state.snapshot(conv, "wmA", ("m2", 200, "人工", 5))
        assert later.conversation.chosen == "S02" and later.handoff is not None and later.line_added
    finally:
        await r.aclose()
        await emb.astop()
