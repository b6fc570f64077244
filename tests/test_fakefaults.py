"""The fake WeCom's fault modes (bot/fakefaults.py), switched through its control endpoint."""
from __future__ import annotations

import asyncio
import time

from bot.fakefaults import FAULTS_KEY
from bot.fakewecom import FAKE_KEY, create_fake_app


async def _client(aiohttp_client):
    client = await aiohttp_client(create_fake_app())
    token = (await (await client.get("/cgi-bin/gettoken?corpid=ww1&corpsecret=s")).json())["access_token"]
    return client, token


async def _send(client, token):
    return await client.post(f"/cgi-bin/message/send?access_token={token}",
                             json={"touser": "u1", "msgtype": "text", "text": {"content": "hi"}, "agentid": 1})


async def test_busy_and_http_errors_apply_to_the_chosen_paths_only(aiohttp_client):
    client, token = await _client(aiohttp_client)
    fake = client.server.app[FAKE_KEY]
    resp = await client.post("/sandbox/faults", json={"mode": "busy", "paths": ["message/send"]})
    assert (await resp.json())["mode"] == "busy"
    assert (await (await _send(client, token)).json())["errcode"] == -1
    assert (await (await client.get("/cgi-bin/gettoken?corpid=ww1&corpsecret=s")).json())["errcode"] == 0
    await client.post("/sandbox/faults", json={"mode": "http5xx", "status": 502})
    assert (await _send(client, token)).status == 502
    assert [c.errcode for c in fake.sent("message/send")] == [-1, "http502"]  # recorded like any call
    await client.post("/sandbox/faults", json={"mode": "off"})
    assert (await (await _send(client, token)).json())["errcode"] == 0


async def test_hang_answers_late_but_the_call_takes_effect(aiohttp_client):
    client, token = await _client(aiohttp_client)
    fake = client.server.app[FAKE_KEY]
    client.server.app[FAULTS_KEY].set("hang", paths=["message/send"], seconds=0.5)
    with_timeout = asyncio.wait_for(_send(client, token), 0.2)
    try:
        await with_timeout
        raise AssertionError("answered before the hang ended")
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.6)
    assert [c.errcode for c in fake.sent("message/send")] == [0]  # delivered, though nobody heard


async def test_a_fault_with_a_duration_ends_by_itself(aiohttp_client):
    client, token = await _client(aiohttp_client)
    faults = client.server.app[FAULTS_KEY]
    faults.set("busy", for_seconds=0.3)
    assert (await (await _send(client, token)).json())["errcode"] == -1
    await asyncio.sleep(0.35)
    assert (await (await _send(client, token)).json())["errcode"] == 0
    assert faults.current.until is not None and faults.current.until <= time.time()


async def test_bad_control_requests_are_refused(aiohttp_client):
    client, _ = await _client(aiohttp_client)
    for body in ({"mode": "explode"}, {"mode": "hang"}, {"mode": "http5xx", "status": 404}, ["busy"]):
        resp = await client.post("/sandbox/faults", json=body)
        assert resp.status == 400, body
    assert (await (await client.get("/sandbox/faults")).json())["mode"] == "off"
