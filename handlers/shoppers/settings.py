"""The `[shoppers]` config section, with defaults for every key."""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config, ConfigError, feature_settings


@dataclass(frozen=True)
class Settings:
    handoff_timeout_minutes: int = 120  # the bot speaks again after this without /结束
    handoff_lines: int = 8  # recent shopper lines shown to the guide on handoff
    history_grace_seconds: int = 120  # on first start, still answer messages this much older than start
    pull_lock_seconds: int = 10  # kf pull lock TTL, renewed while its puller lives: bounds a dead one's hold
    name_cache_days: int = 7
    ask_store: bool = True  # ask once which store when nothing else tells
    welcome: bool = True  # send a welcome to new contacts (needs the WelcomeCode)
    kf_greeting: bool = True  # greet a shopper entering 微信客服 (needs the enter_session welcome_code)
    welcome_link: bool = True  # attach the store's kf link to the welcome
    post_link: bool = True  # attach the store's kf link to group posts
    group_sync_minutes: int = 360  # the group_resync job re-reads a group older than this
    group_sync_batch: int = 200  # groups the group_resync job re-reads per run at most
    # 群发 per customer group as the tenant's admin set it in WeCom: "month" (as many per calendar
    # month as it has days, WeCom's default), "week" (7 per week) or "day" (1 per day).
    group_post_quota: str = "month"


def settings(config: Config) -> Settings:
    st = feature_settings(config, "shoppers", Settings)
    if st.group_post_quota not in ("month", "week", "day"):
        raise ConfigError(f'shoppers.group_post_quota must be "month", "week" or "day", not {st.group_post_quota!r}')
    return st
