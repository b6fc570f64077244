"""Fixtures for the Q&A tests: the demo catalog and FAQ from data/, indexed once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

from handlers.qa.catalog import parse_catalog_csv, parse_faq_csv
from handlers.qa.engine import QAIndex

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def products():
    products, errors = parse_catalog_csv((DATA / "catalog.csv").read_bytes())
    assert errors == []
    return products


@pytest.fixture(scope="session")
def faqs():
    faqs, errors = parse_faq_csv((DATA / "faq.csv").read_bytes())
    assert errors == []
    return faqs


@pytest.fixture(scope="session")
def index(products, faqs):
    return QAIndex.build(products, faqs)


# -- the running service, with the demo catalog seeded --------------------------------------------
from tests.conftest import make_config  # noqa: E402

STORES = [
    {"id": "S01", "name": "梅溪湖店", "guides": ["xiaowang"], "groups": ["wrGroupA"], "kf": "wkS01"},
    {"id": "S02", "name": "五一广场店", "guides": ["xiaoli"], "groups": ["wrGroupB"], "kf": "wkS02"},
]


def qa_config(prefix: str, api_base: str, **qa) -> object:
    """Two stores with a guide and a kf account each; [qa] seeds the demo files."""
    section = {"catalog": str(DATA / "catalog.csv"), "faq": str(DATA / "faq.csv"), "refresh_seconds": 0.0, **qa}
    return make_config(prefix, api_base, stores=STORES, qa=section)


@pytest.fixture
def service_config(prefix, fake):
    return qa_config(prefix, fake.base_url)
