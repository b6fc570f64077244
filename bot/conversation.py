"""The `[conversation]` config section: how long the bot waits for an answer to its own question.

    [conversation]
    pending_minutes = 5   # "which 团?", a numbered list, "which store?": answerable this long
    confirm_minutes = 5   # a bare 确认 confirms the draft shown in the previous exchange this long

Both are short on purpose: a question left open for half an hour catches the next
unrelated line, and a 确认 typed ten minutes after an abandoned draft was meant for something else.
A named 确认 (`确认 开团`, `确认 团6`, `确认 C12`) works as long as the draft itself lives.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config, ConfigError, feature_settings


@dataclass(frozen=True)
class Settings:
    pending_minutes: float = 5
    confirm_minutes: float = 5

    @property
    def pending_seconds(self) -> int:
        return max(1, int(self.pending_minutes * 60))

    @property
    def confirm_seconds(self) -> int:
        return max(1, int(self.confirm_minutes * 60))


def settings(config: Config) -> Settings:
    st = feature_settings(config, "conversation", Settings)
    if st.pending_minutes <= 0 or st.confirm_minutes <= 0:
        raise ConfigError("conversation.pending_minutes and confirm_minutes must be positive")
    return st
