"""config.toml -> frozen dataclasses. Every setting but the pinned keys has a default.

Secrets can come from the environment instead of the file: QUNBOT_<SECTION>_<KEY>, e.g.
QUNBOT_WECOM_APP_SECRET, QUNBOT_REDIS_URL, QUNBOT_ADMIN_TOKEN.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_type_hints
from zoneinfo import ZoneInfo

from store.keys import RetentionSettings

T = TypeVar("T")


class ConfigError(ValueError):
    """A key is missing or has the wrong type; the message names it."""


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 64 * 1024
    # Hostile clients (bot/server.py): a connection must send a request's headers within
    # header_timeout_seconds of opening or of its previous request, a body must arrive within
    # body_timeout_seconds, and at max_connections the longest-idle connection makes room.
    header_timeout_seconds: float = 15.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 1000
    public_url: str = ""  # how WeCom reaches us; used by `qunbot check`


@dataclass(frozen=True)
class Redis:
    url: str = ""  # empty: start and supervise an embedded redis-server
    data_dir: str = "var/redis"
    prefix: str = "qb"


@dataclass(frozen=True)
class App:
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""


AIBOT_MODES = ("callback", "websocket")


@dataclass(frozen=True)
class Aibot:
    # callback: WeCom POSTs to /wecom/aibot (token, encoding_aes_key; needs a public URL).
    # websocket: qunbot dials WeCom's long connection (bot_id, secret; no public URL), see
    # docs/aibot-websocket.md; one process at a time holds it (a Redis lease).
    mode: str = "callback"
    token: str = ""
    encoding_aes_key: str = ""
    bot_id: str = ""
    secret: str = ""
    ws_url: str = "wss://openws.work.weixin.qq.com"
    heartbeat_seconds: float = 30.0
    lease_ms: int = 15_000  # a holder that stops renewing loses the connection to another process after this
    reconnect_max_seconds: float = 30.0  # backoff cap after a dropped connection
    auth_retry_seconds: float = 300.0  # backoff cap after WeCom refused bot_id/secret
    kicked_pause_seconds: float = 300.0  # wait after another client took the bot over (disconnected_event)

    def __post_init__(self) -> None:
        if self.mode not in AIBOT_MODES:
            raise ConfigError(f"wecom.aibot.mode must be one of {', '.join(AIBOT_MODES)}, got {self.mode!r}")
        if self.mode == "websocket" and not (self.bot_id and self.secret):
            raise ConfigError("wecom.aibot.mode = \"websocket\" needs bot_id and secret")


@dataclass(frozen=True)
class WeCom:
    corp_id: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    max_skew_seconds: int = 300
    contact_secret: str = ""  # 客户联系 secret; empty: use the app secret
    app: App = field(default_factory=App)
    aibot: Aibot = field(default_factory=Aibot)


@dataclass(frozen=True)
class Roles:
    guides: tuple[str, ...] = ()
    buyers: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Admin:
    token: str = ""


@dataclass(frozen=True)
class Bot:
    timezone: str = "Asia/Shanghai"
    name: str = "小助手"


@dataclass(frozen=True)
class Worker:
    partitions: int = 4  # inbox/outbox partitions; one owner each keeps per-conversation order
    max_deliveries: int = 5  # then the entry goes to the dead-letter stream
    retry_after_ms: int = 15_000  # an un-acked entry idle this long is reclaimed
    lease_ms: int = 10_000  # partition ownership lease; a dead worker's partitions move after this
    dedupe_ttl_seconds: int = 3 * 86400
    dead_letter_max: int = 10_000  # per stream, oldest dropped first
    dead_letter_days: int = 30  # dead letters older than this are dropped
    health_max_lag: int = 10_000  # /healthz fails when more inbox entries wait (0: not checked)
    health_stall_seconds: int = 60  # /healthz fails when a consumer has not polled for this long


@dataclass(frozen=True)
class Sender:
    app_per_member_per_minute: int = 30
    webhook_per_minute: int = 20
    timeout_seconds: float = 10.0  # one WeCom call; a timed-out send is retried later, never at once
    # In a row, on a fast failure (-1, 5xx): tries this many times, retry_base_seconds apart and doubling.
    max_attempts: int = 3
    retry_base_seconds: float = 1.0
    # Then the recipient is parked (its later messages wait behind it, others flow) and retried after
    # retry_first_seconds, doubling up to retry_max_seconds (each wait drawn in [half, full]), until
    # retry_horizon_seconds after the first failure; then the entry is dead-lettered (replayable).
    retry_first_seconds: float = 15.0
    retry_max_seconds: float = 300.0
    retry_horizon_seconds: float = 3600.0
    backoff_seconds: float = 60.0  # pause of a recipient or API after 45009/45033, and kf 95001 re-checks
    retry_poll_seconds: float = 1.0  # how often the worker looks for recipients due for a retry
    # kf/send_msg errcodes meaning "this msgid was sent already". WeCom documents only that a repeated
    # msgid is rejected, not the errcode (verify on your tenant); it counts as delivered only after an
    # earlier try of the same message went unanswered (timeout, 5xx) or for a replayed dead letter.
    kf_duplicate_errcodes: tuple[int, ...] = (40058,)


@dataclass(frozen=True)
class Store:
    id: str
    name: str = ""
    guides: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    kf: str = ""
    address: str = ""


@dataclass(frozen=True)
class ArchiveKey:
    """One RSA private key of the chat archive, by the `publickey_ver` WeCom stamps on each item."""

    version: int
    file: str = ""  # PEM file
    env: str = ""  # or the environment variable holding the PEM (QUNBOT_ARCHIVE_KEY_<version> is read too)


@dataclass(frozen=True)
class Archive:
    """[archive]: the chat-archive reader (会话内容存档) that hears the customer groups (bot/archive/)."""

    enabled: bool = False  # `serve --role all` runs the reader when true; `--role archive` needs it
    secret: str = ""  # the 会话内容存档 Secret (QUNBOT_ARCHIVE_SECRET)
    sdk: str = "pywecomarchive"  # or "fake": the sandbox's fake archive at fake_url
    fake_url: str = ""
    keys: tuple[ArchiveKey, ...] = ()
    keep_days: int = 7  # group text kept this long (store/keys.py archive_lines), never longer
    batch: int = 1000  # GetChatData limit (WeCom allows 1..1000)
    safety_pull_seconds: float = 60.0  # a pull even without msgaudit_notify
    sdk_timeout_seconds: int = 10
    proxy: str = ""
    proxy_password: str = ""
    consent_check_seconds: int = 6 * 3600  # msgaudit/check_room_agree per group, cached this long
    poison_tries: int = 2  # an item that kills the SDK process this often is recorded and skipped
    lease_ms: int = 30_000  # one reader per corp; another takes over this long after it died


@dataclass(frozen=True)
class Config:
    server: Server = field(default_factory=Server)
    redis: Redis = field(default_factory=Redis)
    wecom: WeCom = field(default_factory=WeCom)
    roles: Roles = field(default_factory=Roles)
    admin: Admin = field(default_factory=Admin)
    bot: Bot = field(default_factory=Bot)
    worker: Worker = field(default_factory=Worker)
    sender: Sender = field(default_factory=Sender)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    archive: Archive = field(default_factory=Archive)
    stores: tuple[Store, ...] = ()
    demo: bool = False  # mount the fake WeCom API under /cgi-bin on this server
    path: str = ""
    # Sections besides the ones above: [conversation], [limits], [schedule] and the features' (qa,
    # digest, …), checked against the feature list by `check_features` before anything starts.
    extra: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.extra.get(name) or {})

    def role_of(self, userid: str) -> str:
        if userid in self.roles.admins:
            return "admin"
        if userid in self.roles.guides or any(userid in s.guides for s in self.stores):
            return "guide"
        if userid in self.roles.buyers:
            return "buyer"
        return "shopper"


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A settings class's field types. Resolving them evaluates the annotations' strings (compile +
    eval), and handlers read their feature's settings on every message: done once per class."""
    return get_type_hints(cls)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown key {where}.{sorted(unknown)[0]}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _coerce(hints[f.name], data[f.name], f"{where}.{f.name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"[{where}] {exc}") from None


def _coerce(tp: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    origin = getattr(tp, "__origin__", None)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        inner = tp.__args__[0]
        return tuple(_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table")
        inner = tp.__args__[1]
        return {str(k): _coerce(inner, v, f"{where}.{k}") for k, v in value.items()}
    if tp in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{where} must be a number, got a boolean")
    if tp is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)  # environment overrides arrive as strings
    if tp is float and isinstance(value, (int, str)):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{where} must be a number") from None
    if tp is bool and isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
        return value.lower() in ("1", "true", "yes")
    if tp in (int, str, bool) and not isinstance(value, tp):
        raise ConfigError(f"{where} must be {tp.__name__}, got {type(value).__name__}")
    return value


def feature_settings(config: Config, name: str, cls: type[T]) -> T:
    """A feature's `[name]` section as its settings dataclass (defaults for what is missing); an
    unknown key or a wrong type stops the start with a message that names it."""
    return _build(cls, config.section(name), name)


# Sections of bot/ itself that live in `extra` (their dataclasses are in bot/conversation.py,
# bot/limits.py, bot/console (checked when the web role mounts it); [schedule] names jobs).
CORE_EXTRA = ("conversation", "limits", "schedule", "console")


def _unknown(kind: str, name: str, known: set[str]) -> ConfigError:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"
    return ConfigError(f"unknown {kind} {name}{hint}")


def check_features(config: Config, features: Any) -> dict[str, Any]:
    """Check every section against the feature list: a section no feature reads, a job name
    `[schedule]` does not know, and (where a feature declares its settings) an unknown key or a wrong
    type stop the start with the name. Returns each declaring feature's typed settings by name."""
    from bot.conversation import settings as conversation_settings
    from bot.limits import limits
    from bot.scheduler import trigger_for

    core = {f.name for f in dataclasses.fields(Config)} - {"extra", "path"}
    known = core | set(CORE_EXTRA) | {f.name for f in features} | {s for f in features for s in f.sections}
    for name in config.extra:
        if name not in known:
            raise _unknown("section", f"[{name}]", {f"[{k}]" for k in known})
    conversation_settings(config)
    limits(config)
    jobs = {j.name for f in features for j in f.jobs}
    for name, spec in config.section("schedule").items():
        if name not in jobs:
            raise _unknown("job", f"schedule.{name}", {f"schedule.{j}" for j in jobs})
        if not isinstance(spec, str):
            raise ConfigError(f"schedule.{name} must be a cron spec string (\"\" turns the job off)")
        if spec:
            try:
                trigger_for(spec, ZoneInfo(config.bot.timezone))
            except (ValueError, IndexError) as exc:
                raise ConfigError(f"schedule.{name}: not a cron spec or \"@every <seconds>\" ({exc})") from None
    typed: dict[str, Any] = {}
    for f in features:
        if f.settings is not None:
            typed[f.name] = feature_settings(config, f.name, f.settings)
        elif config.section(f.name):
            raise ConfigError(f"unknown key {f.name}.{sorted(config.section(f.name))[0]} ([{f.name}] has no settings)")
    return typed


def _env_overrides(data: dict[str, Any], environ: dict[str, str]) -> None:
    """QUNBOT_WECOM_APP_SECRET=… sets data['wecom']['app']['secret'] (for known nested tables)."""
    paths = [("server", "host"), ("server", "port"), ("server", "public_url"), ("redis", "url"),
             ("redis", "data_dir"), ("wecom", "corp_id"), ("wecom", "api_base"), ("wecom", "contact_secret"),
             ("wecom", "app", "secret"), ("wecom", "app", "token"), ("wecom", "app", "encoding_aes_key"),
             ("wecom", "app", "agent_id"), ("wecom", "aibot", "token"), ("wecom", "aibot", "encoding_aes_key"),
             ("wecom", "aibot", "mode"), ("wecom", "aibot", "bot_id"), ("wecom", "aibot", "secret"),
             ("wecom", "aibot", "ws_url"),
             ("admin", "token"), ("digest", "purchasing_secret"),
             ("archive", "secret"), ("archive", "proxy_password")]
    for path in paths:
        name = "QUNBOT_" + "_".join(path).upper()
        if name in environ:
            node = data
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = environ[name]


def load(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Config:
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get("QUNBOT_CONFIG") or "config.toml"
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    return from_dict(data, environ=environ, path=str(p.resolve()))


def from_dict(data: dict[str, Any], environ: dict[str, str] | None = None, path: str = "") -> Config:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    _env_overrides(data, environ or {})
    core = {f.name for f in dataclasses.fields(Config)} - {"extra", "path"}
    known = {k: v for k, v in data.items() if k in core}
    extra = {k: v for k, v in data.items() if k not in core}
    cfg = _build(Config, known, "config")
    return dataclasses.replace(cfg, extra=extra, path=path)
