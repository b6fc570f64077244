"""Class 6 of the conversations issue: a greeting, thanks, 好的 or an emoji in a 1:1 chat gets a short
answer (once a while), a question with a greeting in front is still a question, and a group hears
nothing. Transcripts through the real router list, shoppers on 微信客服, guides in the app."""
from __future__ import annotations

import pytest

from handlers.smalltalk import kind_of
from tests.coupons.helpers import shopper_says


@pytest.mark.parametrize("text, kind", [
    ("你好", "greeting"), ("在吗？", "greeting"), ("老板在不在", "greeting"), ("Hi~", "greeting"),
    ("亲，在吗", "greeting"), ("谢谢", "thanks"), ("好的谢谢老板", "thanks"), ("多谢啦！", "thanks"),
    ("好的", "ack"), ("嗯嗯", "ack"), ("OK", "ack"), ("收到～", "ack"), ("👍", "emoji"), ("[微笑][玫瑰]", "emoji"),
    ("你好，草莓多少钱", None), ("谢谢，再要一盒", None), ("好的我要2份", None), ("在吗 有鸡蛋吗", None),
    ("+1", None), ("草莓", None), ("", None),
])
def test_only_a_whole_message_of_small_talk_counts(text, kind):
    assert kind_of(text) == kind


async def test_shopper_greeting_is_answered_with_what_the_bot_does_once_a_while(service):
    [hello] = await shopper_says(service, "wmHi", "你好")
    assert "商品名" in hello and "领券" in hello and "人工" in hello
    assert await shopper_says(service, "wmHi", "在吗") == []  # greeted a moment ago: no script
    [thanks] = await shopper_says(service, "wmHi", "谢谢")
    assert len(thanks) < 30
    assert await shopper_says(service, "wmHi", "谢谢啦") == []
    [ack] = await shopper_says(service, "wmHi", "👍")
    assert ack
    # another shopper is greeted on their own account
    assert len(await shopper_says(service, "wmOther", "您好")) == 1


async def test_greeting_then_question_is_answered_as_a_question(service):
    [answer] = await shopper_says(service, "wmAsk", "你好，草莓多少钱")
    assert "草莓" in answer and "元" in answer


async def test_a_redelivered_greeting_is_answered_exactly_once(service):
    await shopper_says(service, "wmRe", "你好", msg_id="kf-same-1")
    again = await shopper_says(service, "wmRe", "你好", msg_id="kf-same-1")
    assert again == []
    assert len(service.sent_texts("wmRe", path="kf/send_msg")) == 1


async def test_guide_greeting_points_to_help(service):
    [reply] = await service.ask("你好")
    assert "帮助" in reply


async def test_group_chatter_stays_silent(service):
    from bot.message import Message
    msg = Message(id="grp-1", channel="aibot", conversation="wrGroupA", sender="xiaowang", text="你好",
                  chat_id="wrGroupA", chat_type="group", raw={"response_url": "http://127.0.0.1:9/x"})
    await service.store.inbox.put(msg.conversation, msg.id, msg.to_json())
    await service.drain()
    assert service.fake.sent("aibot/response") == [] and service.fake.sent("message/send") == []
