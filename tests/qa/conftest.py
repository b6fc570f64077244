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
