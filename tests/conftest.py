"""Fixtures shared by every test: host daemons and the tiny guest image.

Tests use the real parts. The session starts what it needs (libvirtd, virtlogd, …)
when it is not running and stops, at the end, only what it started.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
# Drivers are imported as Ansible sees them: ansible_collections.stratus.cloud.plugins...
sys.path.insert(0, str(REPO / "collections"))

# A test's Settings() holds what the test gives it and nothing of this machine's cloud:
# an all-in-one here leaves /etc/stratus/stratus.yaml (object_store_url, ...) that would
# otherwise be read by every Settings() that names no file, and STRATUS_* variables
# would do the same. STRATUS_TEST_* are the suite's own switches and stay.
for _name in [n for n in os.environ if n.startswith("STRATUS_") and not n.startswith("STRATUS_TEST_")]:
    del os.environ[_name]
os.environ["STRATUS_CONFIG"] = os.devnull

from tests.helpers.daemons import Daemons  # noqa: E402


@pytest.fixture(scope="session")
def daemons():
    d = Daemons()
    yield d
    d.stop()


@pytest.fixture(scope="session")
def libvirt_daemon(daemons):
    """libvirtd + virtlogd running; yields the URI of the system instance."""
    daemons.ensure_libvirt()
    return "qemu:///system"


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (tests/api/conftest.py: $STRATUS_TEST_POSTGRES_URL
    when set, else a private one started here and stopped at the end)."""
    from tests.api.conftest import PG_BIN, Postgres, start_private_postgres, stop_private_postgres

    url = os.environ.get("STRATUS_TEST_POSTGRES_URL")
    if url:
        pg = Postgres(url)
        yield pg
        pg.drop_databases()
        return
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 is not installed (apt-packages.txt: postgresql)")
    pg = start_private_postgres()
    try:
        yield pg
    finally:
        stop_private_postgres(pg)


@pytest.fixture(scope="session")
def guest_image():
    """The tiny test guest (tools/build_guest_image.py), built once and cached.

    A dict of paths: raw, qcow2, kernel, initrd, plus version (kernel release).
    """
    from build_guest_image import build

    return build()


@pytest.fixture(scope="session")
def heat_cloud(request, tmp_path_factory, libvirt_daemon):
    """The orchestration tests' one controller (tests/api/orchestration/heat_helpers.py):
    guests reach it through their network's metadata relay (signals, software
    deployments); tests on this host swap the base (signal_helpers.from_host)."""
    from tests.api.conftest import free_port
    from tests.api.orchestration.heat_helpers import start_heat_cloud

    # the object store's proxy port is chosen now: bootstrap puts it in the catalog, and
    # swift_cloud brings the cluster up on it when an object-storage test asks. Images go
    # to the default file store (where it always is: <state_dir>/image-store) unless a
    # test asks for the swift store, whose 4 MiB segments make the tiny image a large object
    tmp = tmp_path_factory.mktemp("heat-ctl")
    state = tmp / "state"
    return start_heat_cloud(request, tmp,
                            orchestration_signal_url="http://169.254.169.254", network_metadata_relay=True,
                            object_store_url=f"http://127.0.0.1:{free_port()}",
                            object_store_password="swift-" + secrets.token_hex(8),
                            state_dir=str(state), image_default_store="file",
                            image_stores={"file": {"type": "file", "path": str(state / "image-store")},
                                          "swift": {"type": "swift", "segment_size": 4 << 20}})


@pytest.fixture(scope="session")
def swift_cloud(request, tmp_path_factory, heat_cloud):
    """``heat_cloud`` with a Swift cluster brought up by the object_storage role on this
    host (three devices, three replicas, keystone auth against the controller) at its
    ``object_store_url``: ``swift_cloud.swift`` is the :class:`SwiftCluster`
    (tests/helpers/swift_cluster.py); stopped after the last test that uses it (see
    pytest_runtest_teardown), removed at the end of the session."""
    from tests.helpers.swift_cluster import start_swift_cluster

    heat_cloud.swift = start_swift_cluster(request, tmp_path_factory.mktemp("swift"), heat_cloud)
    return heat_cloud


# A test under tests/<kind>/<area>/ carries its area's service marker, so that
# ``pytest -m compute`` runs compute's unit tests as well as its integration tests.
AREA_MARKERS = {
    "compute": "compute",
    "storage": "block_storage",
    "network": "network",
    "identity": "identity",
    "orchestration": "orchestration",
    "jobs": "orchestration",
    "quotas": "api",
    "image": "api",
    "object_storage": "object_storage",
    "common": None,
}


LAST_SWIFT_USER = pytest.StashKey[str]()


def pytest_collection_finish(session):
    """Note the last test that uses ``swift_cloud``: the cluster stops after it."""
    users = [item.nodeid for item in session.items if "swift_cloud" in getattr(item, "fixturenames", ())]
    if users:
        session.config.stash[LAST_SWIFT_USER] = users[-1]


def pytest_runtest_teardown(item, nextitem):
    """Stop the Swift daemons after their last user: their replicators and auditors
    would only take CPU from the tests that follow (the files go at the session's end)."""
    if item.nodeid == item.config.stash.get(LAST_SWIFT_USER, None):
        item.funcargs["swift_cloud"].swift.stop()


def swift_modules_together(items: list) -> list:
    """``items`` with every module that uses ``swift_cloud`` moved up behind the first
    one (each module whole and in its order): the cluster then runs for those modules
    only, not across the deploy, e2e and integration tests between them, where its
    replicators and updaters took half a core."""
    def module(item) -> str | None:
        return getattr(getattr(item, "module", None), "__name__", None)

    users = {module(item) for item in items if "swift_cloud" in getattr(item, "fixturenames", ())} - {None}
    moved = [item for item in items if module(item) in users]
    if not moved:
        return items
    first = items.index(moved[0])
    return items[:first] + moved + [item for item in items[first:] if module(item) not in users]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO / "tests").parts
        if len(parts) > 2:
            marker = AREA_MARKERS.get(parts[1])
            if marker and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
    items[:] = swift_modules_together(items)
