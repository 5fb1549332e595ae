"""The stack engine in process: stratus.stacks create / settle / delete, timeouts and
cancels, actions, abandon/adopt, snapshots and restore, mark-unhealthy, events and the
engine's side of nested stacks, on a fresh SQLite database with a real job worker
running real ansible-runner jobs against localhost (``Stratus::Ansible::Task`` and
``OS::Heat::TestResource`` as the work). Rollback is shown through the API
(tests/api/orchestration/test_stack_lifecycle.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.base import Base
from stratus.db.models.jobs import ACTIVE, DELETED, Job, Resource
from stratus.db.models.orchestration import Stack, StackEvent
from stratus.db.session import Database
from stratus.errors import BadRequest, Conflict, Forbidden, NotFound
from stratus.hosts import registry
from stratus.jobs.worker import Options, Worker
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.resources import get_type
from stratus.stacks import abandon, actions, create, delete, health, records, snapshots
from stratus.stacks import events as stack_events
from stratus.stacks import resources as stack_resources

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
         "me": {"value": {"list_join": ["/", [{"get_param": "OS::stack_name"}, {"get_param": "OS::stack_id"}]]}},
         "missing": {"value": {"get_attr": ["dir", "result", "nope"]}}}))
    st = wait(db, sid, "CREATE_COMPLETE")
    assert st.status_reason == "Stack CREATE completed successfully"
    outs = {o["output_key"]: o for o in st.outputs}
    assert outs["path"]["output_value"] == str(target) and outs["path"]["description"] == "the dir"
    assert outs["value"]["output_value"] == "v1"
    assert outs["me"]["output_value"] == f"s1/{sid}"
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


def test_refusals_write_nothing(db):
    with db.session() as s:
        with pytest.raises(TemplateError, match="Invalid stack name 1bad"):
            create.create(s, Ctx(), name="1bad", template=tpl({}))
        with pytest.raises(TemplateError):
            create.create(s, Ctx(), name="x", template=tpl({"a": {"type": "OS::Nope::Thing"}}))
        with pytest.raises(Forbidden):  # refused by submit, after the stack row was added
            create.create(s, Ctx(is_admin=False), name="x", template=tpl({"t": task("ansible.builtin.ping", {})}))
        assert s.scalars(select(Stack)).first() is None and s.scalars(select(Resource)).first() is None


def test_empty_stack_is_complete_at_once(db):
    sid = make(db, "empty", tpl({}, {"o": {"value": "x"}}))
    with db.session() as s:
        st = s.get(Stack, sid)
        assert st.stack_status == "CREATE_COMPLETE" and st.outputs[0]["output_value"] == "x"


def test_suspend_resume_check(db, worker):
    sid = make(db, "act", tpl({"a": {"type": "OS::Heat::TestResource", "properties": {"value": "x"}},
                               "b": {"type": "OS::Heat::Value", "properties": {"value": {"get_resource": "a"}}}}))
    wait(db, sid, "CREATE_COMPLETE")
    with db.session() as s, pytest.raises(BadRequest, match=r"State \(CREATE, COMPLETE\) invalid for resume"):
        actions.resume(s, Ctx(), s.get(Stack, sid))
    for do, status in ((actions.suspend, "SUSPEND_COMPLETE"), (actions.resume, "RESUME_COMPLETE"),
                       (actions.check, "CHECK_COMPLETE")):
        with db.session() as s:
            do(s, Ctx(), s.get(Stack, sid))
            with pytest.raises(Conflict, match="already has an action"):
                actions.suspend(s, Ctx(), s.get(Stack, sid))
        wait(db, sid, status)
        rows = resources(db, sid)
        assert {r.action for r in rows.values()} == {status.split("_")[0]}
        assert ("a", status, "state changed") in events(db, sid)


def test_abandon_then_adopt_takes_the_same_resources_over(db, worker):
    template = tpl({"pw": {"type": "OS::Heat::RandomString", "properties": {"length": 12}},
                    "v": {"type": "OS::Heat::Value", "properties": {"value": {"get_attr": ["pw", "value"]}}}},
                   {"pw": {"value": {"get_attr": ["v", "value"]}}})
    sid = make(db, "ab", template)
    st = wait(db, sid, "CREATE_COMPLETE")
    secret = st.outputs[0]["output_value"]
    assert len(secret) == 12
    with db.session() as s:
        data = abandon.abandon(s, Ctx(), s.get(Stack, sid))
    assert data["name"] == "ab" and data["id"] == sid and data["template"] == template
    assert set(data["resources"]) == {"pw", "v"}
    assert data["resources"]["pw"]["status"] == "COMPLETE" and data["resources"]["pw"]["action"] == "CREATE"
    with db.session() as s:
        with pytest.raises(NotFound):
            records.get(s, Ctx(), "ab")
        kept = {r.name: r for r in s.scalars(select(Resource).where(Resource.id.in_(
            [d["resource_id"] for d in data["resources"].values()])))}
        assert {r.status for r in kept.values()} == {ACTIVE} and {r.stack_id for r in kept.values()} == {None}

    with db.session() as s:
        adopted = create.create(s, Ctx(), name="ab2", template=None, adopt_data=data)
        assert adopted.stack_status == "ADOPT_COMPLETE"
        assert adopted.outputs[0]["output_value"] == secret
        new_id = adopted.id
    rows = resources(db, new_id)
    assert {r.id for r in rows.values()} == {d["resource_id"] for d in data["resources"].values()}
    assert {r.action for r in rows.values()} == {"ADOPT"}
    # a resource belongs to one stack at a time
    with db.session() as s, pytest.raises(ResourceCheckFailed, match="belongs to the stack ab2"):
        create.create(s, Ctx(), name="ab3", template=None, adopt_data=data)


def test_snapshots_health_and_events(db, worker):
    sid = make(db, "snap", tpl({"a": {"type": "OS::Heat::TestResource", "properties": {"value": "one"}}}))
    wait(db, sid, "CREATE_COMPLETE")
    with db.session() as s:
        stack = s.get(Stack, sid)
        snap = snapshots.create(s, Ctx(), stack, "first")
        assert snap.status == "COMPLETE" and stack.stack_status == "SNAPSHOT_COMPLETE"
        assert snap.data["resources"]["a"]["attributes"]["output"] == "one"
        snap_id = snap.id
    with db.session() as s:
        stack = s.get(Stack, sid)
        assert [x.id for x in snapshots.list_for(s, Ctx(), stack)] == [snap_id]
        assert snapshots.get(s, Ctx(), stack, snap_id).name == "first"
        health.mark_unhealthy(s, Ctx(), stack, "a", True, "broken by hand")
        assert stack_resources.get(s, Ctx(), stack, "a").resource_status == "CHECK_FAILED"
        with pytest.raises(NotFound, match=r"The Resource \(nope\) could not be found"):
            health.mark_unhealthy(s, Ctx(), stack, "nope", True)
    with db.session() as s:
        stack = s.get(Stack, sid)
        health.mark_unhealthy(s, Ctx(), stack, "a", False)
        assert stack_resources.get(s, Ctx(), stack, "a").resource_status == "CHECK_COMPLETE"
        snapshots.delete(s, Ctx(), stack, snap_id)
        with pytest.raises(NotFound):
            snapshots.get(s, Ctx(), stack, snap_id)

        every = stack_events.list_for(s, Ctx(), stack)
        assert [(e.resource_name, e.action, e.status) for e in every[:2]] == [
            ("snap", "CREATE", "IN_PROGRESS"), ("a", "CREATE", "IN_PROGRESS")]
        only_a = stack_events.list_for(s, Ctx(), stack, resource_name="a", resource_status="FAILED")
        assert [(e.action, e.reason) for e in only_a] == [("CHECK", "broken by hand")]
        newest = stack_events.list_for(s, Ctx(), stack, sort_dir="desc", limit=1)
        assert newest[0].id == every[-1].id
        page = stack_events.list_for(s, Ctx(), stack, marker=every[0].id, limit=2)
        assert [e.id for e in page] == [e.id for e in every[1:3]]
        with pytest.raises(BadRequest):
            stack_events.list_for(s, Ctx(), stack, sort_keys="nope")


def test_timeout_fails_the_create_and_delete_cancels_a_running_create(db, worker):
    slow = tpl({"slow": {"type": "OS::Heat::TestResource", "properties": {"action_wait_secs": {"create": 60}}}})
    with db.session() as s:
        st = create.create(s, Ctx(), name="late", template=slow, disable_rollback=True)
        s.get(Job, st.current_job_id).timeout = 3  # the stack's timeout, in seconds here
        sid = st.id
    st = wait(db, sid, "CREATE_FAILED")
    assert st.status_reason == "Timed out"

    sid = make(db, "cut", slow)
    with db.session() as s:
        job_id = s.get(Stack, sid).current_job_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the create's run has started
        with db.session() as s:
            if s.get(Job, job_id).status == "RUNNING":
                break
        time.sleep(0.1)
    with db.session() as s:
        delete.delete(s, Ctx(), s.get(Stack, sid))
    start = time.monotonic()
    wait(db, sid, "DELETE_COMPLETE")
    assert time.monotonic() - start < 45
    with db.session() as s:
        assert s.get(Job, job_id).status == "CANCELLED"
    assert {r.status for r in resources(db, sid).values()} == {DELETED}


def test_nested_stacks_of_the_expansion_get_rows_resources_and_statuses(db, worker, monkeypatch):
    """The engine's side of nested stacks: whatever ``nested.expand`` flattens (here a
    stand-in expansion of one nested stack ``app`` holding ``app.a`` and ``app.b``)."""
    from stratus.orchestration import nested
    from stratus.orchestration.template import Template

    flat = tpl({"front": {"type": "OS::Heat::Value", "properties": {"value": "f"}},
                "app": {"type": "OS::Heat::None", "depends_on": ["app.a", "app.b"]},
                "app.a": {"type": "OS::Heat::Value", "properties": {"value": "a"}},
                "app.b": {"type": "OS::Heat::Value", "properties": {"value": "b"}}})

    def expand(template, parameters=None, *, current=None, **_):
        inner = {"heat_template_version": "2018-08-31", "resources": {"a": {}, "b": {}}}
        return nested.Expansion(Template.from_dict(flat), [nested.NestedStack("app", "app", "", inner)])

    monkeypatch.setattr(nested, "expand", expand)
    sid = make(db, "outer", tpl({"front": {"type": "OS::Heat::Value", "properties": {"value": "f"}}}))
    wait(db, sid, "CREATE_COMPLETE")
    with db.session() as s:
        (child,) = records.children(s, s.get(Stack, sid))
        assert (child.parent_id, child.owner_resource, child.stack_status) == (sid, "app", "CREATE_COMPLETE")
        child_id = child.id
        top = stack_resources.list_for(s, Ctx(), s.get(Stack, sid))
        assert sorted((r.name, r.nested_stack_id) for r in top) == [("app", child_id), ("front", None)]
        deep = stack_resources.list_for(s, Ctx(), s.get(Stack, sid), nested_depth=1)
        assert sorted(r.name for r in deep) == ["a", "app", "b", "front"]
        assert {r.parent_resource for r in deep if r.name in ("a", "b")} == {"app"}
    assert set(resources(db, child_id)) == {"app.a", "app.b"}
    assert ("a", "CREATE_COMPLETE", "state changed") in events(db, child_id)
    with db.session() as s:
        delete.delete(s, Ctx(), s.get(Stack, sid))
    wait(db, sid, "DELETE_COMPLETE")
    with db.session() as s:
        assert s.get(Stack, child_id).stack_status == "DELETE_COMPLETE"
        assert s.get(Stack, child_id).deleted_at is not None


def test_restore_puts_the_snapshot_template_back(db, worker):
    from stratus.stacks import update

    one = tpl({"v": {"type": "OS::Heat::Value", "properties": {"value": "one"}}},
              {"v": {"value": {"get_attr": ["v", "value"]}}})
    sid = make(db, "rest", one)
    wait(db, sid, "CREATE_COMPLETE")
    with db.session() as s:
        snap_id = snapshots.create(s, Ctx(), s.get(Stack, sid), "before").id
    two = tpl({"v": {"type": "OS::Heat::Value", "properties": {"value": "two"}}},
              {"v": {"value": {"get_attr": ["v", "value"]}}})
    with db.session() as s:
        update.update(s, Ctx(), s.get(Stack, sid), template=two)
    assert wait(db, sid, "UPDATE_COMPLETE").outputs[0]["output_value"] == "two"
    with db.session() as s:
        snapshots.restore(s, Ctx(), s.get(Stack, sid), snap_id)
    st = wait(db, sid, "RESTORE_COMPLETE")
    assert st.outputs[0]["output_value"] == "one" and st.template == one
    assert st.status_reason == "Stack RESTORE completed successfully"
