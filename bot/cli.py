"""`qunbot` command line: serve, chat (sandbox console), check (setup diagnostics), dead-letters, and
the features' own commands (ask, catalog, digest: `Feature.cli`, read from handlers.FEATURES)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable

import handlers
from bot import feature as contract
from bot.config import Config, ConfigError, check_features, load


def _config(args: argparse.Namespace, features: list[contract.Feature] | None = None) -> Config:
    """The config file, checked against the feature list like the service checks it at start."""
    try:
        cfg = load(args.config)
        check_features(cfg, handlers.FEATURES if features is None else features)
        return cfg
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app import create_app
    from bot.redis_server import RedisInUse
    from bot.server import PortInUse, serve
    cfg = _config(args)
    app = create_app(cfg, role=args.role)
    log = logging.getLogger("qunbot")
    host = args.host or cfg.server.host
    # A worker serves only /healthz, /readyz and /metrics, so it binds a port only when given one:
    # several workers on one host then share one config file.
    port = args.port if args.port is not None else (None if args.role in ("worker", "archive") else cfg.server.port)
    if args.role == "archive" and not cfg.archive.enabled:
        print("qunbot serve --role archive: [archive] enabled is not true in the config", file=sys.stderr)
        return 2
    try:
        if port is None:
            log.info("qunbot worker running without an HTTP port (--port N serves /healthz and /metrics; "
                     "config=%s)", cfg.path)
            asyncio.run(_run_headless(app))
        else:
            log.info("qunbot serving on http://%s:%s (role=%s, config=%s)", host, port, args.role, cfg.path)
            asyncio.run(serve(app, cfg, host=host, port=port))
    except (PortInUse, RedisInUse) as exc:
        print(f"qunbot serve: {exc.args[-1]}", file=sys.stderr)
        return 1
    return 0


async def _run_headless(app) -> None:
    """The app's start-up and clean-up without a listening socket; SIGTERM/SIGINT drain it."""
    from aiohttp import web
    runner = web.AppRunner(app, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.sandbox import ServiceDown, chat
    try:
        return asyncio.run(chat(_config(args), who=args.who, user=args.user, url=args.url, store=args.store,
                                everything=args.all, group=args.group))
    except ServiceDown as exc:
        print(f"qunbot chat: {exc}", file=sys.stderr)
        return 1


def cmd_check(args: argparse.Namespace) -> int:
    from bot.check import run_check, run_simulated
    if args.simulate:
        return asyncio.run(run_simulated(_config(args), args.simulate))
    return asyncio.run(run_check(_config(args)))


def _feature_command(command: contract.CliCommand, features: list[contract.Feature]
                     ) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        result = command.run(args, lambda: _config(args, features))
        return asyncio.run(result) if asyncio.iscoroutine(result) else result
    return run


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from bot import dead_letters
    cfg = _config(args)
    if args.dl_cmd == "list":
        return asyncio.run(dead_letters.cli_list(cfg, args.stream, args.limit, args.json, sys.stdout))
    return asyncio.run(dead_letters.cli_replay(cfg, args.stream, args.ids, args.all, sys.stdout, sys.stderr))


def build_parser(features: list[contract.Feature] | None = None) -> argparse.ArgumentParser:
    """The parser with the features' commands (default handlers.FEATURES; a test passes its own)."""
    features = handlers.FEATURES if features is None else features
    p = argparse.ArgumentParser(prog="qunbot", description="WeCom bot for store community groups")
    p.add_argument("-c", "--config", default=os.environ.get("QUNBOT_CONFIG", "config.toml"),
                   help="config file (default: $QUNBOT_CONFIG or ./config.toml)")
    p.add_argument("-v", "--verbose", action="store_true")
    # The same options after the command (`qunbot serve -c x.toml`); unset there, the global ones hold.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=argparse.SUPPRESS, help="config file")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="cmd")

    def command(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    s = command("serve", help="run the service")
    s.add_argument("--role", choices=("all", "web", "worker", "archive"), default="all",
                   help="archive: the chat-archive reader alone ([archive]); all runs it when enabled")
    s.add_argument("--host", help="listen address (default: [server] host)")
    s.add_argument("--port", type=int, help="listen port (default: [server] port; a worker binds none unless given)")
    s.set_defaults(fn=cmd_serve)

    s = command("chat", help="sandbox console: talk to a running service as a guide, buyer or shopper")
    s.add_argument("--as", dest="who", choices=("guide", "buyer", "shopper", "admin"))
    s.add_argument("--user", help="WeCom userid (or external_userid for a shopper)")
    s.add_argument("--store", help="store id (shoppers arrive through that store's kf)")
    s.add_argument("--url", help="service base URL (default: from [server])")
    s.add_argument("--all", action="store_true", help="show every message the service sends, not only yours")
    s.add_argument("--group", action="store_true",
                   help="as a shopper, speak in the store's customer group (heard through the fake chat archive)")
    s.set_defaults(fn=cmd_chat)

    s = command("check", help="diagnose the WeCom setup (secret, trusted IP, permissions, callback URL)")
    s.add_argument("--simulate", type=int, choices=(40001, 40013, 48002, 60011, 60020), metavar="ERRCODE",
                   help="try the check against a fake WeCom that answers this errcode (40001 wrong secret, "
                        "60020 untrusted IP, 48002 API not permitted, 60011 no privilege, 40013 bad corp id)")
    s.set_defaults(fn=cmd_check)

    for feature_command in contract.cli_commands(features):
        s = command(feature_command.name, help=feature_command.help)
        feature_command.arguments(s)
        s.set_defaults(fn=_feature_command(feature_command, features))

    s = command("dead-letters", help="messages that gave up: list them, re-queue them")
    dsub = s.add_subparsers(dest="dl_cmd", required=True)
    d = dsub.add_parser("list", parents=[common], help="what gave up, why, for whom, how long ago")
    d.add_argument("--stream", choices=("outbox", "inbox", "all"), default="all")
    d.add_argument("--limit", type=int, default=1000, help="at most this many per stream (oldest first)")
    d.add_argument("--json", action="store_true", help="one JSON object per line")
    d.set_defaults(fn=cmd_dead_letters)
    d = dsub.add_parser("replay", parents=[common], help="re-queue dead letters (each exactly once)")
    d.add_argument("ids", nargs="*", help="dead-letter ids as `list` shows them")
    d.add_argument("--all", action="store_true", help="every dead letter of --stream")
    d.add_argument("--stream", choices=("outbox", "inbox", "all"), default="all")
    d.set_defaults(fn=cmd_dead_letters)
    return p


def main(argv: list[str] | None = None, features: list[contract.Feature] | None = None) -> int:
    args = build_parser(features).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("jieba", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not getattr(args, "fn", None):
        args = build_parser(features).parse_args(["serve", *(argv or sys.argv[1:])])
    try:
        return args.fn(args)
    except BrokenPipeError:
        # `qunbot digest | head`: the reader left. Point stdout at /dev/null so the interpreter's own
        # flush at exit does not raise again, and exit like other tools killed by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("qunbot: output closed early (broken pipe)", file=sys.stderr)
        return 141
    except KeyboardInterrupt:
        return 130
