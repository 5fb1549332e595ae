"""The stack engine in process: stratus.stacks create / delete / settle (and rollback,
actions, abandon/adopt) on a fresh SQLite database with a real job worker running real
ansible-runner jobs against localhost (``Stratus::Ansible::Task`` resources as the
work: a file, a sleep, a failing command)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.base import Base
from stratus.db.models.jobs import ACTIVE, DELETED, Resource
from stratus.db.models.orchestration import Stack, StackEvent
from stratus.db.session import Database
from stratus.errors import Conflict, NotFound
from stratus.hosts import registry
from stratus.jobs.worker import Options, Worker
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.resources import get_type
from stratus.stacks import create, delete, records

pytestmark = [pytest.mark.orchestration]

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Ctx:
    project_id: str = "p1"
    user_id: str = "u1"
    is_admin: bool = True  # Stratus::Ansible::Task is a cloud administrator's type
    roles: list[str] = field(default_factory=lambda: ["admin"])


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        registry.sync(s, [str(REPO / "inventories/aio")])
    yield database
    database.dispose()


@pytest.fixture
def worker(db, tmp_path):
    w = Worker(db, Options(state_dir=tmp_path / "state", poll_interval=0.1), get_type).start()
    yield w
    w.stop(timeout=20)


def task(module: str, args: dict, **kw) -> dict:
    return {"type": "Stratus::Ansible::Task", "properties": {"module": module, "args": args}, **kw}


def tpl(resources: dict, outputs: dict | None = None) -> dict:
    out = {"heat_template_version": "2018-08-31", "resources": resources}
    if outputs:
        out["outputs"] = outputs
    return out


def make(db, name: str, template: dict, **kw) -> str:
    with db.session() as s:
        return create.create(s, Ctx(), name=name, template=template, **kw).id


def wait(db, stack_id: str, status: str, timeout: float = 90) -> Stack:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            st = s.get(Stack, stack_id)
            now = st.stack_status
            if now == status:
                s.expunge(st)
                return st
            if not now.endswith("IN_PROGRESS"):
                raise AssertionError(f"{st.name} went to {now}: {st.status_reason}")
        time.sleep(0.1)
    raise AssertionError(f"stack {stack_id} not {status} within {timeout}s (now {now})")


def events(db, stack_id: str) -> list[tuple[str, str, str]]:
    with db.session() as s:
        rows = s.scalars(select(StackEvent).where(StackEvent.stack_id == stack_id)
                         .order_by(StackEvent.created_at))
        return [(e.resource_name, f"{e.action}_{e.status}", e.reason) for e in rows]


def resources(db, stack_id: str) -> dict[str, Resource]:
    with db.session() as s:
        rows = {r.name: r for r in s.scalars(select(Resource).where(Resource.stack_id == stack_id))}
        for r in rows.values():
            s.expunge(r)
        return rows


def test_create_settles_complete_with_outputs_then_delete_leaves_nothing(db, worker, tmp_path):
    target = tmp_path / "made"
    sid = make(db, "s1", tpl(
        {"dir": task("ansible.builtin.file", {"path": str(target), "state": "directory"}),
         "val": {"type": "OS::Heat::Value", "properties": {"value": "v1"}}},
        {"path": {"value": {"get_attr": ["dir", "result", "path"]}, "description": "the dir"},
         "value": {"value": {"get_attr": ["val", "value"]}},
         "missing": {"value": {"get_attr": ["dir", "result", "nope"]}}}))
    st = wait(db, sid, "CREATE_COMPLETE")
    assert st.status_reason == "Stack CREATE completed successfully"
    outs = {o["output_key"]: o for o in st.outputs}
    assert outs["path"]["output_value"] == str(target) and outs["path"]["description"] == "the dir"
    assert outs["value"]["output_value"] == "v1"
    assert outs["missing"]["output_value"] is None and "nope" in outs["missing"]["output_error"]
    assert target.is_dir()
    evs = events(db, sid)
    assert ("s1", "CREATE_IN_PROGRESS", "Stack CREATE started") in evs
    assert ("dir", "CREATE_IN_PROGRESS", "state changed") in evs and ("dir", "CREATE_COMPLETE", "state changed") in evs
    assert evs[-1] == ("s1", "CREATE_COMPLETE", "Stack CREATE completed successfully")
    assert {r.action + "/" + r.status for r in resources(db, sid).values()} == {"CREATE/ACTIVE"}

    with db.session() as s, pytest.raises(Conflict, match=r"The Stack \(s1\) already exists."):
        create.create(s, Ctx(), name="s1", template=tpl({}))

    with db.session() as s:
        delete.delete(s, Ctx(), s.get(Stack, sid))
    st = wait(db, sid, "DELETE_COMPLETE")
    assert st.deleted_at is not None
    assert {r.status for r in resources(db, sid).values()} == {DELETED}
    assert ("dir", "DELETE_COMPLETE", "state changed") in events(db, sid)
    with db.session() as s, pytest.raises(NotFound):
        records.get(s, Ctx(), "s1")
    with db.session() as s, pytest.raises(NotFound):
        delete.delete(s, Ctx(), s.get(Stack, sid))


def test_failed_create_rolls_back_and_disable_rollback_stays_failed(db, worker):
    bad = tpl({"ok": {"type": "OS::Heat::Value", "properties": {"value": 1}},
               "boom": task("ansible.builtin.command", {"argv": ["false"]}, depends_on=["ok"])})
    sid = make(db, "rb", bad)
    st = wait(db, sid, "ROLLBACK_COMPLETE")
    evs = events(db, sid)
    failed = [e for e in evs if e[1] == "CREATE_FAILED" and e[0] == "rb"]
    assert failed and failed[0][2].startswith("Resource CREATE failed: boom")
    assert ("rb", "ROLLBACK_IN_PROGRESS", "Stack ROLLBACK started") in evs
    assert st.status_reason == "Stack ROLLBACK completed successfully"
    assert {r.status for r in resources(db, sid).values()} == {DELETED}

    sid2 = make(db, "norb", bad, disable_rollback=True)
    st = wait(db, sid2, "CREATE_FAILED")
    assert st.status_reason.startswith("Resource CREATE failed: boom")
    rows = resources(db, sid2)
    assert rows["ok"].status == ACTIVE and rows["boom"].status == "ERROR"


def test_refusals_write_nothing(db):
    with db.session() as s:
        with pytest.raises(TemplateError, match="Invalid stack name 1bad"):
            create.create(s, Ctx(), name="1bad", template=tpl({}))
        with pytest.raises(TemplateError):
            create.create(s, Ctx(), name="x", template=tpl({"a": {"type": "OS::Nope::Thing"}}))
        assert s.scalars(select(Stack)).first() is None


def test_empty_stack_is_complete_at_once(db):
    sid = make(db, "empty", tpl({}, {"o": {"value": "x"}}))
    with db.session() as s:
        st = s.get(Stack, sid)
        assert st.stack_status == "CREATE_COMPLETE" and st.outputs[0]["output_value"] == "x"
