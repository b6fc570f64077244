"""The ack path under hostile input, and exactly-once handling of retried callbacks."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

from bot.crypto import Crypto, signature
from tests import factories as f
from tests.aibot_chat import aibot  # noqa: F401  (fixture: the service in each [wecom.aibot] mode)


async def inbox_len(service) -> int:
    return await service.store.inbox.length()


def signed_get(timestamp: int) -> str:
    c = Crypto(f.APP_TOKEN, f.APP_KEY, f.CORP_ID)
    echo = c.encrypt(b"1616140317555161061")
    q = {"msg_signature": c.sign(str(timestamp), "263014780", echo), "timestamp": str(timestamp), "nonce": "263014780"}
    # The raw '+' in echostr must survive form decoding (docs/wecom.md §1.2).
    return "/wecom/app?" + urlencode(q) + "&echostr=" + echo.replace("/", "%2F")


async def test_get_verification_answers_bare_plaintext(service):
    resp = await service.client.get(signed_get(int(time.time())))
    assert resp.status == 200
    assert await resp.read() == b"1616140317555161061"


async def test_get_verification_refuses_a_stale_timestamp(service):
    """A correctly signed URL captured a day ago must not verify again (max_skew_seconds, as POST)."""
    for ts in (int(time.time()) - 86400, int(time.time()) + 3600, 0):
        resp = await service.client.get(signed_get(ts))
        assert resp.status == 403, ts
        assert await resp.text() == "stale timestamp"
    assert (await service.client.get(signed_get(int(time.time()) - 200))).status == 200  # within 300 s


async def test_get_with_bad_signature_is_403(service):
    c = Crypto(f.APP_TOKEN, f.APP_KEY, f.CORP_ID)
    echo = c.encrypt(b"123")
    resp = await service.client.get("/wecom/app", params={"msg_signature": "0" * 40, "timestamp": "1",
                                                          "nonce": "2", "echostr": echo})
    assert resp.status == 403


async def test_valid_post_acks_empty_and_stores(service):
    resp = await service.post_app(f.text_xml("帮助"))
    assert resp.status == 200 and await resp.text() == ""
    assert await inbox_len(service) == 1


async def test_bad_signature_403_and_nothing_stored(service):
    q, body = f.app_callback(f.text_xml("hi"), token="wrongToken")
    resp = await service.client.post(f"/wecom/app?{q}", data=body)
    assert resp.status == 403
    assert await inbox_len(service) == 0


async def test_stale_timestamp_403(service):
    resp = await service.post_app(f.text_xml("hi"), timestamp=int(time.time()) - 3600)
    assert resp.status == 403
    assert await inbox_len(service) == 0


async def test_skew_zero_disables_timestamp_check(aiohttp_client, redis, prefix, fake):
    from tests.conftest import make_config
    from tests.harness import Harness
    h = await Harness.start(aiohttp_client, redis, make_config(prefix, fake.base_url,
                                                                wecom={"max_skew_seconds": 0}), fake)
    resp = await h.post_app(f.text_xml("hi"), timestamp=1409659813)
    assert resp.status == 200


async def test_malformed_outer_xml_400(service):
    ts, nonce = str(int(time.time())), "1"
    for body in (b"<xml><Encrypt>", b"not xml at all", b"<xml><Other>x</Other></xml>",
                 b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'):
        q = urlencode({"msg_signature": signature(f.APP_TOKEN, ts, nonce, "x"), "timestamp": ts, "nonce": nonce})
        resp = await service.client.post(f"/wecom/app?{q}", data=body)
        assert resp.status == 400, body
    assert await inbox_len(service) == 0


async def test_signed_but_undecryptable_400(service):
    ts, nonce, enc = str(int(time.time())), "7", "QUJDREVGRw=="  # valid base64, not a ciphertext
    q = urlencode({"msg_signature": signature(f.APP_TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce})
    resp = await service.client.post(f"/wecom/app?{q}", data=f"<xml><Encrypt>{enc}</Encrypt></xml>")
    assert resp.status == 400


async def test_signed_malformed_inner_xml_400(service):
    resp = await service.post_app("<xml><MsgType>text</MsgType><Content>unclosed")
    assert resp.status == 400


async def test_missing_query_400(service):
    resp = await service.client.post("/wecom/app", data=b"<xml/>")
    assert resp.status == 400


async def test_oversized_body_413(service):
    q, _ = f.app_callback(f.text_xml("x"))
    resp = await service.client.post(f"/wecom/app?{q}", data=b"<xml>" + b"a" * (70 * 1024) + b"</xml>")
    assert resp.status == 413
    assert await inbox_len(service) == 0


async def test_unknown_message_and_event_types_200_ignored(service):
    loc = f.text_xml("x").replace("<MsgType><![CDATA[text]]></MsgType>", "<MsgType><![CDATA[location]]></MsgType>")
    assert (await service.post_app(loc)).status == 200
    assert (await service.post_app(f.event_xml("some_future_event"))).status == 200
    assert await inbox_len(service) == 0


async def test_same_callback_three_times_one_handler_run_one_reply(service):
    plain = f.text_xml("帮助", user="xiaowang", msg_id=987654321)
    for _ in range(3):
        q, body = f.app_callback(plain)  # fresh nonce and ciphertext each time, like a real retry may be
        assert (await service.client.post(f"/wecom/app?{q}", data=body)).status == 200
    assert await inbox_len(service) == 1
    await service.drain()
    replies = service.sent_texts("xiaowang")
    assert len(replies) == 1 and "帮助" in replies[0]


async def test_events_dedupe_on_plaintext_hash(service):
    ev = f.event_xml("change_external_chat", {"ChatId": "wrA", "ChangeType": "update",
                                              "UpdateDetail": "add_member"}, create_time=1700000000)
    ev2 = ev.replace("wrA", "wrB")  # same sender (sys) and second, different event
    for plain in (ev, ev, ev2):
        assert (await service.post_app(plain)).status == 200
    assert await inbox_len(service) == 2


async def test_aibot_json_callback(aibot):
    """Run in both [wecom.aibot] modes: the URL callback and the long connection (tests/aibot_chat.py)."""
    out = await aibot.ask("帮助", chat="C1")
    assert len(out) == 1 and "帮助" in out[0]


async def test_aibot_malformed_json_400(service):
    resp = await service.client.post("/wecom/aibot?msg_signature=a&timestamp=1&nonce=2", data=b"{not json")
    assert resp.status == 400


async def test_healthz(service):
    resp = await service.client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["redis"] is True


# -- hostile input: whatever arrives, the answer is a 4xx or 200, never a 500 -------------------
def _signed_query(token: str, encrypt: str, ts: str | None = None) -> str:
    ts, nonce = ts or str(int(time.time())), "424242"
    return urlencode({"msg_signature": signature(token, ts, nonce, encrypt), "timestamp": ts, "nonce": nonce})


async def test_hostile_outer_requests_never_500(service):
    enc = Crypto(f.APP_TOKEN, f.APP_KEY, f.CORP_ID).encrypt(f.text_xml("hi").encode())
    good_q = _signed_query(f.APP_TOKEN, enc)
    utf16_bomb = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "AAAA">]>'
                  f'<xml><Encrypt>{enc}</Encrypt><X>&a;</X></xml>').encode("utf-16")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
              b"".join(b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;">' % ((98 + i,) + (97 + i,) * 5) for i in range(8)) +
              b']><xml><Encrypt>&i;</Encrypt></xml>')
    cases = [
        ("/wecom/app", good_q, b""),
        ("/wecom/app", good_q, b"\xff\xfe\x00\x80 not utf-8 \xc3\x28"),
        ("/wecom/app", good_q, utf16_bomb),
        ("/wecom/app", good_q, laughs),
        ("/wecom/app", good_q, b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>"),
        ("/wecom/app", good_q, b"<xml><Encrypt><Inner>x</Inner></Encrypt></xml>"),
        ("/wecom/app", good_q, b'{"encrypt": "x"}'),
        ("/wecom/app", "msg_signature=%E8%8D%89&timestamp=1&nonce=2", b"<xml><Encrypt>QUJD</Encrypt></xml>"),
        ("/wecom/app", "msg_signature=abc&timestamp=&nonce=2", b"<xml><Encrypt>QUJD</Encrypt></xml>"),
        ("/wecom/app", "timestamp=1&nonce=2", b"<xml><Encrypt>QUJD</Encrypt></xml>"),
        ("/wecom/aibot", good_q, b"[1, 2, 3]"),
        ("/wecom/aibot", good_q, b'"just a string"'),
        ("/wecom/aibot", good_q, b'{"encrypt": 12}'),
        ("/wecom/aibot", good_q, b'{"encrypt": ["a"]}'),
        ("/wecom/aibot", good_q, b"\xff\xfe"),
        ("/wecom/aibot", good_q, b"[" * 100_00 + b"]" * 100_00),
        ("/wecom/aibot", "msg_signature=%E8%8D%89&timestamp=1&nonce=2", b'{"encrypt": "QUJD"}'),
    ]
    for path, query, body in cases:
        for ctype in ("text/xml", "application/json", "multipart/form-data; boundary=x"):
            resp = await service.client.post(f"{path}?{query}", data=body, headers={"Content-Type": ctype})
            assert 400 <= resp.status < 500, (path, query, body[:40], ctype, resp.status)
    assert await inbox_len(service) == 0


async def test_hostile_get_never_500(service):
    for query in ("", "echostr=abc", "msg_signature=%E8%8D%89&timestamp=1&nonce=2&echostr=QUJD",
                  "msg_signature=00&timestamp=1&nonce=2&echostr=%FF%FE", "msg_signature=a&timestamp=1&nonce=2&echostr="):
        for path in ("/wecom/app", "/wecom/aibot"):
            resp = await service.client.get(f"{path}?{query}")
            assert 400 <= resp.status < 500, (path, query, resp.status)


async def test_signed_hostile_plaintexts_are_400_or_ignored(service):
    """Only someone holding the key can send these, but even then the answer is never a 500."""
    app = Crypto(f.APP_TOKEN, f.APP_KEY, f.CORP_ID)
    bot = Crypto(f.BOT_TOKEN, f.BOT_KEY, "")
    app_plain = [
        b"",
        "\ufeff<xml/>".encode("utf-16"),
        b'<!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>text</MsgType><Content>&a;</Content></xml>',
        b"<xml><MsgType><a>text</a></MsgType></xml>",
        b"<xml><MsgType>event</MsgType><Event><x>y</x></Event></xml>",
        b"<xml><MsgType>text</MsgType><Content><b>x</b></Content><MsgId>1</MsgId><FromUserName>u</FromUserName></xml>",
        b"<xml><MsgType>text</MsgType><CreateTime>1e400</CreateTime><MsgId>2</MsgId></xml>",
        b"\xc3\x28 not utf-8",
    ]
    bot_plain = [
        b"[]", b'"x"', b"null", b'{"from": "u"}', b'{"from": {"userid": ["u"]}, "msgtype": "text", "text": "hi"}',
        b'{"from": {"userid": "u"}, "msgtype": "text", "text": ["hi"]}',
        b'{"from": {"userid": "u"}, "msgtype": "voice", "voice": 3}',
        b'{"from": {"userid": "u"}, "msgtype": "event", "event": "enter_chat"}',
        b'{"from": {"userid": "u"}, "msgtype": "text", "text": {"content": 5}, "create_time": 1e400}',
        b'{"from": {"userid": "u"}, "msgtype": ["text"], "chattype": {"a": 1}}',
    ]
    for crypto, path, plains, wrap in (
            (app, "/wecom/app", app_plain, lambda e: f"<xml><Encrypt><![CDATA[{e}]]></Encrypt></xml>"),
            (bot, "/wecom/aibot", bot_plain, lambda e: json.dumps({"encrypt": e}))):
        for plain in plains:
            enc = crypto.encrypt(plain)
            resp = await service.client.post(f"{path}?{_signed_query(crypto.token, enc)}", data=wrap(enc))
            assert resp.status in (200, 400), (path, plain, resp.status)


async def test_body_arriving_in_pieces_is_read_whole(service):
    """A slow client's body comes in several TCP segments; the ack path must wait for all of it."""
    q, body = f.app_callback(f.text_xml("分段到达"))
    host, port = service.client.host, service.client.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST /wecom/app?{q} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                 "Connection: close\r\n\r\n".encode())
    for i in range(0, len(body), 100):
        writer.write(body[i:i + 100])
        await writer.drain()
        await asyncio.sleep(0.01)
    status = (await reader.readline()).split()[1]
    writer.close()
    assert status == b"200"
    assert await inbox_len(service) == 1


async def test_chunked_body_over_limit_is_413(service):
    q, _ = f.app_callback(f.text_xml("x"))

    async def chunks():
        for _ in range(80):
            yield b"<" * 1024

    resp = await service.client.post(f"/wecom/app?{q}", data=chunks())
    assert resp.status == 413


async def test_admin_api_needs_the_token_even_for_unknown_paths(service):
    for path in ("/api/stats", "/api/no-such-thing"):
        assert (await service.client.get(path)).status == 401
        assert (await service.client.get(path, headers={"Authorization": "Bearer wrong"})).status == 401
    ok = {"Authorization": "Bearer test-admin-token"}
    assert (await service.client.get("/api/stats", headers=ok)).status == 200
    assert (await service.client.get("/api/no-such-thing", headers=ok)).status == 404
