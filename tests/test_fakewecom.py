"""The fake WeCom server must enforce the documented rules, or tests built on it prove nothing."""
import aiohttp
import pytest

from bot.fakewecom import FAKE_KEY, FakeWeCom, create_fake_app


@pytest.fixture
def fake():
    return FakeWeCom(known_users={"zhangsan", "lisi"})


@pytest.fixture
async def client(aiohttp_client, fake):
    return await aiohttp_client(create_fake_app(fake))


async def get(client, path, **query):
    resp = await client.get(f"/cgi-bin/{path}", params=query)
    return await resp.json()


async def post(client, path, body, **query):
    resp = await client.post(f"/cgi-bin/{path}", params=query, json=body)
    assert resp.status == 200
    return await resp.json()


async def token(client, secret="app-secret"):
    return (await get(client, "gettoken", corpid="ww1", corpsecret=secret))["access_token"]


def text(content, **to):
    return {"touser": "zhangsan", **to, "msgtype": "text", "agentid": 1000002, "text": {"content": content}}


async def test_app_exposes_state_under_fake_key(aiohttp_client):
    app = create_fake_app()
    assert isinstance(app[FAKE_KEY], FakeWeCom)
    client = await aiohttp_client(app)
    await get(client, "gettoken", corpid="ww1", corpsecret="s")
    assert [c.path for c in app[FAKE_KEY].calls] == ["gettoken"]


async def test_gettoken_same_token_per_secret_while_valid(client, fake):
    first = await get(client, "gettoken", corpid="ww1", corpsecret="a")
    assert first["errcode"] == 0 and first["expires_in"] == 7200
    assert (await token(client, "a")) == first["access_token"]
    assert (await token(client, "b")) != first["access_token"]
    fake.advance(7200)
    assert (await token(client, "a")) != first["access_token"]
    assert (await get(client, "gettoken", corpid="ww1", corpsecret=""))["errcode"] == 41004


async def test_valid_secrets_reject_others_with_40001(aiohttp_client):
    client = await aiohttp_client(create_fake_app(FakeWeCom(valid_secrets={"good"})))
    assert (await get(client, "gettoken", corpid="ww1", corpsecret="bad"))["errcode"] == 40001
    assert (await get(client, "gettoken", corpid="ww1", corpsecret="good"))["errcode"] == 0


async def test_token_checks_missing_unknown_expired(client, fake):
    assert (await post(client, "message/send", text("hi")))["errcode"] == 41001
    assert (await post(client, "message/send", text("hi"), access_token="nope"))["errcode"] == 40014
    old = await token(client)
    assert (await post(client, "message/send", text("hi"), access_token=old))["errcode"] == 0
    fake.expire_tokens()
    assert (await post(client, "message/send", text("hi"), access_token=old))["errcode"] == 42001
    new = await token(client)
    assert new != old
    assert (await post(client, "message/send", text("hi"), access_token=new))["errcode"] == 0
    fake.advance(7200)
    assert (await post(client, "message/send", text("hi"), access_token=new))["errcode"] == 42001


async def test_calls_record_secret_body_and_answer(client, fake):
    tok = await token(client, "kf-secret")
    await post(client, "message/send", text("你好"), access_token=tok)
    call = fake.sent("message/send")[0]
    assert call.secret == "kf-secret" and call.body["text"]["content"] == "你好"
    assert call.query["access_token"] == tok and call.errcode == 0 and call.response["msgid"]
    assert fake.sent("send") == [call] and fake.sent("gettoken", ok=True)


async def test_scripted_errcodes_answer_in_order_then_succeed(client, fake):
    tok = await token(client)
    fake.script("message/send", 42001, 45009, 60020, 48002, -1)
    codes = [(await post(client, "message/send", text("x"), access_token=tok))["errcode"] for _ in range(6)]
    assert codes == [42001, 45009, 60020, 48002, -1, 0]
    answer = fake.sent("message/send")[0].response
    assert answer["errmsg"].startswith("access_token expired") and "e=42001" in answer["errmsg"]
    assert len(fake.sent("message/send", ok=False)) == 5
    fake.script("gettoken", 40001)
    assert (await get(client, "gettoken", corpid="ww1", corpsecret="s"))["errcode"] == 40001
    assert (await get(client, "gettoken", corpid="ww1", corpsecret="s"))["errcode"] == 0


async def test_scripted_http500(client, fake):
    fake.script("webhook/send", "http500")
    body = {"msgtype": "text", "text": {"content": "x"}}
    resp = await client.post("/cgi-bin/webhook/send", params={"key": "k"}, json=body)
    assert resp.status == 500
    assert fake.calls[-1].errcode == "http500"
    assert (await post(client, "webhook/send", body, key="k"))["errcode"] == 0
    with pytest.raises(ValueError):
        fake.script("webhook/send", "boom")


async def test_message_send_validation(client):
    tok = await token(client)
    empty = {"touser": "", "toparty": "", "totag": "", "msgtype": "text", "text": {"content": "x"}}
    assert (await post(client, "message/send", empty, access_token=tok))["errcode"] == 82001
    assert (await post(client, "message/send", text("a" * 2048), access_token=tok))["errcode"] == 0
    assert (await post(client, "message/send", text("货" * 683), access_token=tok))["errcode"] == 45002
    markdown = {"touser": "zhangsan", "msgtype": "markdown", "markdown": {"content": "**" * 1025}}
    assert (await post(client, "message/send", markdown, access_token=tok))["errcode"] == 45002
    bad_type = {"touser": "zhangsan", "msgtype": "sms", "sms": {}}
    assert (await post(client, "message/send", bad_type, access_token=tok))["errcode"] == 40008
    partial = await post(client, "message/send", text("x", touser="zhangsan|ghost"), access_token=tok)
    assert partial["errcode"] == 0 and partial["invaliduser"] == "ghost"
    assert (await post(client, "message/send", text("x", touser="ghost"), access_token=tok))["errcode"] == 81013


async def test_webhook_send_limits_and_keys(aiohttp_client):
    client = await aiohttp_client(create_fake_app(FakeWeCom(webhook_keys={"k1"})))
    md = lambda n: {"msgtype": "markdown", "markdown": {"content": "m" * n}}  # noqa: E731
    assert (await post(client, "webhook/send", md(4096), key="k1"))["errcode"] == 0
    over = await post(client, "webhook/send", md(4097), key="k1")
    assert over["errcode"] == 40058 and "4096" in over["errmsg"]
    assert (await post(client, "webhook/send", {"msgtype": "text", "text": {"content": "t" * 2049}},
                       key="k1"))["errcode"] == 45002
    assert (await post(client, "webhook/send", md(1), key="other"))["errcode"] == 93000
    assert (await post(client, "webhook/send", md(1)))["errcode"] == 93000


async def upload(client, path, data: bytes, filename="报表.xlsx", **query):
    form = aiohttp.FormData(quote_fields=False)  # else aiohttp sends "%E6%8A..." and WeCom shows that
    form.add_field("media", data, filename=filename, content_type="application/octet-stream")
    resp = await client.post(f"/cgi-bin/{path}", params=query, data=form)
    return await resp.json()


async def test_media_upload_records_file_and_media_id_is_checked(client, fake):
    tok = await token(client)
    up = await upload(client, "media/upload", b"x" * 1234, access_token=tok, type="file")
    assert up["errcode"] == 0 and up["type"] == "file"
    assert fake.sent("media/upload")[0].body["media"]["size"] == 1234
    assert fake.media[up["media_id"]]["filename"] == "报表.xlsx"
    send = lambda mid: {"touser": "lisi", "msgtype": "file", "file": {"media_id": mid}}  # noqa: E731
    assert (await post(client, "message/send", send(up["media_id"]), access_token=tok))["errcode"] == 0
    assert (await post(client, "message/send", send("made-up"), access_token=tok))["errcode"] == 40007
    hook = await upload(client, "webhook/upload_media", b"y" * 10, key="k", type="file")
    assert hook["errcode"] == 0
    assert (await post(client, "message/send", send(hook["media_id"]), access_token=tok))["errcode"] == 40007
    hook_file = {"msgtype": "file", "file": {"media_id": hook["media_id"]}}
    assert (await post(client, "webhook/send", hook_file, key="k"))["errcode"] == 0
    assert (await post(client, "webhook/send", hook_file, key="k2"))["errcode"] == 40007
    assert (await upload(client, "media/upload", b"xy", access_token=tok, type="file"))["errcode"] == 40006
    assert (await upload(client, "media/upload", b"xyzzy!", access_token=tok, type="pdf"))["errcode"] == 40004
    fake.advance(3 * 86400)
    tok = await token(client)
    assert (await post(client, "message/send", send(up["media_id"]), access_token=tok))["errcode"] == 40007


async def test_aibot_response_code_is_single_use(client):
    body = {"msgtype": "markdown", "markdown": {"content": "**答复**"}}
    assert (await post(client, "aibot/response", body, response_code="rc1"))["errcode"] == 0
    assert (await post(client, "aibot/response", body, response_code="rc1"))["errcode"] == 40029
    assert (await post(client, "aibot/response", body, response_code="rc2"))["errcode"] == 0


async def sync(client, tok, **body):
    return await post(client, "kf/sync_msg", body, access_token=tok)


async def test_kf_sync_pages_with_cursor_and_has_more(client, fake):
    tok = await token(client)
    pushed = [fake.kf_push("wkA" if i % 2 else "wkB", f"wm{i}", f"问题{i}") for i in range(5)]
    event = fake.kf_push("wkA", "wm9", msgtype="event", event={"scene": "store42", "scene_param": "p"})
    seen, cursor, pages = [], "", 0
    while True:
        page = await sync(client, tok, cursor=cursor, limit=2, token=fake.kf_token())
        assert page["errcode"] == 0
        seen += page["msg_list"]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            break
    assert pages == 3 and [m["msgid"] for m in seen] == [m["msgid"] for m in pushed + [event]]
    assert seen[1]["text"]["content"] == "问题1" and seen[1]["origin"] == 3
    assert seen[-1]["msgtype"] == "event" and seen[-1]["origin"] == 4
    assert seen[-1]["event"] == {"event_type": "enter_session", "open_kfid": "wkA", "external_userid": "wm9",
                                 "scene": "store42", "scene_param": "p"}
    assert (await sync(client, tok, cursor=cursor))["msg_list"] == []
    only_a = await sync(client, tok, open_kfid="wkA")
    assert [m["msgid"] for m in only_a["msg_list"]] == [pushed[1]["msgid"], pushed[3]["msgid"], event["msgid"]]


async def test_kf_sync_without_cursor_skips_messages_older_than_three_days(client, fake):
    tok = await token(client)
    fake.kf_push("wkA", "wm1", "旧消息")
    fake.advance(3 * 86400 + 1)
    fresh = fake.kf_push("wkA", "wm1", "新消息")
    tok = await token(client)
    assert [m["msgid"] for m in (await sync(client, tok))["msg_list"]] == [fresh["msgid"]]


async def test_kf_sync_rejects_bad_token_limit_and_cursor(client, fake):
    tok = await token(client)
    assert (await sync(client, tok, token="forged"))["errcode"] == 95007
    kf_token = fake.kf_token()
    assert (await sync(client, tok, token=kf_token))["errcode"] == 0
    fake.advance(600)
    tok = await token(client)
    assert (await sync(client, tok, token=kf_token))["errcode"] == 95007
    assert (await sync(client, tok, limit=1001))["errcode"] == 40058
    assert (await sync(client, tok, cursor="garbage!"))["errcode"] == 40058


async def test_kf_send_msg_enforces_five_replies_and_48h(client, fake):
    tok = await token(client)
    reply = {"touser": "wm1", "open_kfid": "wkA", "msgtype": "text", "text": {"content": "您好"}}
    assert (await post(client, "kf/send_msg", reply, access_token=tok))["errcode"] == 95018
    fake.kf_push("wkA", "wm1", "有鸡蛋吗")
    codes = [(await post(client, "kf/send_msg", reply, access_token=tok))["errcode"] for _ in range(6)]
    assert codes == [0, 0, 0, 0, 0, 95001]
    fake.kf_push("wkA", "wm1", "还有吗")
    assert (await post(client, "kf/send_msg", reply, access_token=tok))["errcode"] == 0
    fake.advance(48 * 3600 + 1)
    tok = await token(client)
    assert (await post(client, "kf/send_msg", reply, access_token=tok))["errcode"] == 95018
    events_dont_open_window = {**reply, "touser": "wm2"}
    fake.kf_push("wkA", "wm2", msgtype="event")
    assert (await post(client, "kf/send_msg", events_dont_open_window, access_token=tok))["errcode"] == 95018


async def test_kf_send_msg_refuses_a_repeated_or_malformed_msgid(client, fake):
    tok = await token(client)
    fake.kf_push("wkA", "wm1", "有鸡蛋吗")
    fake.kf_push("wkB", "wm1", "有鸡蛋吗")
    reply = {"touser": "wm1", "open_kfid": "wkA", "msgtype": "text", "text": {"content": "您好"}, "msgid": "m_1-A"}
    first = await post(client, "kf/send_msg", reply, access_token=tok)
    assert (first["errcode"], first["msgid"]) == (0, "m_1-A")
    assert (await post(client, "kf/send_msg", reply, access_token=tok))["errcode"] == 40058  # a repeat
    assert (await post(client, "kf/send_msg", {**reply, "open_kfid": "wkB"}, access_token=tok))["errcode"] == 0
    for bad in ("x" * 33, "有中文", "a.b"):
        assert (await post(client, "kf/send_msg", {**reply, "msgid": bad}, access_token=tok))["errcode"] == 40058
    assert fake.kf_sessions[("wkA", "wm1")]["replies"] == 1  # refusals use no reply slot


async def test_kf_customer_batchget_and_contact_way(client, fake):
    tok = await token(client)
    fake.kf_push("wkA", "wm1", "hi")
    got = await post(client, "kf/customer/batchget", {"external_userid_list": ["wm1", "wmX"]}, access_token=tok)
    assert [c["external_userid"] for c in got["customer_list"]] == ["wm1"]
    assert got["invalid_external_userid"] == ["wmX"]
    way = await post(client, "kf/add_contact_way", {"open_kfid": "wkA", "scene": "s1"}, access_token=tok)
    assert "wkA" in way["url"] and "s1" in way["url"]
    assert (await post(client, "kf/add_contact_way", {}, access_token=tok))["errcode"] == 95000


async def test_welcome_code_accepted_once_within_20s(client, fake):
    tok = await token(client)
    code = fake.welcome_code()
    body = {"welcome_code": code, "text": {"content": "欢迎"}}
    assert (await post(client, "externalcontact/send_welcome_msg", body, access_token=tok))["errcode"] == 0
    assert (await post(client, "externalcontact/send_welcome_msg", body, access_token=tok))["errcode"] == 41051
    late = {"welcome_code": fake.welcome_code(), "text": {"content": "欢迎"}}
    fake.advance(21)
    assert (await post(client, "externalcontact/send_welcome_msg", late, access_token=tok))["errcode"] == 41050
    unknown = {"welcome_code": "nope", "text": {"content": "x"}}
    assert (await post(client, "externalcontact/send_welcome_msg", unknown, access_token=tok))["errcode"] == 41050


async def test_add_msg_template_records_task_and_fail_list(client, fake):
    tok = await token(client)
    fake.add_group("wrA", "zhangsan", ["wmX"])
    fake.add_group("wrB", "lisi")
    body = {"chat_type": "group", "sender": "zhangsan", "chat_id_list": ["wrA", "wrB", "wrGone"],
            "text": {"content": "今日特价"}}
    got = await post(client, "externalcontact/add_msg_template", body, access_token=tok)
    assert got["errcode"] == 0 and got["fail_list"] == ["wrB", "wrGone"]
    task = fake.msg_templates[-1]
    assert task["msgid"] == got["msgid"] and task["targets"] == ["wrA", "wrB", "wrGone"]
    assert task["text"] == "今日特价" and task["sender"] == "zhangsan"
    too_long = {**body, "text": {"content": "价" * 1334}}
    assert (await post(client, "externalcontact/add_msg_template", too_long, access_token=tok))["errcode"] == 45002
    no_sender = {**body, "sender": ""}
    assert (await post(client, "externalcontact/add_msg_template", no_sender, access_token=tok))["errcode"] == 40003
    assert len(fake.msg_templates) == 1


async def test_groupchat_get_and_list(client, fake):
    tok = await token(client)
    fake.add_group("wrA", "zhangsan", ["wmX", "lisi"], name="一店福利群")
    got = (await post(client, "externalcontact/groupchat/get", {"chat_id": "wrA"}, access_token=tok))["group_chat"]
    assert got["owner"] == "zhangsan" and got["name"] == "一店福利群"
    assert {m["userid"]: m["type"] for m in got["member_list"]} == {"zhangsan": 1, "wmX": 2, "lisi": 1}
    fake.groups["wrA"]["member_list"].append({"userid": "wmY", "type": 2, "join_time": 1, "join_scene": 3})
    again = (await post(client, "externalcontact/groupchat/get", {"chat_id": "wrA"}, access_token=tok))["group_chat"]
    assert again["member_version"] != got["member_version"]
    missing = await post(client, "externalcontact/groupchat/get", {"chat_id": "wrZ"}, access_token=tok)
    assert missing["errcode"] == 40050
    for i in range(4):
        fake.add_group(f"wr{i}", "lisi")
    ids, cursor = [], ""
    while True:
        page = await post(client, "externalcontact/groupchat/list",
                          {"owner_filter": {"userid_list": ["lisi"]}, "cursor": cursor, "limit": 3},
                          access_token=tok)
        ids += [g["chat_id"] for g in page["group_chat_list"]]
        if not (cursor := page["next_cursor"]):
            break
    assert ids == ["wr0", "wr1", "wr2", "wr3"]


async def test_misc_endpoints_unknown_path_and_bad_json(client):
    tok = await token(client)
    assert (await get(client, "getcallbackip", access_token=tok))["ip_list"] == ["127.0.0.1"]
    assert (await get(client, "get_api_domain_ip", access_token=tok))["errcode"] == 0
    agent = await get(client, "agent/get", access_token=tok, agentid="1000002")
    assert agent["agentid"] == 1000002 and agent["close"] == 0
    assert (await get(client, "agent/get", access_token=tok))["errcode"] == 40056
    resp = await client.post("/cgi-bin/no/such/api", params={"access_token": tok}, json={})
    assert resp.status == 404 and (await resp.json())["errcode"] == 404
    resp = await client.post("/cgi-bin/appchat/send", params={"access_token": tok}, data="{not json")
    assert (await resp.json())["errcode"] == 47001
    chat = {"chatid": "c1", "msgtype": "markdown", "markdown": {"content": "x" * 2049}}
    assert (await post(client, "appchat/send", chat, access_token=tok))["errcode"] == 45002


async def test_sandbox_keeps_sent_files_for_the_console_to_open(client):
    tok = await token(client)
    up = await upload(client, "media/upload", b"PK\x03\x04sheet", filename="提货单.xlsx", access_token=tok, type="file")
    await post(client, "message/send", {"touser": "zhangsan", "msgtype": "file", "agentid": 1000002,
                                        "file": {"media_id": up["media_id"]}}, access_token=tok)
    calls = (await (await client.get("/sandbox/calls")).json())["calls"]
    sent = [c for c in calls if c["path"] == "message/send"][0]
    assert sent["file"] == "提货单.xlsx"
    assert all(c["body"] is None for c in calls if "upload" in c["path"])  # no bytes in the call log
    resp = await client.get(f"/sandbox/media/{up['media_id']}")
    assert resp.status == 200 and await resp.read() == b"PK\x03\x04sheet"
    assert "UTF-8''%E6%8F%90" in resp.headers["Content-Disposition"]
    assert (await client.get("/sandbox/media/fake-file-nope")).status == 404


async def test_sandbox_keeps_the_bytes_of_recent_uploads_only(client, fake):
    tok = await token(client)
    ids = [(await upload(client, "media/upload", b"x" * 10, access_token=tok, type="file"))["media_id"]
           for _ in range(fake.MEDIA_KEPT + 2)]
    assert (await client.get(f"/sandbox/media/{ids[0]}")).status == 404
    assert (await client.get(f"/sandbox/media/{ids[-1]}")).status == 200
