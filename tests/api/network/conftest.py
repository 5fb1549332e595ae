"""Fixtures of the network API tests."""

from __future__ import annotations

import pytest

from tests.api.network.l3_records import Records


@pytest.fixture
def records(sqlite_controller):
    r = Records(sqlite_controller.database_url)
    yield r
    r.close()
