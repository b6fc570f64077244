"""`qunbot catalog import FILE [--store ID]`: validate every row, import all or nothing."""
from __future__ import annotations

import sys
from pathlib import Path

from bot.config import Config
from bot.runtime import open_store
from handlers.qa.catalog import parse_catalog


async def catalog_import(cfg: Config, file: str, store_id: str | None, out=sys.stdout) -> int:
    path = Path(file)
    if not path.exists():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    if store_id and store_id not in {s.id for s in cfg.stores}:
        print(f"unknown store {store_id!r}; configured: {', '.join(s.id for s in cfg.stores) or 'none'}",
              file=sys.stderr)
        return 2
    products, errors = parse_catalog(path.read_bytes(), path.name)
    if errors:
        for line, problem in errors:
            print(f"line {line}: {problem}", file=sys.stderr)
        print(f"{len(errors)} bad row(s); nothing imported", file=sys.stderr)
        return 1
    async with open_store(cfg) as store:
        version = await store.catalog.replace(products, store=store_id)
    scope = f"store {store_id}" if store_id else "all stores"
    print(f"imported {len(products)} products for {scope} (catalog version {version})", file=out)
    return 0
