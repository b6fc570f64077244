"""Group posts: add_msg_template tasks per owning guide with the store's groups and kf link; with
the tenant set to one post per group per day, a second refused at once with the reason (the
month and week quotas: tests/listen/test_quota.py)."""
from __future__ import annotations

import time

import pytest

from bot.message import Message, Reply
from bot.router import Router
from tests.conftest import make_config
from tests.shoppers.helpers import chat_event_xml, start

STORES = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang", "xiaoli"], "groups": ["wrGroupA", "wrGroupB"],
           "kf": "wkS01"}]


@pytest.fixture
async def shop(aiohttp_client, redis, prefix, fake):
    fake.add_group("wrGroupA", "xiaowang", ["wmA"], name="梅溪湖1群")
    fake.add_group("wrGroupB", "xiaowang", ["wmB"], name="梅溪湖2群")
    fake.add_group("wrGroupC", "xiaoli", ["wmC"], name="梅溪湖3群")  # made by a guide, not in config
    h, rec = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=STORES,
                                                            shoppers={"group_post_quota": "day"}), fake)
    assert (await h.post_app(chat_event_xml("wrGroupC", "create"))).status == 200
    await h.drain()
    return h, rec


async def test_post_becomes_tasks_per_owner_with_the_kf_link(shop, fake):
    h, _ = shop
    out = await h.ask("/群发 今晚草莓特价 29.9 一盒", user="xiaowang")
    tasks = sorted(fake.msg_templates, key=lambda t: t["sender"])
    assert [(t["sender"], t["targets"], t["chat_type"]) for t in tasks] == [
        ("xiaoli", ["wrGroupC"], "group"), ("xiaowang", ["wrGroupA", "wrGroupB"], "group")]
    assert all(t["fail_list"] == [] and t["text"] == "今晚草莓特价 29.9 一盒" for t in tasks)
    link = tasks[0]["attachments"][0]["link"]
    assert link["url"].endswith("enc_scene=ENCs_S01") and "梅溪湖店" in link["title"]
    # The requester (an owner) is told a post awaits confirmation, with the text to paste.
    assert len(out) == 1 and "群发待确认" in out[0] and "今晚草莓特价 29.9 一盒" in out[0]
    assert any("群发待确认" in t for t in h.sent_texts("xiaoli"))


async def test_second_post_the_same_day_is_refused_with_the_reason(shop, fake):
    h, _ = shop
    await h.ask("/群发 今晚草莓特价", user="xiaowang")
    out = await h.ask("/群发 明早鸡蛋到货", user="xiaowang")
    assert len(fake.msg_templates) == 2  # only the first post's two tasks
    assert len(out) == 1 and "今天发不了" in out[0] and "今晚草莓特价" in out[0] and "每天只能" in out[0]
    assert "明早鸡蛋到货" in out[0]  # so the guide can paste it by hand, with the kf link under it
    assert out[0].rstrip().endswith("https://work.weixin.qq.com/kf/wkS01?enc_scene=ENCs_S01")


async def test_next_day_is_allowed_again(shop, fake):
    h, _ = shop
    def origin(n: int) -> Message:
        return Message(id=f"app:{n}", channel="app", conversation="xiaowang", sender="xiaowang")

    first = await h.shoppers.post_to_groups("S01", "今晚草莓特价", origin=origin(1))
    again = await h.shoppers.post_to_groups("S01", "明早鸡蛋", origin=origin(2))
    tomorrow = await h.shoppers.post_to_groups("S01", "明早鸡蛋", now=time.time() + 86400, origin=origin(3))
    assert first.ok and not again.ok and tomorrow.ok
    assert sorted(tomorrow.chat_ids) == ["wrGroupA", "wrGroupB", "wrGroupC"]
    assert set(again.refused) == {"wrGroupA", "wrGroupB", "wrGroupC"}


async def test_a_refused_task_gives_the_day_back(shop, fake):
    h, _ = shop
    fake.script("add_msg_template", 48002, 48002)
    out = await h.ask("/群发 今晚草莓特价", user="xiaowang")
    assert fake.msg_templates == []
    assert any("没建成" in t and "enc_scene=ENCs_S01" in t for t in out)
    out = await h.ask("/群发 今晚草莓特价", user="xiaowang")
    assert len(fake.msg_templates) == 2 and "群发待确认" in out[-1]


async def test_a_group_wecom_rejects_frees_only_that_group(shop, fake):
    h, _ = shop
    await h.post_app(chat_event_xml("wrGroupB", "create"))
    await h.drain()
    fake.groups["wrGroupB"]["owner"] = "someone_else"  # ownership moved; our record is stale
    out = await h.ask("/群发 今晚草莓特价", user="xiaowang")
    assert "1 个群没能加进任务" in out[0]
    day, limit, ttl = h.shoppers.posts.period(time.time())
    quota = h.shoppers.posts.quota
    assert await quota.claim("wrGroupB", day, limit, ttl, "other", {"at": 0, "head": "x"}) is None
    assert await quota.claim("wrGroupA", day, limit, ttl, "other", {"at": 0, "head": "x"}) is not None


async def test_another_feature_posts_with_its_own_scene(aiohttp_client, redis, prefix, fake):
    fake.add_group("wrGroupA", "xiaowang", ["wmA"])
    feature = Router("tests.groupbuy_like")

    @feature.command("开团测试", roles=("guide",))
    async def announce(msg, shoppers):
        res = await shoppers.post_to_groups("S01", Reply("_raw.txt.j2", text="【接龙】草莓 29.9"), origin=msg,
                                            scene="gb12")
        return [*res.replies, Reply("_raw.txt.j2", text=f"已安排：{len(res.chat_ids)} 个群")]

    h, _ = await start(aiohttp_client, redis, make_config(prefix, fake.base_url), fake, feature)
    out = await h.ask("/开团测试", user="xiaowang")
    [task] = fake.msg_templates
    assert task["targets"] == ["wrGroupA"] and task["sender"] == "xiaowang"
    assert task["attachments"][0]["link"]["url"].endswith("enc_scene=ENCgb12")
    assert "已安排：1 个群" in out


async def test_a_redelivered_request_makes_no_second_task(shop, fake):
    h, _ = shop
    await h.say("/群发 今晚草莓特价", user="xiaowang", msg_id=4242)
    await h.drain()
    await h.store.r.delete(*[k async for k in h.store.r.scan_iter(match=f"{h.store.keys.p}:{{inbox:*}}:seen:*")])
    await h.say("/群发 今晚草莓特价", user="xiaowang", msg_id=4242)  # WeCom retries after the dedupe expired
    await h.drain()
    assert len(fake.msg_templates) == 2
