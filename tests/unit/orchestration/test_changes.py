"""The diff of a stack update (stratus.orchestration.changes): added, deleted,
unchanged, updated in place, replaced — and what a replacement does to its dependents."""

from __future__ import annotations

import pytest

from stratus.orchestration import changes, planner
from stratus.orchestration.changes import Current
from stratus.orchestration.resources import PlannedResource
from stratus.orchestration.template import Template

pytestmark = pytest.mark.orchestration


def tpl(resources, **extra):
    return Template.from_dict({"heat_template_version": "2018-08-31", "resources": resources, **extra})


def value(v, **kw):
    return {"type": "OS::Heat::Value", "properties": {"value": v}, **kw}


def task(module="ansible.builtin.debug", args=None):
    return {"type": "Stratus::Ansible::Task", "properties": {"module": module, "args": args or {}}}


def recorded(template: Template, **status) -> dict[str, Current]:
    """The resources ``template`` made, as a stack records them (ACTIVE unless
    ``status`` says otherwise: name -> (status, action))."""
    plan = planner.plan(template)
    out = {}
    for name in plan.order:
        res = plan.resources[name]
        st, action = status.get(name, ("ACTIVE", "CREATE"))
        out[name] = Current(PlannedResource(name, res.type, res.resource_id, changes.jsonable(res.properties),
                                            hosts=["hc1"], attributes=dict(res.attributes), placed=True),
                            st, action)
    return out


def diff(old: Template, new: Template, **status):
    cur = recorded(old, **status)
    return cur, changes.compute(planner.plan(new), cur)


def test_added_deleted_unchanged():
    cur, ch = diff(tpl({"a": value(1), "b": value(2)}), tpl({"a": value(1), "c": value(3)}))
    assert ch.summary() == {"added": ["c"], "deleted": ["b"], "replaced": [], "unchanged": ["a"], "updated": []}
    # a kept resource keeps its id, place and realized facts; an added one has a new id
    assert ch.plan.resources["a"].resource_id == cur["a"].resource.resource_id
    assert ch.plan.resources["a"].hosts == ["hc1"] and ch.plan.resources["a"].placed
    assert ch.items["c"].new_id not in {c.resource.resource_id for c in cur.values()}
    assert ch.items["b"].old_id == cur["b"].resource.resource_id and ch.items["b"].new_id is None


def test_update_allowed_property_is_updated_in_place():
    cur, ch = diff(tpl({"a": value("x")}), tpl({"a": value("y")}))
    assert ch.names("updated") == ["a"]
    assert ch.items["a"].prop_diff == {"value": "y"}
    assert ch.items["a"].new_id == ch.items["a"].old_id == cur["a"].resource.resource_id


def test_property_not_update_allowed_replaces():
    cur, ch = diff(tpl({"t": task("ansible.builtin.debug")}), tpl({"t": task("ansible.builtin.ping")}))
    assert ch.names("replaced") == ["t"]
    item = ch.items["t"]
    assert "module cannot change in place" in item.reason
    assert item.old_id == cur["t"].resource.resource_id and item.new_id != item.old_id
    assert ch.plan.resources["t"].resource_id == item.new_id
    assert ch.plan.resources["t"].placed is False  # a new resource is placed anew
    assert ch.removed == ["t"] and ch.made == ["t"]


def test_update_allowed_property_of_the_same_type_is_in_place():
    _, ch = diff(tpl({"t": task(args={"msg": "a"})}), tpl({"t": task(args={"msg": "b"})}))
    assert ch.names("updated") == ["t"]


def test_type_change_replaces():
    _, ch = diff(tpl({"a": value(1)}), tpl({"a": {"type": "OS::Heat::None", "properties": {"value": 1}}}))
    assert ch.names("replaced") == ["a"]
    assert "type changes from OS::Heat::Value to OS::Heat::None" in ch.items["a"].reason


@pytest.mark.parametrize(("action", "words"), [("CREATE", "CREATE_FAILED"), ("CHECK", "marked unhealthy")])
def test_failed_or_unhealthy_resource_is_replaced_even_unchanged(action, words):
    _, ch = diff(tpl({"a": value(1), "b": value(2)}), tpl({"a": value(1), "b": value(2)}), a=("ERROR", action))
    assert ch.summary()["replaced"] == ["a"] and ch.summary()["unchanged"] == ["b"]
    assert words in ch.items["a"].reason


def test_replacement_reaches_dependents_through_their_properties():
    old = tpl({"t": task("ansible.builtin.debug"), "v": value({"get_resource": "t"}), "w": value(5)})
    new = tpl({"t": task("ansible.builtin.ping"), "v": value({"get_resource": "t"}), "w": value(5)})
    cur, ch = diff(old, new)
    assert ch.summary()["replaced"] == ["t"]
    assert ch.summary()["updated"] == ["v"]  # its value is t's id, and t's id changes
    assert ch.plan.resources["v"].properties["value"] == ch.items["t"].new_id
    assert ch.summary()["unchanged"] == ["w"]


def test_kept_dependency_resolves_to_its_recorded_id():
    old = tpl({"a": value(1), "v": value({"get_resource": "a"})})
    cur, ch = diff(old, tpl({"a": value(2), "v": value({"get_resource": "a"})}))
    assert ch.summary()["updated"] == ["a"] and ch.summary()["unchanged"] == ["v"]


def test_forced_replacement():
    cur = recorded(tpl({"a": value(1)}))
    ch = changes.compute(planner.plan(tpl({"a": value(2)})), cur, replace=["a"])
    assert ch.names("replaced") == ["a"]


def test_group_shrinking_is_deletes():
    members = {f"group.{i}": value(i) for i in range(5)}
    kept = {f"group.{i}": value(i) for i in range(3)}
    _, ch = diff(tpl(members), tpl(kept))
    assert sorted(ch.names("deleted")) == ["group.3", "group.4"]
    assert sorted(ch.names("unchanged")) == ["group.0", "group.1", "group.2"]


def test_test_resource_update_replace_is_decided_by_its_plan_update():
    def test_resource(**props):
        return {"type": "OS::Heat::TestResource", "properties": props}

    old = tpl({"a": test_resource(value="x"), "b": test_resource(value="x")})
    new = tpl({"a": test_resource(value="y"), "b": test_resource(value="y", update_replace=True)})
    _, ch = diff(old, new)
    assert ch.summary()["updated"] == ["a"] and ch.summary()["replaced"] == ["b"]
    assert "update_replace cannot change in place" in ch.items["b"].reason
