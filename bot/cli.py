"""`qunbot` command line: serve, chat (sandbox console), check (setup diagnostics), ask, catalog, digest."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.config import Config, ConfigError, load


def _config(args: argparse.Namespace) -> Config:
    try:
        return load(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app
    cfg = _config(args)
    app = create_app(cfg, role=args.role)
    log = logging.getLogger("qunbot")
    log.info("qunbot serving on http://%s:%s (role=%s, config=%s)", cfg.server.host, cfg.server.port, args.role,
             cfg.path)
    web.run_app(app, host=cfg.server.host, port=cfg.server.port, print=None, access_log=None)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.sandbox import ServiceDown, chat
    try:
        return asyncio.run(chat(_config(args), who=args.who, user=args.user, url=args.url, store=args.store,
                                everything=args.all))
    except ServiceDown as exc:
        print(f"qunbot chat: {exc}", file=sys.stderr)
        return 1


def cmd_check(args: argparse.Namespace) -> int:
    from bot.check import run_check, run_simulated
    if args.simulate:
        return asyncio.run(run_simulated(_config(args), args.simulate))
    return asyncio.run(run_check(_config(args)))


def cmd_ask(args: argparse.Namespace) -> int:
    from handlers.qa.ask import files_from_config, run_ask
    catalog, faq = args.catalog, args.faq
    if catalog is None:
        catalog, configured_faq = files_from_config(_config(args))
        faq = faq if faq is not None else configured_faq
        if catalog is None:
            print("qunbot ask: no catalog: pass --catalog FILE or set [qa] catalog in the config", file=sys.stderr)
            return 2
    return run_ask(catalog, faq, sys.stdin, sys.stdout)


def cmd_catalog(args: argparse.Namespace) -> int:
    from bot.catalog_io import catalog_import
    return asyncio.run(catalog_import(_config(args), args.file, args.store))


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.offline import digest
    return asyncio.run(digest(_config(args), date=args.date, dry_run=args.dry_run, fmt=args.format,
                              out=args.output))


def build_parser() -> argparse.ArgumentParser:
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
    s.add_argument("--role", choices=("all", "web", "worker"), default="all")
    s.set_defaults(fn=cmd_serve)

    s = command("chat", help="sandbox console: talk to a running service as a guide, buyer or shopper")
    s.add_argument("--as", dest="who", choices=("guide", "buyer", "shopper", "admin"))
    s.add_argument("--user", help="WeCom userid (or external_userid for a shopper)")
    s.add_argument("--store", help="store id (shoppers arrive through that store's kf)")
    s.add_argument("--url", help="service base URL (default: from [server])")
    s.add_argument("--all", action="store_true", help="show every message the service sends, not only yours")
    s.set_defaults(fn=cmd_chat)

    s = command("check", help="diagnose the WeCom setup (secret, trusted IP, permissions, callback URL)")
    s.add_argument("--simulate", type=int, choices=(40001, 40013, 48002, 60011, 60020), metavar="ERRCODE",
                   help="try the check against a fake WeCom that answers this errcode (40001 wrong secret, "
                        "60020 untrusted IP, 48002 API not permitted, 60011 no privilege, 40013 bad corp id)")
    s.set_defaults(fn=cmd_check)

    s = command("ask", help="answer questions from stdin as JSON lines (no Redis needed)")
    s.add_argument("--catalog", help="catalog file (default: [qa] catalog of the config)")
    s.add_argument("--faq", help="FAQ file (default: [qa] faq of the config)")
    s.set_defaults(fn=cmd_ask)

    s = command("catalog", help="catalog maintenance")
    csub = s.add_subparsers(dest="catalog_cmd", required=True)
    c = csub.add_parser("import", parents=[common], help="import a CSV or XLSX catalog (all rows or nothing)")
    c.add_argument("file")
    c.add_argument("--store", help="store id for store-specific prices and stock")
    c.set_defaults(fn=cmd_catalog)

    s = command("digest", help="print or write the buyers' demand digest")
    s.add_argument("--date", help="business day YYYY-MM-DD (default: today)")
    s.add_argument("--dry-run", action="store_true", help="build it without sending or freezing anything")
    s.add_argument("--format", choices=("md", "json", "xlsx"), default="md")
    s.add_argument("-o", "--output", help="file to write (xlsx defaults to digest-<date>.xlsx)")
    s.set_defaults(fn=cmd_digest)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("jieba", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not getattr(args, "fn", None):
        args = build_parser().parse_args(["serve", *(argv or sys.argv[1:])])
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
