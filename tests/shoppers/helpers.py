"""Shared pieces for the shopper-channel tests: a harness whose dispatcher is the shopper router
followed by a recorder (standing in for the features behind it), and WeCom callback builders."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import handlers.shoppers as shoppers_mod
from bot.message import Message, Reply
from bot.router import Dispatcher, Router
from handlers import help
from tests import factories as f
from tests.harness import Harness


@dataclass
class Recorder:
    """Plays "the rest of the bot": records every message that reaches it and answers kf shoppers."""

    seen: list[Message] = field(default_factory=list)
    contexts: list = field(default_factory=list)
    replies: int = 1  # replies per shopper message
    router: Router = field(default_factory=lambda: Router("tests.shoppers.recorder"))

    def __post_init__(self) -> None:
        @self.router.any_text()
        async def record(msg: Message, shoppers):
            self.seen.append(msg)
            self.contexts.append(await shoppers.context(msg))
            if msg.channel != "kf":
                return None
            return [Reply("_raw.txt.j2", text=f"收到：{msg.text} ({i + 1})") for i in range(self.replies)]

    def texts(self, user: str | None = None) -> list[str]:
        return [m.text for m in self.seen if user is None or m.sender == user]


async def start(aiohttp_client, redis, config, fake, *extra: Router) -> tuple[Harness, Recorder]:
    h = await Harness.start(aiohttp_client, redis, config, fake)
    rec = Recorder()
    await shoppers_mod.setup(h.deps)
    h.worker.dispatcher = Dispatcher([shoppers_mod.router, *extra, help.router, rec.router])
    h.shoppers = h.deps["shoppers"]
    return h, rec


def kf_callback_xml(open_kfid: str, token: str) -> str:
    return f.event_xml("kf_msg_or_event", {"Token": token, "OpenKfId": open_kfid})


async def kf_callback(h: Harness, open_kfid: str = "wkS01"):
    resp = await h.post_app(kf_callback_xml(open_kfid, h.fake.kf_token()))
    assert resp.status == 200
    return resp


async def says(h: Harness, user: str, text: str, kf: str = "wkS01") -> list[str]:
    """A shopper writes through 微信客服: queued at WeCom, announced by a signed callback, pulled;
    returns what the bot sent back to them."""
    before = len(h.sent_texts(user, path="kf/send_msg"))
    h.fake.kf_push(kf, user, text)
    await kf_callback(h, kf)
    await h.drain()
    return h.sent_texts(user, path="kf/send_msg")[before:]


def member_version(ids) -> str:
    """The fake's member_version: md5 of the sorted member ids (it changes with every change)."""
    return hashlib.md5(",".join(sorted(ids)).encode()).hexdigest()


def chat_event_xml(chat_id: str, change: str, detail: str = "", members=(), last: str = "", cur: str = "",
                   at: int | None = None) -> str:
    items = "".join(f"<Item><![CDATA[{m}]]></Item>" for m in members)
    body = (f"<ChatId><![CDATA[{chat_id}]]></ChatId><ChangeType><![CDATA[{change}]]></ChangeType>"
            + (f"<UpdateDetail><![CDATA[{detail}]]></UpdateDetail>" if detail else "")
            + (f"<MemChangeCnt>{len(members)}</MemChangeCnt><MemChangeList>{items}</MemChangeList>" if members else "")
            + (f"<LastMemVer><![CDATA[{last}]]></LastMemVer><CurMemVer><![CDATA[{cur}]]></CurMemVer>" if cur else ""))
    return (f"<xml><ToUserName><![CDATA[{f.CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{at or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[change_external_chat]]></Event>{body}</xml>")


def contact_event_xml(guide: str, user: str, welcome_code: str = "", state: str = "",
                      at: int | None = None) -> str:
    fields = {"ChangeType": "add_external_contact", "UserID": guide, "ExternalUserID": user}
    if state:
        fields["State"] = state
    if welcome_code:
        fields["WelcomeCode"] = welcome_code
    return f.event_xml("change_external_contact", fields, create_time=at)
