"""Stack update in process (stratus.stacks.update, actions.cancel_update): a fresh
SQLite database and a real job worker (the fixtures of test_stack_engine); the resources
are OS::Heat::TestResource / Value (record-only jobs settle without ansible, so these
tests are fast; a failing update and its rollback run in tests/api/orchestration/
test_stack_update.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stratus.db.models.jobs import ACTIVE, DELETED, Job, Resource
from stratus.db.models.orchestration import Stack
from stratus.errors import BadRequest, Conflict
from stratus.orchestration.errors import TemplateError
from stratus.stacks import actions, update
from tests.unit.orchestration import test_stack_engine as engine
from tests.unit.orchestration.test_stack_engine import Ctx, events, make, wait

pytestmark = [pytest.mark.orchestration]
db, worker = engine.db, engine.worker  # the engine tests' fixtures: a fresh database and a real worker


def tpl(resources: dict, **extra) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": resources, **extra}


def test_resource(**props) -> dict:
    return {"type": "OS::Heat::TestResource", "properties": props}


test_resource.__test__ = False  # a template helper, not a test


def rows(db, stack_id: str, *, deleted: bool = False) -> dict[str, Resource]:
    with db.session() as s:
        q = select(Resource).where(Resource.stack_id == stack_id)
        out = {}
        for r in s.scalars(q.order_by(Resource.created_at)):
            if deleted or r.status != DELETED:
                s.expunge(r)
                out[r.name] = r
        return out


def do_update(db, sid: str, **kw) -> None:
    with db.session() as s:
        update.update(s, Ctx(), s.get(Stack, sid), **kw)


def do_preview(db, sid: str, **kw) -> dict:
    with db.session() as s:
        return update.preview(s, Ctx(), s.get(Stack, sid), **kw)


NAMED = {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "OS::stack_name"}}}
BASE = tpl({"a": test_resource(value="one"), "b": test_resource(value="x"), "c": test_resource(value="keep"),
            "n": NAMED},
           outputs={"a": {"value": {"get_attr": ["a", "output"]}}})


def test_in_place_replace_add_remove_and_preview_writes_nothing(db, worker):
    sid = make(db, "up1", BASE)
    wait(db, sid, "CREATE_COMPLETE")
    before = rows(db, sid)
    new = tpl({"a": test_resource(value="two"), "b": test_resource(value="x", update_replace_value="y"),
               "d": test_resource(value="new"), "n": NAMED},
              outputs={"a": {"value": {"get_attr": ["a", "output"]}}})

    with db.session() as s:
        jobs_before = s.scalar(select(Job.id).order_by(Job.created_at.desc()).limit(1))
    changes = do_preview(db, sid, template=new)
    names = {k: [i["resource_name"] for i in v] for k, v in changes.items()}
    assert names == {"added": ["d"], "deleted": ["c"], "replaced": ["b"], "unchanged": ["n"], "updated": ["a"]}
    upd = changes["updated"][0]
    assert upd["physical_resource_id"] == before["a"].id and upd["resource_status"] == "COMPLETE"
    assert upd["resource_identity"]["path"] == "/resources/a" and upd["resource_type"] == "OS::Heat::TestResource"
    assert changes["replaced"][0]["resource_action"] == "INIT"  # the replacement is not made yet
    with db.session() as s:  # the preview wrote nothing
        assert s.scalar(select(Job.id).order_by(Job.created_at.desc()).limit(1)) == jobs_before
        assert s.get(Stack, sid).stack_status == "CREATE_COMPLETE"
    assert rows(db, sid).keys() == {"a", "b", "c", "n"}

    do_update(db, sid, template=new)
    st = wait(db, sid, "UPDATE_COMPLETE")
    assert st.status_reason == "Stack UPDATE completed successfully" and st.previous == {}
    after = rows(db, sid)
    assert after.keys() == {"a", "b", "d", "n"}
    assert after["n"].properties["value"] == "up1"  # the stack's pseudo parameters, as at create
    assert after["a"].id == before["a"].id and after["a"].properties["value"] == "two"
    assert after["a"].action == "UPDATE" and after["a"].status == ACTIVE
    assert after["b"].id != before["b"].id and after["b"].status == ACTIVE  # replaced: a new physical id
    gone = rows(db, sid, deleted=True)
    with db.session() as s:
        assert s.get(Resource, before["b"].id).status == DELETED
        assert s.get(Resource, before["c"].id).status == DELETED
    assert gone["d"].action == "CREATE"
    assert {o["output_key"]: o["output_value"] for o in st.outputs} == {"a": "two"}
    evs = events(db, sid)
    assert ("up1", "UPDATE_IN_PROGRESS", "Stack UPDATE started") in evs
    assert ("a", "UPDATE_COMPLETE", "state changed") in evs and ("c", "DELETE_COMPLETE", "state changed") in evs


def test_patch_keeps_template_and_parameters_and_immutable_is_refused(db, worker):
    t = tpl({"a": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "p"}}},
             "b": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "q"}}}},
            parameters={"p": {"type": "string", "default": "p0"}, "q": {"type": "string", "default": "q0"},
                        "fixed": {"type": "string", "default": "f", "immutable": True}})
    sid = make(db, "up2", t, parameters={"p": "p1", "q": "q1"})
    wait(db, sid, "CREATE_COMPLETE")
    do_update(db, sid, existing=True, parameters={"p": "p2"})
    wait(db, sid, "UPDATE_COMPLETE")
    got = {n: r.properties["value"] for n, r in rows(db, sid).items()}
    assert got == {"a": "p2", "b": "q1"}  # q kept (PATCH)
    do_update(db, sid, existing=True, clear_parameters=["q"])
    wait(db, sid, "UPDATE_COMPLETE")
    assert rows(db, sid)["b"].properties["value"] == "q0"
    with db.session() as s, pytest.raises(TemplateError, match="fixed are immutable"):
        update.update(s, Ctx(), s.get(Stack, sid), existing=True, parameters={"fixed": "g"})
    # PUT: parameters not given take their defaults
    do_update(db, sid, template=t)
    wait(db, sid, "UPDATE_COMPLETE")
    assert {n: r.properties["value"] for n, r in rows(db, sid).items()} == {"a": "p0", "b": "q0"}


def test_busy_stack_is_409_and_cancel_update_rolls_back(db, worker):
    sid = make(db, "up3", tpl({"a": test_resource(value="one")}))
    wait(db, sid, "CREATE_COMPLETE")
    a0 = rows(db, sid)["a"]
    with db.session() as s, pytest.raises(BadRequest, match="Cancelling update when stack is CREATE_COMPLETE"):
        actions.cancel_update(s, Ctx(), s.get(Stack, sid))
    slow = tpl({"a": test_resource(value="two", action_wait_secs={"update": 60})})
    do_update(db, sid, template=slow)
    with db.session() as s, pytest.raises(Conflict, match="another action is in progress"):
        update.update(s, Ctx(), s.get(Stack, sid), template=slow)
    with db.session() as s:
        actions.cancel_update(s, Ctx(), s.get(Stack, sid))
    st = wait(db, sid, "ROLLBACK_COMPLETE", timeout=60)
    assert st.template["resources"]["a"]["properties"]["value"] == "one"
    a = rows(db, sid)["a"]
    assert a.id == a0.id and a.properties["value"] == "one"
    assert ("up3", "UPDATE_FAILED", "Stack UPDATE cancelled") in events(db, sid)
