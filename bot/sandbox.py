"""`qunbot chat`: talk to a running demo service as a guide, buyer or shopper.

Messages are signed and encrypted exactly like WeCom's callbacks and POSTed to the service; what
the service sends back through the (fake) WeCom API is printed. Shoppers write through 微信客服:
their text is queued in the fake's kf log and a kf_msg_or_event callback tells the service to pull.

At start the console makes sure the fake knows the stores' customer groups (owned by each store's
first guide, with a shopper in their store's groups) and tells the service as WeCom would, with
change_external_chat events. Console lines starting with ":" are for the console itself: `:群发`
lists the group posts waiting for a guide's confirmation; as a shopper, `:scene s_S02` arrives
through a kf link with that scene (a shopper console starts with the store's own link) and
`:加好友` adds the store's guide as a WeCom contact (the service then sends its welcome).
"""
from __future__ import annotations

import asyncio
import secrets
import sys
import time
from urllib.parse import urlencode

import aiohttp

from bot.config import Config
from bot.crypto import Crypto

WAIT_SECONDS = 6.0
ENTER_WAIT_SECONDS = 2.0  # the enter_session greeting comes at once, or not at all
POSTS = (":群发", ":posts", "：群发")
CONTACT = (":加好友", ":contact", "：加好友")
DEMO_SHOPPER, DEMO_NICKNAME = "wmDemoShopper01", "王阿姨"
GROUP_HINT = "（你在{store}的客户群 {room} 里说话；qunbot 经会话内容存档读到，不在群里直接回复）"
SHOPPER_HINT = "（:加好友 加导购为好友看欢迎语，:scene s_S02 从某个链接进来，:群发 看待确认的群发）"


class ServiceDown(Exception):
    """The console cannot reach the service (or its fake WeCom): said in one line, not a traceback."""


def app_text_xml(corp_id: str, user: str, text: str, agent_id: int, msg_id: int | None = None) -> bytes:
    text = text.replace("]]>", "]]]]><![CDATA[>")
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id or secrets.randbits(63)}</MsgId>"
            f"<AgentID>{agent_id}</AgentID></xml>").encode()


def kf_event_xml(corp_id: str, token: str, open_kfid: str) -> bytes:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
            f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>").encode()


def _event_xml(corp_id: str, event: str, fields: dict[str, str], members=()) -> bytes:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items() if v != "")
    if members:
        items = "".join(f"<Item><![CDATA[{m}]]></Item>" for m in members)
        extra += f"<MemChangeCnt>{len(members)}</MemChangeCnt><MemChangeList>{items}</MemChangeList>"
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>{extra}</xml>").encode()


def group_event_xml(corp_id: str, seeded: dict) -> bytes | None:
    """The change_external_chat WeCom sends for what /sandbox/group did, or None when nothing changed."""
    if seeded.get("created"):
        return _event_xml(corp_id, "change_external_chat", {"ChatId": seeded["chat_id"], "ChangeType": "create"})
    if not seeded.get("added"):
        return None
    return _event_xml(corp_id, "change_external_chat", {
        "ChatId": seeded["chat_id"], "ChangeType": "update", "UpdateDetail": "add_member", "JoinScene": "3",
        "LastMemVer": seeded.get("last_version", ""), "CurMemVer": seeded.get("version", "")}, seeded["added"])


def contact_event_xml(corp_id: str, guide: str, user: str, welcome_code: str, state: str) -> bytes:
    return _event_xml(corp_id, "change_external_contact", {
        "ChangeType": "add_external_contact", "UserID": guide, "ExternalUserID": user, "State": state,
        "WelcomeCode": welcome_code})


def sealed(crypto: Crypto, plaintext: bytes, corp_id: str) -> tuple[str, bytes]:
    """(query string, body) of a callback POST carrying `plaintext`, signed like WeCom signs it."""
    ts, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    enc = crypto.encrypt(plaintext)
    query = urlencode({"msg_signature": crypto.sign(ts, nonce, enc), "timestamp": ts, "nonce": nonce})
    body = (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{enc}]]></Encrypt><AgentID>1</AgentID></xml>").encode()
    return query, body


def describe(call: dict, fake: str = "") -> str | None:
    """One recorded outbound call as the line a person would see; a file comes with a link to open it."""
    body, path = call.get("body") or {}, call["path"]
    if path in ("message/send", "appchat/send", "webhook/send", "kf/send_msg", "aibot/response"):
        mt = body.get("msgtype", "")
        content = (body.get(mt) or {}).get("content") if isinstance(body.get(mt), dict) else None
        if mt == "file":
            media_id = body["file"].get("media_id")
            content = f"[文件 {call.get('file') or media_id}] {fake}/sandbox/media/{media_id}"
        who = body.get("touser") or body.get("chatid") or "webhook"
        return f"── {path} → {who} ({mt}){' errcode ' + str(call['errcode']) if call.get('errcode') else ''}\n{content}"
    if path == "kf/send_msg_on_event":
        fail = f" errcode {call['errcode']}" if call.get("errcode") else ""
        return f"── kf/send_msg_on_event（进入会话的欢迎语）{fail}\n{(body.get('text') or {}).get('content', '')}"
    if path == "externalcontact/add_msg_template":
        links = [a["link"].get("url", "") for a in body.get("attachments") or [] if a.get("msgtype") == "link"]
        return (f"── 群发待确认 (sender {body.get('sender')}, groups {body.get('chat_id_list')})\n"
                f"{(body.get('text') or {}).get('content', '')}" + "".join(f"\n[链接] {u}" for u in links))
    if path == "externalcontact/send_welcome_msg":
        links = [a["link"].get("url", "") for a in body.get("attachments") or [] if a.get("msgtype") == "link"]
        fail = f" errcode {call['errcode']}" if call.get("errcode") else ""
        return (f"── 欢迎语{fail}\n{(body.get('text') or {}).get('content', '')}"
                + "".join(f"\n[链接] {u}" for u in links))
    if path == "media/upload":
        return None
    return None


def is_mine(call: dict, kind: str, uid: str, welcome_codes: set[str]) -> bool:
    """Whether a console user would see this call on their own phone: replies to them, posts they
    confirm; staff consoles also see the staff group chats and webhooks."""
    body, path = call.get("body") or {}, call["path"]
    if path == "kf/send_msg":
        return body.get("touser") == uid
    if path == "kf/send_msg_on_event":
        return call.get("to") == uid
    if path == "externalcontact/send_welcome_msg":
        return body.get("welcome_code") in welcome_codes
    if path == "message/send":
        return uid in str(body.get("touser") or "").split("|") or body.get("touser") == "@all"
    if path == "externalcontact/add_msg_template":
        return body.get("sender") == uid
    return kind == "staff"


def pick_identity(cfg: Config, who: str | None, user: str | None, store_id: str | None) -> tuple[str, str, str]:
    """(kind, user id, open_kfid) for the console user."""
    store = _store(cfg, store_id)
    if who == "shopper":
        return "shopper", user or DEMO_SHOPPER, store.kf if store else "wkDemo"
    pools = {"guide": list(cfg.roles.guides) + [g for s in cfg.stores for g in s.guides],
             "buyer": list(cfg.roles.buyers), "admin": list(cfg.roles.admins)}
    if user:
        return "staff", user, ""
    pool = pools.get(who or "guide") or ["demo_user"]
    return "staff", pool[0], ""


def _store(cfg: Config, store_id: str | None):
    return next((s for s in cfg.stores if s.id == store_id), None) or (cfg.stores[0] if cfg.stores else None)


def _owner(cfg: Config, store) -> str:
    return (store.guides or cfg.roles.guides or ("demo_owner",))[0]


async def _seed_groups(http: aiohttp.ClientSession, fake: str, cfg: Config, shopper: str,
                       shopper_store: str | None) -> list[bytes]:
    """The fake starts with no customer groups: give it the configured ones, owned by each store's first
    guide, with the console shopper in their store's groups, so 群发 and membership act as in production.
    Returns the change_external_chat events WeCom would send for what changed."""
    events = []
    for s in cfg.stores:
        for chat_id in s.groups:
            members = [shopper] if shopper and s.id == shopper_store else []
            try:
                async with http.post(f"{fake}/sandbox/group", json={"chat_id": chat_id, "owner": _owner(cfg, s),
                                                                     "members": members, "name": f"{s.name}群"}) as r:
                    seeded = await r.json() if r.status == 200 else {}
            except (aiohttp.ClientError, ValueError):
                return []  # not the fake (a real WeCom): nothing to seed
            event = group_event_xml(cfg.wecom.corp_id, seeded) if seeded else None
            if event:
                events.append(event)
    return events


async def _print_posts(http: aiohttp.ClientSession, fake: str, out) -> None:
    async with http.get(f"{fake}/sandbox/calls", params={"since": "0"}) as r:
        calls = [c for c in (await r.json())["calls"]
                 if c["path"] == "externalcontact/add_msg_template" and c.get("errcode") == 0]
    if not calls:
        print("（没有等待确认的群发）", file=out)
    for call in calls:
        print(describe(call, fake), file=out)


async def chat(cfg: Config, *, who: str | None, user: str | None, url: str | None, store: str | None,
               lines=None, out=sys.stdout, everything: bool = False, group: bool = False) -> int:
    if who is None and user is None and lines is None and sys.stdin.isatty():
        answer = input("你是谁？ 1 导购  2 采购  3 顾客（微信客服）  4 管理员 [1]: ").strip() or "1"
        who = {"1": "guide", "2": "buyer", "3": "shopper", "4": "admin"}.get(answer, "guide")
    kind, uid, open_kfid = pick_identity(cfg, who, user, store)
    home = _store(cfg, store)
    base = (url or f"http://{cfg.server.host}:{cfg.server.port}").rstrip("/")
    fake = cfg.wecom.api_base.rstrip("/")
    crypto = Crypto(cfg.wecom.app.token, cfg.wecom.app.encoding_aes_key, cfg.wecom.corp_id)
    nickname = DEMO_NICKNAME if uid == DEMO_SHOPPER else ""

    async def post(plain: bytes) -> bool:
        query, body = sealed(crypto, plain, cfg.wecom.corp_id)
        async with http.post(f"{base}/wecom/app?{query}", data=body) as r:
            if r.status != 200:
                print(f"(service answered HTTP {r.status}: {await r.text()})", file=out)
            return r.status == 200

    async with aiohttp.ClientSession() as http:
        await _reachable(http, base, fake)
        print(f"以 {nickname or uid}（{'顾客' if kind == 'shopper' else cfg.role_of(uid)}）身份对话；输入 exit 退出。",
              file=out)
        print(f"工作台：{base}/console/（浏览器打开，在假企业微信的登录页选任一演示用户）", file=out)
        room = home.groups[0] if group and kind == "shopper" and home and home.groups else ""
        if group and not room:
            raise ServiceDown("--group needs --as shopper and a store with [[stores]] groups")
        if room:
            print(GROUP_HINT.format(room=room, store=home.name or home.id), file=out)
        elif kind == "shopper":
            print(SHOPPER_HINT, file=out)
        shopper_store = home.id if kind == "shopper" and home else None
        for event in await _seed_groups(http, fake, cfg, uid if kind == "shopper" else "", shopper_store):
            await post(event)
        async with http.get(f"{fake}/sandbox/calls", params={"since": "0"}) as r:
            since = (await r.json())["next"]
        welcome_codes: set[str] = set()

        def shown(call: dict) -> bool:
            # In the group, a shopper's line answers go to the guide: show what the service sends anywhere.
            return everything or bool(room) or is_mine(call, kind, uid, welcome_codes)

        source = lines if lines is not None else _stdin_lines()
        if kind == "shopper" and home and not room:
            source = _prepend(f":scene s_{home.id}", source)  # taps the store's kf link in the group
        async for text in source:
            text = text.strip()
            if not text:
                continue
            if text in ("exit", "quit", "退出"):
                break
            if text in POSTS:
                await _print_posts(http, fake, out)
                continue
            if room:  # a line in the customer group: the fake archive records it and sends msgaudit_notify
                async with http.post(f"{fake}/sandbox/archive/say", json={"roomid": room, "from": uid,
                                                                         "text": text}) as r:
                    if r.status != 200:
                        raise ServiceDown("the demo's fake chat archive is off: set [archive] enabled = true and "
                                          'sdk = "fake" in the config')
                since, said = await _print_replies(http, fake, since, out, shown, WAIT_SECONDS)
                if not said:
                    print(f"（{WAIT_SECONDS:.0f} 秒内没有回复；群里的话经会话内容存档读到，不会在群里直接回复）", file=out)
                continue
            if kind == "shopper" and text in CONTACT:  # the shopper adds the store's guide in WeChat
                async with http.post(f"{fake}/sandbox/welcome_code") as r:
                    code = (await r.json())["welcome_code"]
                welcome_codes.add(code)
                plain = contact_event_xml(cfg.wecom.corp_id, _owner(cfg, home) if home else "", uid, code,
                                          f"s_{home.id}" if home else "")
            elif kind == "shopper":
                entry: dict = {"open_kfid": open_kfid, "external_userid": uid, "text": text, "nickname": nickname}
                if text.startswith(":scene"):  # arrive through a kf link carrying this scene
                    entry = {**entry, "text": "", "msgtype": "event", "event": {"scene": text[6:].strip()}}
                async with http.post(f"{fake}/sandbox/kf", json=entry) as r:
                    token = (await r.json())["token"]
                plain = kf_event_xml(cfg.wecom.corp_id, token, open_kfid)
            else:
                plain = app_text_xml(cfg.wecom.corp_id, uid, text, cfg.wecom.app.agent_id)
            if await post(plain):
                # Entering through a link may rightly bring nothing (greeted before): don't sit silent.
                entering = text.startswith(":scene")
                since, said = await _print_replies(http, fake, since, out, shown,
                                                   ENTER_WAIT_SECONDS if entering else WAIT_SECONDS)
                if not said and not entering:
                    print(f"（{WAIT_SECONDS:.0f} 秒内没有回复）", file=out)
    return 0


async def _reachable(http: aiohttp.ClientSession, base: str, fake: str) -> None:
    for url, what in ((f"{base}/healthz", "the service"), (f"{fake}/sandbox/calls", "its fake WeCom")):
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as r:
                if r.status == 404 and what == "its fake WeCom":
                    raise ServiceDown(f"{fake} is not the demo's fake WeCom: `qunbot chat` needs a demo "
                                      "config ([wecom] api_base pointing at the service's /fake)")
        except (aiohttp.ClientError, TimeoutError):
            raise ServiceDown(f"{what} does not answer at {url.rsplit('/', 1)[0]}: start it with `make run` "
                              "(or `qunbot serve`) in another terminal, or pass --url") from None


async def _print_replies(http: aiohttp.ClientSession, fake: str, since: int, out, shown,
                         wait: float) -> tuple[int, bool]:
    """Print what the service sends until it has been quiet a moment (or `wait` runs out)."""
    deadline, quiet_after = time.monotonic() + wait, None
    while time.monotonic() < deadline:
        async with http.get(f"{fake}/sandbox/calls", params={"since": str(since)}) as r:
            data = await r.json()
        for call in data["calls"]:
            line = describe(call, fake) if shown(call) else None
            if line:
                print(line, file=out)
                quiet_after = time.monotonic() + 0.8
        since = data["next"]
        if quiet_after and time.monotonic() > quiet_after:
            break
        await asyncio.sleep(0.15)
    return since, quiet_after is not None


async def _prepend(first: str, rest):
    yield first
    async for line in rest:
        yield line


async def _stdin_lines():
    loop = asyncio.get_running_loop()
    while True:
        try:
            line = await loop.run_in_executor(None, lambda: input("> "))
        except EOFError:
            return
        yield line
