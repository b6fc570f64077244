"""Shopper channels: 微信客服 in and out (with a greeting on entering), customer-group
membership, welcomes for new contacts, group posts guides confirm, and handing a shopper to a human.

Other features use `deps["shoppers"]` (a `Shoppers`): `await shoppers.context(msg)` for the
shopper's store, scene, name, join times and handoff state; `await shoppers.post_to_groups(...)`
for a 群发; `add_scene_resolver` / `add_welcome_extra` to plug their own scenes and welcome lines.

`feature` goes FIRST in handlers.FEATURES: its gate keeps the bot quiet in handed-off conversations.
"""
from __future__ import annotations

from typing import Any

from bot.feature import Feature
from bot.router import Router
from bot.scheduler import Job
from handlers.shoppers import gate, greeting, groups, handoff, kf_pull, posts, welcome
from handlers.shoppers.context import ShopperContext, Shoppers, kf_parts
from handlers.shoppers.kf_pull import KfPuller
from handlers.shoppers.kf_send import kf_channel
from handlers.shoppers.posts import GroupPosts, PostResult, post_to_groups
from handlers.shoppers.settings import Settings, settings

__all__ = ["feature", "router", "JOBS", "setup", "teardown", "Shoppers", "ShopperContext", "PostResult", "kf_parts",
           "post_to_groups"]

router = Router(__name__, title="顾客服务")
# The gate first: it must see every kf message before any other handler may answer it.
for _module in (gate, handoff, posts, kf_pull, groups, welcome, greeting):
    router.routes.extend(_module.router.routes)
    router.middlewares.extend(_module.router.middlewares)

# Cron, not "@every": every replica computes the same fire times, so each runs once (job:name:time).
JOBS = [Job("kf_safety_pull", "* * * * *"), Job("group_resync", "*/10 * * * *")]


async def setup(deps: dict[str, Any]) -> Shoppers:
    config, store, api = deps["config"], deps["store"], deps.get("api")
    shoppers = Shoppers(config, store, api, settings(config))
    shoppers.puller = KfPuller(config, store, api, shoppers)
    shoppers.posts = GroupPosts(shoppers)
    await shoppers.puller.mark_start()
    sender = deps.get("sender")
    if sender is not None:
        sender.register("group_post", shoppers.posts.deliver)
        sender.register("kf", kf_channel(config, store, api))
    deps["shoppers"] = shoppers
    return shoppers


async def teardown(deps: dict[str, Any]) -> None:
    deps.pop("shoppers", None)


feature = Feature("shoppers", routers=[router], jobs=JOBS, settings=Settings, setup=setup, teardown=teardown)
