"""Nested stacks through the stack engine in process (a real worker and real
ansible-runner jobs on a fresh SQLite database): a ResourceGroup's members are
resources of nested stack rows, a smaller count deletes the highest members, and a
ScalingPolicy's signal grows an AutoScalingGroup through a stack update."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stratus.db.models.jobs import DELETED, Resource
from stratus.db.models.orchestration import Stack
from stratus.orchestration.types.heat_groups import ScalingPolicy, members_of
from stratus.stacks import delete, update
from tests.unit.orchestration import test_stack_engine as engine
from tests.unit.orchestration.test_stack_engine import Ctx, make, tpl, wait

db, worker = engine.db, engine.worker  # the engine tests' fixtures: a fresh database, a real worker

pytestmark = [pytest.mark.orchestration]


def group(count) -> dict:
    return tpl({"group": {"type": "OS::Heat::ResourceGroup", "properties": {
        "count": count, "resource_def": {"type": "OS::Heat::Value", "properties": {"value": "m-%index%"}}}}},
        {"values": {"value": {"get_attr": ["group", "value"]}}})


def live(db, root_id: str) -> dict[str, Resource]:
    with db.session() as s:
        ids = [root_id, *s.scalars(select(Stack.id).where(Stack.parent_id == root_id))]
        rows = {r.name: r for r in s.scalars(select(Resource).where(Resource.stack_id.in_(ids)))
                if r.status != DELETED}
        for r in rows.values():
            s.expunge(r)
        return rows


def test_a_group_shrinks_from_five_to_three_members(db, worker):
    sid = make(db, "g1", group(5))
    st = wait(db, sid, "CREATE_COMPLETE")
    assert {o["output_key"]: o["output_value"] for o in st.outputs}["values"] == [f"m-{i}" for i in range(5)]
    with db.session() as s:
        [child] = s.scalars(select(Stack).where(Stack.parent_id == sid))
        assert child.owner_resource == "group"
        members = {r.name for r in s.scalars(select(Resource).where(Resource.stack_id == child.id))}
    assert members == {f"group.{i}" for i in range(5)}

    with db.session() as s:
        update.update(s, Ctx(), s.get(Stack, sid), template=group(3))
    st = wait(db, sid, "UPDATE_COMPLETE")
    assert sorted(live(db, sid)) == ["group", "group.0", "group.1", "group.2"]
    assert {o["output_key"]: o["output_value"] for o in st.outputs}["values"] == ["m-0", "m-1", "m-2"]
    with db.session() as s:
        delete.delete(s, Ctx(), s.get(Stack, sid))
    wait(db, sid, "DELETE_COMPLETE")
    assert not live(db, sid)


def test_a_scaling_policy_signal_grows_the_autoscaling_group(db, worker):
    sid = make(db, "a1", tpl({
        "asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
            "min_size": 1, "max_size": 3, "resource": {"type": "OS::Heat::Value", "properties": {"value": "x"}}}},
        "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"}, "adjustment_type": "change_in_capacity",
            "scaling_adjustment": 1}}},
        {"size": {"value": {"get_attr": ["asg", "current_size"]}}}))
    st = wait(db, sid, "CREATE_COMPLETE")
    assert {o["output_key"]: o["output_value"] for o in st.outputs}["size"] == 1
    with db.session() as s:
        rows = {r.name: r for r in s.scalars(select(Resource).where(Resource.name.in_(["asg", "up"])))}
        ScalingPolicy.handle_signal(s, rows["up"], {}, None)
        assert s.get(Stack, sid).stack_status == "UPDATE_IN_PROGRESS"
    st = wait(db, sid, "UPDATE_COMPLETE")
    assert {o["output_key"]: o["output_value"] for o in st.outputs}["size"] == 2
    with db.session() as s:
        asg = s.scalars(select(Resource).where(Resource.name == "asg", Resource.stack_id == sid)).one()
        assert sorted(r.name for r in members_of(s, asg)) == ["asg.0", "asg.1"]


def test_a_nested_stack_and_a_template_resource_make_nested_stack_rows(db, worker):
    inner = ("heat_template_version: 2018-08-31\n"
             "parameters: {word: {type: string}}\n"
             "resources: {v: {type: OS::Heat::Value, properties: {value: {get_param: word}}}}\n"
             "outputs: {said: {value: {get_attr: [v, value]}}}\n")
    sid = make(db, "n1", tpl({
        "app": {"type": "OS::Heat::Stack", "properties": {"template": {"get_file": "inner.yaml"},
                                                          "parameters": {"word": "hi"}}},
        "echo": {"type": "My::Echo", "properties": {"word": {"get_attr": ["app", "outputs", "said"]}}}},
        {"said": {"value": {"get_attr": ["echo", "said"]}}}),
        files={"inner.yaml": inner}, environment={"resource_registry": {"My::Echo": "inner.yaml"}})
    st = wait(db, sid, "CREATE_COMPLETE")
    assert {o["output_key"]: o["output_value"] for o in st.outputs}["said"] == "hi"
    with db.session() as s:
        children = {c.owner_resource: c for c in s.scalars(select(Stack).where(Stack.parent_id == sid))}
        assert set(children) == {"app", "echo"}
        assert children["app"].name == "n1-app"  # what get_attr [app, stack_name] gives
        owned = {r.name: r.stack_id for r in s.scalars(select(Resource).where(Resource.name.like("%.v")))}
        assert owned == {"app.v": children["app"].id, "echo.v": children["echo"].id}
        types = {r.name: r.type for r in s.scalars(select(Resource).where(Resource.stack_id == sid))}
        assert types == {"app": "OS::Heat::Stack", "echo": "My::Echo"}
