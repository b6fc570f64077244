"""Sanity limits for numbers staff type: the one place they are set (`[limits]` in config).

    [limits]
    max_price_yuan = 100000     # one unit's price: 团购价, 原价, /改价, a catalog row
    max_quantity = 100000       # a 团's total (限量) and minimum, a coupon campaign's number of coupons
    max_per_person = 1000       # a 团's per-person limit

A number above its limit is a typo (fen typed as yuan, a stray extra zero), so the command is
refused with the limit named instead of publishing 999999999元 to shoppers.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config, ConfigError, feature_settings


@dataclass(frozen=True)
class Limits:
    max_price_yuan: int = 100_000
    max_quantity: int = 100_000
    max_per_person: int = 1_000

    @property
    def max_price_fen(self) -> int:
        return self.max_price_yuan * 100


DEFAULT = Limits()


def limits(config: Config | None) -> Limits:
    if config is None:
        return DEFAULT
    got = feature_settings(config, "limits", Limits)
    if min(got.max_price_yuan, got.max_quantity, got.max_per_person) <= 0:
        raise ConfigError("limits.* must be positive")
    return got
