"""reconcile.compare over records and made-up host reports (pure, no hosts): what is
judged and what is left alone; the periodic pass starts only when configured."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

import stratus.db.models.compute  # noqa: F401 - registers tables
import stratus.db.models.hosts  # noqa: F401
import stratus.db.models.jobs  # noqa: F401
import stratus.db.models.quotas  # noqa: F401
from stratus.compute import reconcile, states
from stratus.config import Settings
from stratus.db.models.compute import Server
from stratus.db.models.jobs import ACTIVE, Resource
from stratus.db.types import utcnow
from tests.helpers.db import schema_session

A, B, C, D, E = (f"{n}0000000-0000-4000-8000-000000000000" for n in "abcde")


@pytest.fixture
def db(tmp_path):
    with schema_session(f"sqlite:///{tmp_path}/stratus.db") as s:
        yield s


def server(db, sid, host="h1", **kw):
    kw.setdefault("vm_state", states.ACTIVE)
    kw.setdefault("power_state", states.RUNNING)
    kw.setdefault("updated_at", utcnow() - timedelta(minutes=5))
    db.add(Server(id=sid, project_id="p", user_id="u", name=sid[:4], flavor_id="1", host=host, **kw))
    db.flush()


def guest(sid, state="running", owned=True):
    return {"uuid": sid, "name": f"instance-{sid}", "state": state, "owned": owned}


def kinds(findings):
    return {(f.kind, f.instance) for f in findings}


def test_in_step_records_give_no_findings(db):
    server(db, A)
    server(db, B, vm_state=states.STOPPED, power_state=states.SHUTDOWN)
    got = reconcile.compare(db, {"h1": [guest(A), guest(B, "stopped")]}, utcnow())
    assert got == []


def test_orphans_skip_live_resources_and_foreign_domains(db):
    db.add(Resource(id=C, name="srv", type="OS::Nova::Server", status=ACTIVE))  # a stack's server, no row
    db.flush()
    got = reconcile.compare(db, {"h1": [guest(A), guest(C), guest(D, owned=False)]}, utcnow())
    assert kinds(got) == {("orphan_domain", A)}


def test_lost_and_moved_servers(db):
    server(db, A)
    server(db, B)
    got = reconcile.compare(db, {"h1": [], "h2": [guest(B)]}, utcnow())
    assert kinds(got) == {("lost_server", A), ("lost_server", B)}
    assert "a domain of it is on h2" in next(f.detail for f in got if f.instance == B)


def test_left_alone_tasks_new_rows_unreported_hosts_and_offloaded(db):
    server(db, A, task_state=states.MIGRATING)
    server(db, B, updated_at=utcnow() + timedelta(seconds=5))  # changed after the pass began
    server(db, C, host="h9")  # its host did not answer
    server(db, D, vm_state=states.SHELVED_OFFLOADED)
    server(db, E, vm_state=states.BUILDING, task_state=states.SPAWNING)
    assert reconcile.compare(db, {"h1": []}, utcnow()) == []


def test_power_drift_repaired_as_nova_sync_does(db):
    server(db, A)
    server(db, B, vm_state=states.PAUSED, power_state=states.POWER_PAUSED)
    reports = {"h1": [guest(A, "stopped"), guest(B, "running")]}
    found = reconcile.compare(db, reports, utcnow())
    assert kinds(found) == {("power_state", A), ("power_state", B)}
    reconcile.repair_records(db, found, reports)
    a, b = db.get(Server, A), db.get(Server, B)
    assert (a.power_state, a.vm_state) == (states.SHUTDOWN, states.STOPPED)
    assert (b.power_state, b.vm_state) == (states.RUNNING, states.PAUSED)  # only the power state recorded
    assert all(f.repaired for f in found)


def test_periodic_pass_only_when_configured(tmp_path):
    app = SimpleNamespace(state=SimpleNamespace(settings=Settings(compute_reconcile_interval=0), db=None))
    assert reconcile.start(app) is None
    app.state.settings = Settings(compute_reconcile_interval=3600, state_dir=tmp_path)
    periodic = reconcile.start(app)
    try:
        assert periodic is not None and periodic._thread.is_alive()
    finally:
        reconcile.stop(app)
    assert not periodic._thread.is_alive() and app.state.reconcile is None
