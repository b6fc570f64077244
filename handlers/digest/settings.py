"""The `[digest]` config section, checked once and turned into typed settings.

    [digest]
    cutoff = "21:00"            # business day ends here (local time); the day's snapshot is frozen then
    send = "30 21 * * *"        # default delivery time (cron, local time) for every recipient
    xlsx = true                 # attach the full table as an XLSX file
    top = 15                    # items per section in chat messages (the XLSX has all of them)
    late_after = 600            # a delivery later than this after its scheduled time is marked 补发
    catch_up_days = 3           # after downtime, deliver missed digests of up to this many days
    tuan_lookback_days = 14     # 团 opened longer than this before closing are not found for old days
    purchasing_url = ""         # POST the order lines here (empty: off)
    purchasing_secret = ""      # HMAC-SHA256 key for the X-Qunbot-Signature header
    purchasing_scope = "all"    # "all": one request per day; "store": one per store and day
    [digest.case_sizes]         # SKU -> units per supplier case (suggested orders round up to it)
    F001 = 20
    [[digest.recipients]]       # default: each [roles] buyer gets every store
    name = "华中采购"
    users = ["buyer1", "buyer2"]   # or: webhook = "<group robot key>"
    stores = "all"                 # or ["S01", "S02"]
    send = "0 8 * * *"             # optional, else [digest] send
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.config import Config, ConfigError, feature_settings
from handlers.digest.day import parse_cutoff


class DigestConfigError(ConfigError):
    """A `[digest]` value is wrong; the message names it."""


@dataclass(frozen=True)
class Section:
    """`[digest]` as written: the keys and their types (an unknown key stops the start). `settings`
    turns it into `Settings` (times parsed, crons checked, recipients resolved)."""
    cutoff: str = "21:00"
    send: str = "30 21 * * *"
    xlsx: bool = True
    top: int = 15
    late_after: int = 600
    catch_up_days: int = 3
    tuan_lookback_days: int = 14
    purchasing_url: str = ""
    purchasing_secret: str = ""
    purchasing_scope: str = "all"
    case_sizes: dict[str, int] = field(default_factory=dict)
    recipients: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for i, r in enumerate(self.recipients):
            unknown = sorted(set(r) - set(RECIPIENT_KEYS)) if isinstance(r, dict) else []
            if unknown:
                raise DigestConfigError(f"unknown key digest.recipients[{i}].{unknown[0]}")


RECIPIENT_KEYS = ("name", "users", "webhook", "stores", "send", "xlsx")


@dataclass(frozen=True)
class Recipient:
    name: str
    users: tuple[str, ...] = ()
    webhook: str = ""
    stores: tuple[str, ...] | None = None  # None: every store
    send: str = ""
    xlsx: bool = True

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook else "app"


@dataclass(frozen=True)
class Settings:
    tz: ZoneInfo
    cutoff: time
    send: str = "30 21 * * *"
    xlsx: bool = True
    top: int = 15
    late_after: int = 600
    catch_up_days: int = 3
    tuan_lookback_days: int = 14
    purchasing_url: str = ""
    purchasing_secret: str = ""
    purchasing_scope: str = "all"
    case_sizes: dict[str, int] = field(default_factory=dict)
    recipients: tuple[Recipient, ...] = ()

    @property
    def cutoff_text(self) -> str:
        return self.cutoff.strftime("%H:%M")


def _cron(spec: str, where: str, tz: ZoneInfo) -> str:
    try:
        CronTrigger.from_crontab(spec, timezone=tz)
    except ValueError as exc:
        raise DigestConfigError(f"digest.{where}: not a cron spec ({exc})") from None
    return spec


def _stores(value, where: str, known: set[str]) -> tuple[str, ...] | None:
    if value in (None, "all", "*"):
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise DigestConfigError(f"{where}.stores must be \"all\" or a list of store ids")
    unknown = [s for s in value if known and s not in known]
    if unknown:
        raise DigestConfigError(f"{where}.stores: unknown store {unknown[0]!r}")
    return tuple(value)


def settings(config: Config) -> Settings:
    try:
        feature_settings(config, "digest", Section)  # unknown keys and wrong types, named
    except DigestConfigError:
        raise
    except ConfigError as exc:
        raise DigestConfigError(str(exc)) from None
    raw = config.section("digest")
    tz = ZoneInfo(config.bot.timezone)
    try:
        cutoff = parse_cutoff(raw.get("cutoff", "21:00"))
    except ValueError:
        raise DigestConfigError(f"digest.cutoff must be HH:MM, got {raw.get('cutoff')!r}") from None
    send = _cron(str(raw.get("send", "30 21 * * *")), "send", tz)
    known = {s.id for s in config.stores}
    recipients = []
    for i, r in enumerate(raw.get("recipients") or []):
        where = f"digest.recipients[{i}]"
        if not isinstance(r, dict):
            raise DigestConfigError(f"{where} must be a table")
        users = r.get("users") or ()
        users = (users,) if isinstance(users, str) else tuple(users)
        webhook = str(r.get("webhook") or "")
        if bool(users) == bool(webhook):
            raise DigestConfigError(f"{where} needs exactly one of users = [...] or webhook = \"key\"")
        name = str(r.get("name") or (webhook[:8] if webhook else "|".join(users)))
        recipients.append(Recipient(name=name, users=users, webhook=webhook,
                                    stores=_stores(r.get("stores"), where, known),
                                    send=_cron(str(r["send"]), f"recipients[{i}].send", tz) if r.get("send") else "",
                                    xlsx=bool(r.get("xlsx", raw.get("xlsx", True)))))
    if not raw.get("recipients"):
        recipients = [Recipient(name=b, users=(b,), xlsx=bool(raw.get("xlsx", True))) for b in config.roles.buyers]
    names = [r.name for r in recipients]
    if len(set(names)) != len(names):
        raise DigestConfigError("digest.recipients: names must be unique (they key the once-per-day record)")
    scope = str(raw.get("purchasing_scope", "all"))
    if scope not in ("all", "store"):
        raise DigestConfigError("digest.purchasing_scope must be \"all\" or \"store\"")
    cases = {str(k): int(v) for k, v in (raw.get("case_sizes") or {}).items() if int(v) > 0}
    return Settings(tz=tz, cutoff=cutoff, send=send, xlsx=bool(raw.get("xlsx", True)), top=int(raw.get("top", 15)),
                    late_after=int(raw.get("late_after", 600)), catch_up_days=int(raw.get("catch_up_days", 3)),
                    tuan_lookback_days=int(raw.get("tuan_lookback_days", 14)),
                    purchasing_url=str(raw.get("purchasing_url", "")),
                    purchasing_secret=str(raw.get("purchasing_secret", "")), purchasing_scope=scope,
                    case_sizes=cases, recipients=tuple(recipients))
