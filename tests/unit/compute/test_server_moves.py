"""Resize, confirm, revert, cold and live migration and resetState through their
action handlers on a real (SQLite) database and the real ``orchestration.submit``:
the Migration rows, who holds which host capacity when, the compiled host tasks and
Nova's refusals (with nothing changed)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stratus.compute.states import status
from stratus.db.models.compute import InstanceAction, Migration, Server
from stratus.db.models.jobs import Job, Resource
from stratus.errors import BadRequest, Conflict, Forbidden
from stratus.jobs.runner import UNSAFE
from tests.unit.compute.moves_world import ADMIN, held, make_world

NANO = {"vcpus": 1, "memory_mb": 128, "disk_gb": 1}
MICRO = {"vcpus": 1, "memory_mb": 192, "disk_gb": 1}


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    yield w
    w.db.dispose()


def _args(job: Job, module: str) -> dict:
    for play in job.playbook:
        for task in play["tasks"]:
            if module in task:
                args = task[module].get(UNSAFE, task[module])
                return {k: (v[UNSAFE] if isinstance(v, dict) and UNSAFE in v else v)
                        for k, v in args.items()}
    raise AssertionError(f"no {module} task in {job.playbook}")


def _state(s, w) -> tuple[str, str | None, str]:
    server = s.get(Server, w.server_id)
    return server.vm_state, server.task_state, status(server.vm_state, server.task_state)


def test_resize_holds_the_old_allocation_until_confirm(world):
    w = world
    with w.db.session() as s:
        assert w.call(s, "resize", {"flavorRef": "84"}).status == 202
        job = w.last_job(s)
        assert job.kind == "action:resize"
        assert _args(job, "stratus.cloud.instance")["memory_mb"] == 192
        (mig,) = s.scalars(select(Migration)).all()
        assert (mig.migration_type, mig.status, mig.source_compute, mig.dest_compute) == (
            "resize", "migrating", "cmp1", "cmp1")
        assert held(s, w.server_id) == {"cmp1": MICRO}
        assert held(s, mig.uuid) == {"cmp1": NANO}  # the old flavor's room stays taken
        assert _state(s, w) == ("active", "resize_prep", "RESIZE")
        w.end(s, job.id)
        server = s.get(Server, w.server_id)
        assert _state(s, w) == ("resized", None, "VERIFY_RESIZE")
        assert server.flavor["ram"] == 192 and server.old_flavor["ram"] == 128 and server.flavor_id == "84"
        assert s.get(Migration, mig.id).status == "finished"
        assert held(s, mig.uuid) == {"cmp1": NANO}
    with w.db.session() as s:
        assert w.call(s, "confirmResize", None).status == 204
        assert held(s, w.server_id) == {"cmp1": MICRO} and held(s, mig.uuid) == {}
        assert s.get(Migration, mig.id).status == "confirmed"
        assert _state(s, w) == ("active", None, "ACTIVE")
        assert s.get(Server, w.server_id).old_flavor is None
        names = [a.action for a in s.scalars(select(InstanceAction).order_by(InstanceAction.id))]
        assert names == ["resize", "confirmResize"]
    with pytest.raises(Conflict, match="vm_state active"), w.db.session() as s:
        w.call(s, "confirmResize", None)


def test_revert_resize_goes_back_to_the_old_flavor(world):
    w = world
    with w.db.session() as s:
        w.call(s, "resize", {"flavorRef": "84"})
        w.end(s, w.last_job(s).id)
    with w.db.session() as s:
        assert w.call(s, "revertResize", None).status == 202
        job = w.last_job(s)
        assert job.kind == "action:revertResize"
        assert _args(job, "stratus.cloud.instance")["memory_mb"] == 128
        assert _state(s, w) == ("resized", "resize_reverting", "REVERT_RESIZE")
        (mig,) = s.scalars(select(Migration)).all()
        assert mig.status == "reverting"
        assert held(s, w.server_id) == {"cmp1": NANO} and held(s, mig.uuid) == {}
        w.end(s, job.id)
        server = s.get(Server, w.server_id)
        assert _state(s, w) == ("active", None, "ACTIVE")
        assert server.flavor["ram"] == 128 and server.flavor_id == "42" and server.old_flavor is None
        assert s.get(Migration, mig.id).status == "reverted"
        assert s.get(Resource, w.server_id).properties["flavor"] == "42"


def test_resize_refusals_change_nothing(world):
    w = world
    cases = [
        ({"flavorRef": "42"}, BadRequest, "When resizing, instances must change flavor!"),
        ({"flavorRef": "999"}, BadRequest, "Flavor 999 could not be found."),
        ({}, BadRequest, "Invalid input for field/attribute resize. .*'flavorRef' is a required property"),
        ({"flavorRef": "84", "bogus": 1}, BadRequest, "Additional properties are not allowed"),
        ("84", BadRequest, "is not of type 'object'"),
    ]
    for body, exc, words in cases:
        with w.db.session() as s:
            before = (w.last_job(s).id, held(s, w.server_id))
            with pytest.raises(exc, match=words):
                w.call(s, "resize", body)
            s.rollback()
            assert (w.last_job(s).id, held(s, w.server_id)) == before
            assert s.scalars(select(Migration)).all() == []
    with w.db.session() as s:
        s.get(Server, w.server_id).vm_state = "paused"
    words = f"Cannot 'resize' instance {w.server_id} while it is in vm_state paused"
    with pytest.raises(Conflict, match=words), w.db.session() as s:
        w.call(s, "resize", {"flavorRef": "84"})
    with w.db.session() as s:
        s.get(Server, w.server_id).vm_state = "active"
    with pytest.raises(BadRequest, match="Instance has not been resized."), w.db.session() as s:
        s.get(Server, w.server_id).vm_state = "resized"
        w.call(s, "revertResize", None)


def test_resize_over_host_capacity_is_refused(tmp_path):
    w = make_world(tmp_path, hosts=1, memory_mb=2100)
    with pytest.raises(BadRequest, match="No valid host was found. Host cmp1 has no room for flavor m1.small"), \
            w.db.session() as s:
        w.call(s, "resize", {"flavorRef": "2"})  # 2048 MiB + the held 128 do not fit 2100
    with w.db.session() as s:
        assert held(s, w.server_id) == {"cmp1": NANO}
        assert s.scalars(select(Migration)).all() == []
    w.db.dispose()


def test_cold_migration_moves_host_and_reverts(world):
    w = world
    with pytest.raises(Forbidden, match="os-migrate-server:migrate to be performed"), w.db.session() as s:
        w.call(s, "migrate", None)
    with w.db.session() as s:
        assert w.call(s, "migrate", None, ctx=ADMIN).status == 202
        job = w.last_job(s)
        assert job.kind == "action:migrate"
        args = _args(job, "stratus.cloud.instance_action")
        assert args["action"] == "migrate" and args["dest_uri"] == "qemu+tcp://cmp2/system"
        assert job.playbook[0]["hosts"] == "cmp1"
        (mig,) = s.scalars(select(Migration)).all()
        assert (mig.migration_type, mig.source_compute, mig.dest_compute) == ("migration", "cmp1", "cmp2")
        assert held(s, w.server_id) == {"cmp2": NANO} and held(s, mig.uuid) == {"cmp1": NANO}
        w.end(s, job.id)
        server = s.get(Server, w.server_id)
        assert (server.host, s.get(Resource, w.server_id).hosts) == ("cmp2", ["cmp2"])
        assert _state(s, w) == ("resized", None, "VERIFY_RESIZE")
    with w.db.session() as s:
        w.call(s, "revertResize", None)
        job = w.last_job(s)
        assert _args(job, "stratus.cloud.instance_action")["dest_uri"] == "qemu+tcp://cmp1/system"
        assert job.playbook[0]["hosts"] == "cmp2"
        w.end(s, job.id)
        assert s.get(Server, w.server_id).host == "cmp1"
        assert held(s, w.server_id) == {"cmp1": NANO} and held(s, mig.uuid) == {}
        assert _state(s, w) == ("active", None, "ACTIVE")


def test_migrate_refusals(tmp_path):
    w = make_world(tmp_path, hosts=1)
    with pytest.raises(BadRequest, match="No valid host was found"), w.db.session() as s:
        w.call(s, "migrate", None, ctx=ADMIN)
    with w.db.session() as s:
        assert s.scalars(select(Migration)).all() == [] and held(s, w.server_id) == {"cmp1": NANO}
    with pytest.raises(BadRequest, match="Cannot migrate to the host where the server exists."), w.db.session() as s:
        w.call(s, "migrate", {"host": "cmp1"}, ctx=ADMIN, version="2.56")
    with pytest.raises(BadRequest, match="Additional properties"), w.db.session() as s:
        w.call(s, "migrate", {"host": "cmp1"}, ctx=ADMIN, version="2.55")
    with pytest.raises(BadRequest, match="Compute host nowhere could not be found."), w.db.session() as s:
        w.call(s, "migrate", {"host": "nowhere"}, ctx=ADMIN, version="2.56")
    w.db.dispose()


def test_live_migration_completes_on_the_destination(world):
    w = world
    body = {"host": "cmp2", "block_migration": "auto"}
    with pytest.raises(BadRequest, match="'disk_over_commit' is a required property"), w.db.session() as s:
        w.call(s, "os-migrateLive", {"host": None, "block_migration": False}, ctx=ADMIN, version="2.24")
    with pytest.raises(BadRequest, match="Additional properties"), w.db.session() as s:
        w.call(s, "os-migrateLive", {**body, "force": True}, ctx=ADMIN, version="2.68")
    with pytest.raises(BadRequest, match="Unable to migrate instance"), w.db.session() as s:
        w.call(s, "os-migrateLive", {**body, "host": "cmp1"}, ctx=ADMIN)
    with w.db.session() as s:
        assert w.call(s, "os-migrateLive", {**body, "force": False}, ctx=ADMIN, version="2.30").status == 202
        job = w.last_job(s)
        args = _args(job, "stratus.cloud.instance_action")
        assert args["live"] is True and args["dest_uri"] == "qemu+tcp://cmp2/system"
        assert _state(s, w) == ("active", "migrating", "MIGRATING")
        (mig,) = s.scalars(select(Migration)).all()
        assert mig.status == "running"
        w.end(s, job.id)
        assert s.get(Server, w.server_id).host == "cmp2"
        assert held(s, w.server_id) == {"cmp2": NANO} and held(s, mig.uuid) == {}
        assert s.get(Migration, mig.id).status == "completed"
        assert _state(s, w) == ("active", None, "ACTIVE")


def test_failed_live_migration_keeps_the_server_where_it_was(world):
    w = world
    with w.db.session() as s:
        w.call(s, "os-migrateLive", {"host": None, "block_migration": "auto"}, ctx=ADMIN)
        w.end(s, w.last_job(s).id, ok=False)
        assert s.get(Server, w.server_id).host == "cmp1"
        assert held(s, w.server_id) == {"cmp1": NANO}
        assert s.scalars(select(Migration)).one().status == "failed"
        assert _state(s, w) == ("active", None, "ACTIVE")
        assert s.get(Resource, w.server_id).status == "ACTIVE"


def test_reset_state(world):
    w = world
    with pytest.raises(Forbidden), w.db.session() as s:
        w.call(s, "os-resetState", {"state": "error"})
    with pytest.raises(BadRequest, match="is not one of"), w.db.session() as s:
        w.call(s, "os-resetState", {"state": "paused"}, ctx=ADMIN)
    with w.db.session() as s:
        s.get(Server, w.server_id).task_state = "migrating"
        w.call(s, "os-resetState", {"state": "error"}, ctx=ADMIN)
        assert _state(s, w) == ("error", None, "ERROR")
