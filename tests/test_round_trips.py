"""Redis round trips of the handle stage (Worker.handle: every router, the replies rendered and
staged to ride on the entry's ack, then the ack: staged writes in one round trip, the XACK in
another) per shopper message: at most six, the budget, for a product question, +1, 我要两份 and
领券, and fewer where the per-process views answer.

Counted with an instrumented connection (bench/roundtrips.py): a pipeline or an EVALSHA is one.
The shopper's nickname is cached, as it is after their first message.
"""
from __future__ import annotations

import contextlib
import time

import pytest
from redis.exceptions import ResponseError

from bench.roundtrips import RoundTrips
from bot.message import Message
from store.lua import HERE, script
from store.streams import Entry, Put
from tests.coupons.helpers import live_campaign
from tests.groupbuy.helpers import OPEN, load_catalog
from tests.harness import Harness

BUDGET = 6


@pytest.fixture
async def counted(aiohttp_client, redis, redis_url, service_config, fake):
    rt = RoundTrips()
    client = rt.client(redis_url)
    h = await Harness.start(aiohttp_client, client, service_config, fake)
    await load_catalog(h)
    assert "请核对" in (await h.ask(OPEN))[0]
    assert "已开团" in (await h.ask("确认"))[0]
    await live_campaign(h.store, "周末券 满50减10 1000张 每人1张 有效3天 全员")
    # Every script in Redis's cache, so no count includes the NOSCRIPT retry a script flush by an
    # earlier test (a Redis restart, a cluster run) would add to a script's first call.
    for path in HERE.glob("*.lua"):
        with contextlib.suppress(ResponseError):  # an include fragment alone may not compile
            await redis.script_load(script(path.stem).text)
    yield h, rt
    await client.aclose()


async def handle(h: Harness, rt: RoundTrips, user: str, text: str) -> tuple[list[tuple[str, ...]], Entry]:
    """The packets one kf message costs in the handle stage, its ack included, and its entry (with
    the writes staged on the ack)."""
    await h.store.kf.remember_names({user: f"顾客{user[-2:]}"}, 3600)
    msg = Message(id=f"kf:rt-{user}-{time.monotonic_ns()}", channel="kf", conversation=f"kf:wkS01:{user}",
                  sender=user, sender_kind="customer", text=text, time=int(time.time()))
    entry = Entry(0, "0-1", msg.conversation, msg.to_json())
    mark = rt.count
    await h.worker.handle(entry)
    await h.store.inbox.ack(entry)
    return rt.since(mark), entry


# Within the per-process views' second: the gate's snapshot (with the pending questions of Q&A and
# 接龙), what the feature must decide with Redis (the 接龙 step, the coupon's reserve and claim),
# the staged writes with the replies, the XACK.
WARM = {"车厘子多少钱": 3, "+1": 4, "我要两份": 4, "领券": 5}


@pytest.mark.parametrize("text", ["车厘子多少钱", "+1", "我要两份", "领券"])
async def test_a_shopper_message_takes_at_most_six_round_trips(counted, text):
    h, rt = counted
    await handle(h, rt, "wmWarm", text)  # connections, scripts and the per-process views
    for user in ("wmFirst", "wmSecond"):
        packets, entry = await handle(h, rt, user, text)
        assert len(packets) <= min(BUDGET, WARM[text]), packets
        assert len([p for p in entry.staged if isinstance(p, Put)]) == 1  # the answer, written with the ack
        assert packets[-1] == ("XACK",)


async def test_the_claim_is_three_one_slot_steps_and_fills_the_wallet(counted):
    """Reserve the code in the index, decide in the campaign, then file index time and wallet with
    the reply, before the XACK (each script in one hash slot: store/coupons.py claim)."""
    h, rt = counted
    await handle(h, rt, "wmWarm", "领券")
    packets, _ = await handle(h, rt, "wmClaim", "领券")
    assert packets[-4:-2] == [("EVALSHA",), ("EVALSHA",)], packets
    assert packets[-2].count("EVALSHA") >= 3 and packets[-1] == ("XACK",), packets  # file, wallet, reply
    [record] = await h.store.coupons.wallet("wmClaim")
    assert await h.store.coupons.lookup(record["code"]) == record["campaign"]


@pytest.mark.parametrize("known", [True, False])
async def test_pulling_a_kf_message_takes_four_round_trips(counted, fake, known):
    """Lock, cursor and clock in one script; reply windows with the cached nicknames; the inbox
    put; the cursor saved with the lock released (and new nicknames cached) in one step."""
    h, rt = counted
    user = f"wmPull{known}"
    if known:
        await h.store.kf.remember_names({user: "顾客"}, 3600)
    fake.kf_push("wkS01", user, "车厘子多少钱")
    mark = rt.count
    puller = h.deps["shoppers"].puller
    res = await puller.pull("wkS01", fake.kf_token(), received_ms=1)
    packets = rt.since(mark)
    assert (res.pulled, res.queued) == (1, 1)
    assert len(packets) <= 4, packets
    assert not await h.store.r.exists(h.store.keys.kf_lock("wkS01"))  # released in the last step
    assert user in await h.store.kf.names([user])  # the nickname is cached either way
    # a callback acked before that drain started is covered: one round trip, no pull
    mark = rt.count
    again = await puller.pull("wkS01", fake.kf_token(), received_ms=1)
    assert again.covered and again.pulled == 0
    assert len(rt.since(mark)) == 1
