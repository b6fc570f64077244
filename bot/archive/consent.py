"""Consent per store group (msgaudit/check_room_agree), cached in Redis and reported as coverage.

WeCom itself never archives a member who did not agree; qunbot only reports how much of each group
it can hear (a metric, and `qunbot check`).
"""
from __future__ import annotations

import logging
import time

from bot import metrics
from bot.config import Config
from bot.wecom_api import WeComClient, WeComError
from store.archive import ArchiveState, Consent

log = logging.getLogger(__name__)
STATUSES = {"Agree": "agree", "Disagree": "disagree", "Default_Agree": "default"}


def count(answer: dict, now: float) -> Consent:
    counts = {"agree": 0, "disagree": 0, "default": 0}
    for row in answer.get("agreeinfo") or []:
        status = STATUSES.get(str((row or {}).get("agree_status", ""))) if isinstance(row, dict) else None
        if status:
            counts[status] += 1
    return Consent(counts["agree"], counts["disagree"], counts["default"], now)


class ConsentCache:
    def __init__(self, cfg: Config, state: ArchiveState, api: WeComClient) -> None:
        self.a, self.state, self.api = cfg.archive, state, api
        self.stores = {chat_id: s.id for s in cfg.stores for chat_id in s.groups}

    async def get(self, chat_id: str, *, refresh: bool = False) -> Consent:
        """The group's consent counts: cached for [archive] consent_check_seconds, else asked."""
        cached = await self.state.consent(chat_id)
        now = time.time()
        if cached is not None and not refresh and now - cached.checked_at < self.a.consent_check_seconds:
            return cached
        answer = await self.api.call("msgaudit/check_room_agree", secret=self.a.secret, json_body={"roomid": chat_id})
        c = count(answer, now)
        await self.state.save_consent(chat_id, c, 2 * self.a.consent_check_seconds)
        metrics.ARCHIVE_CONSENT.labels(self.stores.get(chat_id, ""), chat_id).set(c.coverage)
        return c

    async def refresh_all(self) -> dict[str, Consent]:
        out = {}
        for chat_id in self.stores:
            try:
                out[chat_id] = await self.get(chat_id)
            except WeComError as exc:
                log.warning("archive consent of group %s not checked: errcode %s", chat_id, exc.errcode)
        return out
