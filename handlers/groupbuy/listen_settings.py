"""The `[listen]` config section: what qunbot does with customer-group lines it hears through the
chat archive (会话内容存档), with defaults for every key.

    [listen]
    kf_receipts = true        # a 接龙 step heard in a group is confirmed 1:1 where a kf session is open
    guide_receipts = true     # ... and reported to the group's guide
    questions = true          # guides hear about questions asked in their groups, with an answer to paste
    questions_off = []        # store ids whose guides do not want that
    kf_answers = false        # a shopper with an open kf session also gets the answer 1:1
    batch_seconds = 60        # questions of one group are sent together, once per this
    quiet_hours = "22:00-08:00"   # no question notices then (held until it ends); "" for none
    text_days = 7             # group text is kept at most this long (question batches)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config, ConfigError, feature_settings

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Settings:
    kf_receipts: bool = True
    guide_receipts: bool = True
    questions: bool = True
    questions_off: tuple[str, ...] = ()
    kf_answers: bool = False
    batch_seconds: int = 60
    quiet_hours: str = "22:00-08:00"
    text_days: int = 7

    def __post_init__(self) -> None:  # checked when the config is (a wrong value stops the start)
        if self.quiet_hours and not _HOURS.match(self.quiet_hours):
            raise ConfigError(f'listen.quiet_hours must read like "22:00-08:00", not {self.quiet_hours!r}')
        if self.batch_seconds < 1 or self.text_days < 1:
            raise ConfigError("listen.batch_seconds and listen.text_days must be at least 1")

    def questions_on(self, store_id: str) -> bool:
        return self.questions and store_id not in self.questions_off

    def quiet_until(self, now: float, tz: str) -> float | None:
        """When the quiet hours around `now` end, or None when `now` is not in them."""
        m = _HOURS.match(self.quiet_hours or "")
        if not m:
            return None
        a, b = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
        t = datetime.fromtimestamp(now, ZoneInfo(tz))
        minute = t.hour * 60 + t.minute
        inside = (a <= minute < b) if a < b else (minute >= a or minute < b)
        if not inside or a == b:
            return None
        end = t.replace(hour=b // 60, minute=b % 60, second=0, microsecond=0)
        if end <= t:
            end += timedelta(days=1)
        return end.timestamp()


def settings(config: Config) -> Settings:
    return feature_settings(config, "listen", Settings)
