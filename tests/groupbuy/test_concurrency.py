"""300 shoppers join, change and cancel at once through the real inbox, worker, parser and Lua, with
duplicated callbacks, the same message by a second path, a worker that dies after the ledger step
but before queueing the receipt, one that dies after queueing but before the ack, and one that reads
entries and vanishes; the ledger must equal an independent model and each message get one receipt.

The only freedom the system has is the order in which it interleaves different shoppers' messages
(they race each other; one shopper's own messages must stay in the order sent, crashes included). Every applied step carries the 团's step
number, so the test takes that order from the ledger, checks that it is a permutation of all
distinct messages (none lost, none applied twice), replays the same steps in that order through
tests/groupbuy/model.py, and compares every result, the final lines, the waiting order and the
order of promotions.
"""
from __future__ import annotations

import asyncio
import json
import random

from bot.consumer import PartitionConsumer
from bot.message import Message
from tests.groupbuy.helpers import KF, kf_message, open_group, use_groupbuy
from tests.groupbuy.model import Model

SHOPPERS = 300
CAP, LIMIT = 200, 4
CN = {1: "一", 2: "两", 3: "三"}


def phrase(rnd: random.Random, op: tuple) -> str:
    kind = op[0]
    if kind == "join" and op[2] == "":
        q = op[1]
        return rnd.choice([f"+{q}", f"我要{CN[q]}盒", f"接龙 {q}盒", f"+{q} {rnd.randint(1, 9)}栋{rnd.randint(101, 999)}"])
    if kind == "join":
        return "帮我妈也报一份" if op[1] == 1 else "帮我妈也报两盒"
    if kind == "set":
        return f"改成{op[1]}盒"
    if kind == "add":
        return "再加一盒" if op[1] > 0 else "减一盒"
    if kind == "cancel" and op[1] is None:
        return rnd.choice(["取消", "不要了"])
    if kind == "cancel":
        return "我妈那份不要了"
    return f"第{op[1]}个删掉"


def script(rnd: random.Random) -> list[tuple]:
    ops: list[tuple] = [("join", rnd.randint(1, 3), "")] if rnd.random() < 0.85 else []
    for _ in range(rnd.randint(0, 3)):
        r = rnd.random()
        if r < 0.25:
            ops.append(("set", rnd.randint(1, 4)))
        elif r < 0.45:
            ops.append(("add", rnd.choice([1, -1])))
        elif r < 0.65:
            ops.append(("cancel", None))
        elif r < 0.8:
            ops.append(("join", rnd.choice([1, 2]), "我妈"))
        elif r < 0.9:
            ops.append(("cancel", "我妈"))
        elif r < 0.95:
            ops.append(("join", rnd.randint(1, 3), ""))
        else:
            ops.append(("entry", rnd.randint(1, 400)))
    return ops


def model_step(m: Model, owner: str, op: tuple) -> str:
    kind = op[0]
    if kind == "join":
        return m.join(owner, op[1], op[2])
    if kind == "set":
        return m.set(owner, qty=op[1])
    if kind == "add":
        return m.set(owner, delta=op[1])
    if kind == "cancel":
        return m.cancel(owner, who=op[1])
    return m.cancel(owner, entry=op[1])


async def test_300_shoppers_with_duplicates_and_crashes_match_the_model(service):
    use_groupbuy(service)
    gid = await open_group(service, f"/开团 丹东99草莓 36.9元/盒 限{CAP}盒 每人限{LIMIT}盒 截止明天20:00 自提周六10-12点服务台")
    store, gbs = service.store, service.store.groupbuys
    rnd = random.Random(20261123)
    plan: dict[str, tuple[str, tuple]] = {}  # msg id -> (owner, op)
    per_shopper: list[list[Message]] = []
    for i in range(SHOPPERS):
        user = f"wm{i:04d}"
        msgs = []
        for op in script(rnd):
            msg = kf_message(user, phrase(rnd, op))
            plan[msg.id] = (user, op)
            msgs.append(msg)
        per_shopper.append(msgs)
    crash_ids = set(rnd.sample(sorted(plan), len(plan) // 7))
    torn_ids = set(rnd.sample(sorted(plan), len(plan) // 10))

    worker = service.worker
    crashes = torn = 0
    emit = worker.emit

    async def torn_emit(msg, replies, tag=""):
        """Dies between the ledger write and queueing the receipt, once per chosen message."""
        nonlocal torn
        if msg.id in torn_ids:
            torn_ids.discard(msg.id)
            torn += 1
            raise ConnectionError("simulated crash after the ledger step")
        return await emit(msg, replies, tag)
    worker.emit = torn_emit

    async def crash_after_effects(entry):
        """Handles fully (ledger written, replies queued), then dies before the ack."""
        nonlocal crashes
        await worker.handle(entry)
        if entry.deliveries == 1 and Message.from_json(entry.data).id in crash_ids:
            crashes += 1
            raise RuntimeError("simulated crash before ack")

    crashy = PartitionConsumer(store.inbox, crash_after_effects, name="crashy", lease_ms=60_000,
                               retry_after_ms=50, max_deliveries=5)
    for part in range(store.inbox.n):  # the harness worker that opened the 团 steps aside
        await store.inbox.release(part, service.inbox.name)

    wire = asyncio.Semaphore(32)  # the test client's connection pool is bounded

    async def put(msg: Message, dedupe_id: str) -> None:
        async with wire:
            await store.inbox.put(msg.conversation, dedupe_id, msg.to_json())

    async def shopper(msgs: list[Message]) -> None:
        for msg in msgs:
            await put(msg, msg.id)
            r = rnd.random()
            if r < 0.2:  # WeCom retried the callback: the inbox drops it
                await put(msg, msg.id)
            elif r < 0.3:  # the same message arrives by another path (kf re-sync): only the ledger can tell
                await put(msg, f"{msg.id}#resync")
            await asyncio.sleep(rnd.random() / 200)

    ghost_taken = 0

    async def ghost() -> None:
        """A worker that reads entries and vanishes without handling them."""
        nonlocal ghost_taken
        for _ in range(6):
            await asyncio.sleep(0.05)
            ghost_taken += len(await store.inbox.read_new(rnd.randrange(store.inbox.n), "ghost", 4))

    producing = asyncio.gather(*(shopper(m) for m in per_shopper), ghost())
    while not producing.done():
        await crashy.drain()
        await asyncio.sleep(0.005)
    await producing
    await crashy.drain()
    for part in range(store.inbox.n):  # the crashy worker dies; its lease would expire
        await store.inbox.release(part, "crashy")
    for _ in range(200):
        await asyncio.sleep(0.06)
        await service.inbox.drain()
        if await store.inbox.pending_count() == 0:
            break
    assert await store.inbox.pending_count() == 0
    assert await store.r.xlen(store.keys.dead("inbox")) == 0
    assert crashes > 0 and ghost_taken > 0 and torn > 0

    # Every distinct message applied exactly once, in some order: the 团's step numbers.
    outcomes = {mid: await gbs.applied(gid, mid) for mid in plan}
    assert all(o is not None for o in outcomes.values()), "a message was lost"
    order = sorted(plan, key=lambda mid: outcomes[mid].op)
    assert [outcomes[mid].op for mid in order] == list(range(1, len(plan) + 1)), "a message was applied twice"

    # Each conversation is handled in order, crashes included: a shopper's own steps keep the order
    # they were sent in, so the only freedom left is how different shoppers interleave.
    for msgs in per_shopper:
        ops = [outcomes[m.id].op for m in msgs]
        assert ops == sorted(ops), f"{msgs[0].sender}'s messages were applied out of order"

    model = Model(cap=CAP, per_person=LIMIT)
    promoted_in_ledger: list[int] = []
    for mid in order:
        owner, op = plan[mid]
        got = outcomes[mid]
        assert got.code == model_step(model, owner, op), (mid, owner, op)
        assert (got.total, got.waiting) == (model.total, model.waiting), (mid, op)
        assert got.total <= CAP
        promoted_in_ledger += [x.no for x in got.promoted]

    lines = await gbs.lines(gid)
    assert {x.no: (x.owner, x.who, x.qty, x.status) for x in lines} == {
        n: (x.owner, x.who, x.qty, x.status) for n, x in model.lines.items()}
    assert await gbs.waiting_order(gid) == model.queue
    assert promoted_in_ledger == model.promotions and model.promotions, "waiting list must have been exercised"
    per_owner: dict[str, int] = {}
    for x in lines:
        if x.live:
            per_owner[x.owner] = per_owner.get(x.owner, 0) + x.qty
    assert max(per_owner.values()) <= LIMIT
    g = await gbs.get(gid)
    assert g.total == sum(x.qty for x in lines if x.status == "active") == model.total <= CAP

    # One receipt per distinct message, however often it was handled.
    receipts: dict[str, int] = {}
    for part in range(store.outbox.n):
        for _, fields in await store.r.xrange(store.outbox.key(part)):
            out = json.loads(fields[b"d"])
            owner = plan.get(out["origin"], (None,))[0]
            if owner and out["to"] == f"{KF}:{owner}":
                receipts[out["origin"]] = receipts.get(out["origin"], 0) + 1
    assert receipts == {mid: 1 for mid in plan}
