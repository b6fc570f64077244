"""New contacts get the store's welcome inside WeCom's 20 s window; 41050/41051 are ordinary."""
from __future__ import annotations

import time

import pytest

from tests.shoppers.helpers import contact_event_xml, start


@pytest.fixture
async def shop(aiohttp_client, redis, service_config, fake):
    return await start(aiohttp_client, redis, service_config, fake)


async def test_welcome_is_sent_within_the_window(shop, fake):
    h, _ = shop
    code = fake.welcome_code()
    assert (await h.post_app(contact_event_xml("xiaowang", "wmNew", code))).status == 200
    await h.drain()
    [call] = fake.sent("externalcontact/send_welcome_msg")
    assert call.errcode == 0
    assert call.time - fake.welcome_codes[code] < 20
    assert "梅溪湖店" in call.body["text"]["content"]
    link = call.body["attachments"][0]["link"]
    assert link["url"].endswith("enc_scene=ENCs_S01")  # the store's kf, tagged with the store
    ctx = await h.shoppers.context_for("wkOther", "wmNew")
    assert (ctx.store_id, ctx.store_source) == ("S01", "contact")  # known from the contact, not the kf
    assert (await h.store.shoppers.contact("wmNew"))["store"] == "S01"


async def test_code_already_used_is_an_ordinary_outcome(shop, fake, caplog):
    h, _ = shop
    code = fake.welcome_code()
    fake.used_welcome_codes.add(code)  # another app welcomed first
    await h.post_app(contact_event_xml("xiaowang", "wmTaken", code))
    for _ in range(3):
        await h.drain()
    assert [c.errcode for c in fake.sent("externalcontact/send_welcome_msg")] == [41051]
    assert await h.store.inbox.pending_count() == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_stale_event_is_not_welcomed(shop, fake):
    h, _ = shop
    code = fake.welcome_code()
    await h.post_app(contact_event_xml("xiaowang", "wmSlow", code, at=int(time.time()) - 40))
    await h.drain()
    assert fake.sent("externalcontact/send_welcome_msg") == []
    assert (await h.store.shoppers.contact("wmSlow"))["store"] == "S01"  # still remembered


async def test_another_feature_adds_a_line(shop, fake):
    h, _ = shop

    async def coupon(store_id: str, user: str, guide: str):
        return f"送您一张新人券（{store_id}）"

    async def broken(store_id: str, user: str, guide: str):
        raise RuntimeError("coupon service down")

    h.shoppers.add_welcome_extra(broken)
    h.shoppers.add_welcome_extra(coupon)
    await h.post_app(contact_event_xml("xiaowang", "wmCoupon", fake.welcome_code()))
    await h.drain()
    [call] = fake.sent("externalcontact/send_welcome_msg", ok=True)
    assert "送您一张新人券（S01）" in call.body["text"]["content"]


async def test_the_state_of_a_contact_way_names_the_store(aiohttp_client, redis, prefix, fake):
    from tests.conftest import make_config
    stores = [{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "kf": "wkS01"},
              {"id": "S02", "name": "五一广场店", "guides": ["xiaowang"], "kf": "wkS02"}]
    h, _ = await start(aiohttp_client, redis, make_config(prefix, fake.base_url, stores=stores), fake)
    await h.post_app(contact_event_xml("xiaowang", "wmQR", fake.welcome_code(), state="s_S02"))
    await h.drain()
    [call] = fake.sent("externalcontact/send_welcome_msg", ok=True)
    assert "五一广场店" in call.body["text"]["content"]
    assert (await h.store.shoppers.contact("wmQR"))["store"] == "S02"


async def test_a_code_wecom_says_expired_is_not_retried(shop, fake, caplog):
    h, _ = shop
    code = fake.welcome_code()
    fake.welcome_codes[code] -= 60  # WeCom's clock: the code died before we got to it
    await h.post_app(contact_event_xml("xiaowang", "wmLate", code))
    for _ in range(3):
        await h.drain()
    assert [c.errcode for c in fake.sent("externalcontact/send_welcome_msg")] == [41050]
    assert await h.store.inbox.pending_count() == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_the_same_event_delivered_twice_welcomes_once(shop, fake):
    h, _ = shop
    xml = contact_event_xml("xiaowang", "wmDup", fake.welcome_code())
    for _ in range(2):  # WeCom's retry: same plaintext, freshly encrypted
        assert (await h.post_app(xml)).status == 200
    await h.drain()
    assert len(fake.sent("externalcontact/send_welcome_msg")) == 1
