"""Conversations run against the whole service with the demo catalog and FAQ seeded."""
from __future__ import annotations

import pytest

from tests.qa.conftest import qa_config


@pytest.fixture
def service_config(prefix, fake):
    return qa_config(prefix, fake.base_url)
