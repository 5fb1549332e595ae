"""OS::Heat::RandomString and OS::Heat::TestResource: values, waits, failures, replacement."""

from __future__ import annotations

import string

import pytest

from stratus.orchestration import compiler, planner
from stratus.orchestration.errors import TemplateError, UpdateReplace
from stratus.orchestration.template import Template
from stratus.orchestration.types.heat_values import RandomString, TestResource

pytestmark = pytest.mark.orchestration


def plan(resources, **params):
    return planner.plan(Template.from_dict({"heat_template_version": "2018-08-31", "resources": resources}),
                        params)


def test_random_string_honours_classes_sequences_and_length():
    p = plan({"pw": {"type": "OS::Heat::RandomString", "properties": {
        "length": 40,
        "character_classes": [{"class": "digits", "min": 5}, {"class": "uppercase", "min": 3}],
        "character_sequences": [{"sequence": "!@", "min": 2}]}}})
    value = p.resources["pw"].attributes["value"]
    assert len(value) == 40
    assert sum(c in string.digits for c in value) >= 5
    assert sum(c in string.ascii_uppercase for c in value) >= 3
    assert sum(c in "!@" for c in value) >= 2
    assert set(value) <= set(string.digits + string.ascii_uppercase + "!@")


def test_random_string_default_is_32_letters_and_digits_and_differs_each_time():
    values = {plan({"pw": {"type": "OS::Heat::RandomString"}}).resources["pw"].attributes["value"]
              for _ in range(3)}
    assert len(values) == 3
    assert all(len(v) == 32 and v.isalnum() for v in values)


def test_random_string_keeps_a_seeded_value_and_feeds_get_attr():
    p = plan({"pw": {"type": "OS::Heat::RandomString"},
              "v": {"type": "OS::Heat::Value", "properties": {"value": {"get_attr": ["pw", "value"]}}}})
    p.resources["pw"].attributes["value"] = "kept"
    compiler.resolve_properties(p)
    assert p.resources["v"].properties["value"] == "kept"
    with pytest.raises(UpdateReplace):
        RandomString.plan_update(p.resources["pw"], {"salt": "x"})


@pytest.mark.parametrize(("props", "path", "words"), [
    ({"length": 3, "character_classes": [{"class": "digits", "min": 4}]}, "resources.pw.properties",
     "add up to 4"),
    ({"character_classes": [{"class": "emoji"}]}, "resources.pw.properties.character_classes.0.class",
     "unknown character class"),
    ({"character_sequences": [{"min": 1}]}, "resources.pw.properties.character_sequences.0.sequence",
     "required"),
    ({"length": 513}, "resources.pw.properties.length", "at most 512"),
])
def test_random_string_errors_name_the_path(props, path, words):
    with pytest.raises(TemplateError) as err:
        plan({"pw": {"type": "OS::Heat::RandomString", "properties": props}})
    assert ".".join(err.value.path) == path
    assert words in err.value.message


def test_test_resource_waits_and_fails_in_tasks_and_outputs_its_value():
    p = plan({"t": {"type": "OS::Heat::TestResource", "properties": {
        "value": "v1", "wait_secs": 0.2, "action_wait_secs": {"delete": 3}, "fail": True}}})
    res = p.resources["t"]
    assert res.attributes["output"] == "v1"
    create = TestResource.plan_create(res)
    assert [t["name"] for t in create] == ["t: wait create", "t: fail create"]
    assert create[0]["ansible.builtin.wait_for"]["__ansible_unsafe"] == {"timeout": 1}
    assert res.hosts == ["controller"]
    delete = TestResource.plan_delete(res)
    assert [t["name"] for t in delete] == ["t: wait delete"]
    assert delete[0]["ansible.builtin.wait_for"]["__ansible_unsafe"] == {"timeout": 3}


def test_test_resource_update_replace_and_in_place():
    res = plan({"t": {"type": "OS::Heat::TestResource", "properties": {"value": "a"}}}).resources["t"]
    assert TestResource.plan_update(res, {"value": "b"}) == []
    with pytest.raises(UpdateReplace):
        TestResource.plan_update(res, {"update_replace": True})
    with pytest.raises(UpdateReplace):
        TestResource.plan_update(res, {"update_replace_value": "x"})
    with pytest.raises(TemplateError, match="unknown action 'resume'"):
        plan({"t": {"type": "OS::Heat::TestResource", "properties": {"action_wait_secs": {"resume": 1}}}})
