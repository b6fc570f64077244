"""The `[qa]` config section, with defaults for every key.

    [qa]
    catalog = "data/catalog.csv"   # seeded into an EMPTY catalog at start (default: this file
    faq = "data/faq.csv"           # and data/faq.csv when demo = true, else nothing)
    refresh_seconds = 1.0          # how often a process checks the catalog version in Redis
    hint_every_minutes = 240       # a 1:1 shopper gets the "ask me like this" hint at most this often
    max_import_bytes = 8388608     # POST /api/catalog body limit (the /wecom callbacks keep [server] max_body_bytes)
    regional = ["words/regional.tsv"]   # the operator's own word files, added to data/lexicon/*.tsv
    synonyms = ["words/synonyms.tsv"]   # (same columns as the shipped files; see docs/qa.md)
    kinds = ["words/kinds.tsv"]
    packs = ["words/packs.tsv"]

Relative file paths are looked up next to the config file, then in the working directory, then in
the source tree (where the demo's data/ lives, also in the Docker image).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config, ConfigError, feature_settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_CATALOG, DEMO_FAQ = "data/catalog.csv", "data/faq.csv"


@dataclass(frozen=True)
class Settings:
    catalog: str = ""
    faq: str = ""
    refresh_seconds: float = 1.0
    hint_every_minutes: int = 240
    max_import_bytes: int = 8 * 1024 * 1024
    regional: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    packs: tuple[str, ...] = ()


def settings(config: Config) -> Settings:
    st = feature_settings(config, "qa", Settings)
    for f in dataclasses.fields(Settings):
        if f.type in ("int", "float") and getattr(st, f.name) < 0:
            raise ConfigError(f"qa.{f.name} must not be negative")
    if config.demo:
        st = dataclasses.replace(st, catalog=st.catalog or DEMO_CATALOG, faq=st.faq or DEMO_FAQ)
    return st


def resolve(config: Config, path: str) -> Path | None:
    """The file a configured path names, or None when it is empty or nowhere to be found."""
    if not path:
        return None
    p = Path(path).expanduser()
    if p.is_absolute():
        return p if p.exists() else None
    bases = [Path(config.path).parent] if config.path else []
    for base in (*bases, Path.cwd(), ROOT):
        if (base / p).exists():
            return base / p
    return None
