"""`qunbot ask` (answers from files, no Redis) and `qunbot catalog import FILE [--store ID]`."""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from bot.config import Config
from bot.feature import CliCommand
from handlers.qa.ask import files_from_config, run_ask
from handlers.qa.catalog_io import catalog_import


def _ask_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", help="catalog file (default: [qa] catalog of the config)")
    p.add_argument("--faq", help="FAQ file (default: [qa] faq of the config)")


def _ask(args: argparse.Namespace, config: Callable[[], Config]) -> int:
    catalog, faq = args.catalog, args.faq
    if catalog is None:  # only then is a config needed
        catalog, configured_faq = files_from_config(config())
        faq = faq if faq is not None else configured_faq
        if catalog is None:
            print("qunbot ask: no catalog: pass --catalog FILE or set [qa] catalog in the config", file=sys.stderr)
            return 2
    return run_ask(catalog, faq, sys.stdin, sys.stdout)


def _catalog_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("import",), help="import a CSV or XLSX catalog (all rows or nothing)")
    p.add_argument("file")
    p.add_argument("--store", help="store id for store-specific prices and stock")


def _catalog(args: argparse.Namespace, config: Callable[[], Config]) -> int:
    return asyncio.run(catalog_import(config(), args.file, args.store))


COMMANDS = [
    CliCommand("ask", "answer questions from stdin as JSON lines (no Redis needed)", _ask_arguments, _ask),
    CliCommand("catalog", "catalog maintenance: `catalog import FILE [--store ID]`", _catalog_arguments, _catalog),
]
