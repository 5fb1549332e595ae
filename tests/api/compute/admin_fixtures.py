"""A controller of its own for the admin API tests (aggregates, zones, hypervisors,
services): its registry holds made-up hosts — compute hosts cn1 and cn2 with capacity
as ``stratus host refresh`` would record it, and the controller ctl1 — which must not
leak into a controller where servers are placed. Nothing runs on these hosts."""

from __future__ import annotations

import contextlib
import tempfile
import textwrap
from pathlib import Path

import pytest

from stratus.db.session import Database
from tests.api.conftest import _Factory

CAPACITY = {"cn1": {"vcpus": 8, "memory_mb": 16384, "disk_gb": 200},
            "cn2": {"vcpus": 4, "memory_mb": 8192, "disk_gb": 100}}


@contextlib.contextmanager
def cloud_db(c):
    """A session on the controller's own database (committed on leaving)."""
    db = Database(c.database_url)
    try:
        with db.session() as s:
            yield s
    finally:
        db.dispose()


def nova(c, method: str, path: str, version: str | None = None, token: str | None = None, **kw):
    headers = kw.pop("headers", {})
    if version:
        headers["OpenStack-API-Version"] = f"compute {version}"
    return c.request(method, "/compute/v2.1" + path, token=token, headers=headers, **kw)


_SHARED: dict = {}


@pytest.fixture(scope="module")
def admin_cloud(request, tmp_path_factory):
    """The admin tests' controller: one for the whole session (started on first use,
    stopped when pytest ends), so the four admin test modules pay its start-up once.
    Tests put back what they change."""
    if "cloud" not in _SHARED:
        factory = _Factory(request, tmp_path_factory.mktemp("admin-cloud"))
        request.config.add_cleanup(factory.close)
        _SHARED["cloud"] = _start(factory)
    return _SHARED["cloud"]


def _start(factory):
    from stratus.db.models.hosts import Host
    from stratus.db.types import utcnow

    c = factory("sqlite")
    inv = Path(tempfile.mkdtemp(dir=c.workdir)) / "hosts.ini"
    inv.write_text(textwrap.dedent("""\
        [compute]
        cn1 ansible_connection=local ansible_host=192.0.2.11
        cn2 ansible_connection=local ansible_host=192.0.2.12
        [controller]
        ctl1 ansible_connection=local
        """))
    c.stratus("host", "sync", "-i", str(inv))
    with cloud_db(c) as s:
        for name, cap in CAPACITY.items():
            h = s.get(Host, name)
            h.capacity = dict(cap)
            h.reported = {"hypervisor": {"cpu_model": "x86_64 qemu64", "free_disk_gb": cap["disk_gb"] - 5,
                                         **cap}}
            h.refreshed_at = utcnow()
    return c
