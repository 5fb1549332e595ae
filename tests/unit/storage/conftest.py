"""The storage unit tests' command double: the shared ``tests.helpers.commands.FakeRun``,
matching LVM commands with or without ``--driverloaded n``."""

from __future__ import annotations

import pytest

from tests.helpers.commands import FakeRun


@pytest.fixture
def fake_run():
    return FakeRun(ignore=("--driverloaded", "n"))
