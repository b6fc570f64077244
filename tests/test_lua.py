"""store/lua.py: includes, one EVALSHA per call with a NOSCRIPT fallback, and the hash-slot guard the
suite runs with (a script or MULTI whose keys span slots would not run on a Redis Cluster)."""
from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from store import lua
from store.keys import Keys


def test_a_fragment_is_included_once_and_every_script_file_loads():
    text = lua.source("groupbuy_join")
    assert "--#include" not in text
    assert text.count("local function finish(") == 1  # the prelude, once
    for path in lua.HERE.glob("*.lua"):
        assert "--#include" not in lua.source(path.stem), path.name


def test_the_shipped_scripts_are_the_files_beside_the_loader():
    names = {p.stem for p in Path(lua.__file__).parent.joinpath("lua").glob("*.lua")}
    assert {"compare_and_delete", "groupbuy_prelude", "coupons_claim", "streams_put"} <= names


async def test_an_unknown_script_is_run_with_eval_once_then_by_sha(redis, prefix):
    text = f"-- {uuid.uuid4().hex}\nlocal n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 60) return n"
    s = lua.Script("probe", text, hashlib.sha1(text.encode()).hexdigest())
    assert not (await redis.script_exists(s.sha))[0]
    assert await s(redis, [f"{prefix}:n"]) == 1  # NOSCRIPT, then EVAL (which caches it)
    assert (await redis.script_exists(s.sha))[0]
    assert await s(redis, [f"{prefix}:n"]) == 2


async def test_a_script_in_a_pipeline_settles_a_noscript_reply(redis, prefix):
    text = f"-- {uuid.uuid4().hex}\nlocal n = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('EXPIRE', KEYS[1], 60) return n"
    s = lua.Script("probe", text, hashlib.sha1(text.encode()).hexdigest())
    assert await lua.run_all(redis, [lua.Call(s, [f"{prefix}:a"], [5]), lua.Call(s, [f"{prefix}:b"], [7])]) == [5, 7]


async def test_the_compare_and_delete_script_deletes_only_its_owners_key(redis, prefix):
    cad = lua.bind(redis, "compare_and_delete")
    await redis.set(f"{prefix}:lock", "me")
    assert await cad(keys=[f"{prefix}:lock"], args=["you"]) == 0
    assert await cad(keys=[f"{prefix}:lock"], args=["me"]) == 1
    assert not await redis.exists(f"{prefix}:lock")


async def test_a_script_whose_keys_span_hash_slots_fails(redis, prefix):
    k = Keys(prefix)
    cad = lua.bind(redis, "compare_and_delete")
    with pytest.raises(lua.CrossSlot):
        await cad(keys=[k.coupon_meta("C1"), k.coupon_wallet("wm1")], args=["x"])
    await cad(keys=[k.coupon_meta("C1"), k.coupon_log("C1")], args=["x"])  # one entity: one slot


async def test_a_transaction_whose_keys_span_hash_slots_fails(redis, prefix):
    k = Keys(prefix)
    with pytest.raises(lua.CrossSlot):
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(k.coupon_meta("C1"), 1)
            pipe.set(k.coupon_wallet("wm1"), 1)
            await pipe.execute()
    assert not await redis.exists(k.coupon_meta("C1"))  # refused before anything was sent
    async with redis.pipeline(transaction=False) as pipe:  # a plain pipeline may span slots
        pipe.set(k.coupon_meta("C1"), 1, ex=60)
        pipe.set(k.coupon_wallet("wm1"), 1, ex=60)
        await pipe.execute()
