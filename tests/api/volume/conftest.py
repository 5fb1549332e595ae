"""The volume API tests (Cinder v3): controllers with a real storage host come from
``volume_helpers.storage_cloud``; the shared fixtures of ``tests/api/conftest.py`` apply."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def module_factory(request, tmp_path_factory):
    """A controller factory for one test module (its controllers stop after the module),
    so a module shares one controller and storage host between its tests."""
    from tests.api.conftest import _Factory

    factory = _Factory(request, tmp_path_factory.mktemp("vol-ctl"))
    yield factory
    factory.close()
