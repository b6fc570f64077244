"""A two-store service with the coupon router wired in front of a catch-all, as handlers/__init__ will."""
from __future__ import annotations

import pytest

from bot.message import Message, Reply
from bot.router import Dispatcher, Router
from handlers import confirm
from handlers.coupons.chat import router as coupons_router
from tests.conftest import make_config

tail = Router("tail")


@tail.command("确认")
async def other_confirm(args: str) -> Reply:
    return Reply("_raw.txt.j2", text="其他功能的确认")


@tail.any_text()
async def catch_all(msg: Message) -> Reply:
    return Reply("_raw.txt.j2", text=f"问答:{msg.text}")


def two_store_config(prefix: str, api_base: str, **extra):
    return make_config(prefix, api_base, roles={"guides": ["xiaowang", "xiaoli"], "buyers": ["buyer1"],
                                                "admins": ["boss"]},
                       stores=[{"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrGroupA"],
                                "kf": "wkS01"},
                               {"id": "S02", "name": "五一店", "guides": ["xiaoli"], "groups": ["wrGroupB"],
                                "kf": "wkS02"}], **extra)


@pytest.fixture
def service_config(prefix, fake):
    return two_store_config(prefix, fake.base_url)


@pytest.fixture
async def shop(service):
    """The service with only coupons + a catch-all routed, so tests do not depend on other features."""
    service.worker.dispatcher = Dispatcher([confirm.router, coupons_router, tail])
    return service
