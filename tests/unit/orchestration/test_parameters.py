"""Parameters: Heat's types and coercions, defaults, constraints with their paths and
descriptions, hidden, immutable, parameter groups."""

from __future__ import annotations

import pytest

from stratus.orchestration import parameters as params
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template

pytestmark = pytest.mark.orchestration


def tpl(parameters, version="2018-08-31", **extra):
    return Template.from_dict({"heat_template_version": version, "parameters": parameters,
                               "resources": {}, **extra})


@pytest.mark.parametrize(("ptype", "given", "value"), [
    ("number", "5", 5), ("number", "2.5", 2.5), ("number", 7, 7),
    ("boolean", "yes", True), ("boolean", "Off", False), ("boolean", "1", True), ("boolean", False, False),
    ("json", '{"a": [1]}', {"a": [1]}), ("json", {"b": 1}, {"b": 1}), ("json", "[1, 2]", [1, 2]),
    ("comma_delimited_list", "a, b,c", ["a", "b", "c"]), ("comma_delimited_list", ["x", 1], ["x", "1"]),
    ("comma_delimited_list", "", []), ("string", 8080, "8080"), ("string", "s", "s"),
])
def test_types_coerce_as_heat_does(ptype, given, value):
    t = tpl({"p": {"type": ptype}})
    assert t.parameter_values({"p": given}) == {"p": value}


@pytest.mark.parametrize(("ptype", "given", "words"), [
    ("number", "many", "must be a number"), ("number", True, "must be a number"),
    ("boolean", "maybe", "must be a boolean"), ("json", "{nope", "JSON mapping or list"),
    ("json", "5", "JSON mapping or list"), ("string", {"a": 1}, "must be a string"),
])
def test_bad_values_name_the_parameter(ptype, given, words):
    t = tpl({"p": {"type": ptype}})
    with pytest.raises(TemplateError) as exc:
        t.parameter_values({"p": given})
    assert exc.value.path == ("parameters", "p") and words in str(exc.value)


def test_defaults_missing_values_and_unknown_names():
    t = tpl({"a": {"type": "string", "default": "x"}, "b": {"type": "number"}})
    with pytest.raises(TemplateError, match="'b' has no default") as exc:
        t.parameter_values({})
    assert exc.value.path == ("parameters", "b")
    with pytest.raises(TemplateError, match="unknown parameter.*zz"):
        t.parameter_values({"b": 1, "zz": 2})
    assert t.parameter_values({"b": "3"}) == {"a": "x", "b": 3}


@pytest.mark.parametrize(("ptype", "constraint", "good", "bad", "words"), [
    ("string", {"length": {"min": 2, "max": 4}}, "abc", "abcdef", "length must be between 2 and 4"),
    ("comma_delimited_list", {"length": {"min": 2}}, "a,b", "a", "length must be at least 2"),
    ("number", {"range": {"max": 10}}, 10, 11, "value must be at most 10"),
    ("number", {"range": {"min": 1, "max": 10}}, "5", "0", "between 1 and 10"),
    ("number", {"modulo": {"step": 2, "offset": 1}}, 7, 8, "modulo 2 must be 1"),
    ("string", {"allowed_values": ["m1.tiny", "m1.small"]}, "m1.tiny", "m1.huge", "allowed values"),
    ("comma_delimited_list", {"allowed_values": ["a", "b"]}, "a,b", "a,c", "allowed values"),
    ("number", {"allowed_values": [1, 2]}, "2", 3, "allowed values"),
    ("string", {"allowed_pattern": "[a-z]+"}, "abc", "abc1", "must match the pattern"),
    ("string", {"custom_constraint": "ip_addr"}, "10.0.0.1", "10.0.0.300", "not an IP address"),
    ("string", {"custom_constraint": "net_cidr"}, "10.0.0.0/24", "10.0.0.1", "CIDR"),
])
def test_constraints(ptype, constraint, good, bad, words):
    t = tpl({"p": {"type": ptype, "constraints": [constraint]}}, version="2017-02-24")
    t.parameter_values({"p": good})
    with pytest.raises(TemplateError) as exc:
        t.parameter_values({"p": bad})
    assert exc.value.path == ("parameters", "p")
    assert words in str(exc.value)


def test_a_constraint_description_is_the_message_and_hidden_values_are_not_shown():
    t = tpl({"pw": {"type": "string", "hidden": True, "constraints": [
        {"length": {"min": 8}, "description": "Passwords have 8 characters or more."}]}})
    with pytest.raises(TemplateError) as exc:
        t.parameter_values({"pw": "secret"})
    assert "Passwords have 8 characters or more." in str(exc.value)
    assert "secret" not in str(exc.value) and "******" in str(exc.value)
    assert t.hidden_parameters == {"pw"}
    assert t.parameters["pw"].to_heat()["NoEcho"] == "true"


@pytest.mark.parametrize(("raw", "path", "words"), [
    ({"p": {"type": "strng"}}, ("parameters", "p", "type"), "needs a type"),
    ({"p": "string"}, ("parameters", "p"), "must be a mapping"),
    ({"p": {"type": "string", "colour": 1}}, ("parameters", "p"), "unknown key 'colour'"),
    ({"p": {"type": "number", "constraints": [{"length": {"min": 1}}]}},
     ("parameters", "p", "constraints", "0", "length"), "does not apply to a number"),
    ({"p": {"type": "string", "constraints": [{"allowed_pattern": "("}]}},
     ("parameters", "p", "constraints", "0", "allowed_pattern"), "not a valid regular expression"),
    ({"p": {"type": "string", "constraints": [{"custom_constraint": "nova.flavour"}]}},
     ("parameters", "p", "constraints", "0", "custom_constraint"), "unknown custom constraint"),
    ({"p": {"type": "number", "constraints": [{"range": {"min": 5, "max": 1}}]}},
     ("parameters", "p", "constraints", "0", "range"), "greater than max"),
    ({"p": {"type": "number", "default": 50, "constraints": [{"range": {"max": 10}}]}},
     ("parameters", "p"), "at most 10"),
    ({"OS::stack_name": {"type": "string"}}, ("parameters", "OS::stack_name"), "pseudo parameter"),
])
def test_bad_definitions(raw, path, words):
    with pytest.raises(TemplateError) as exc:
        tpl(raw)
    assert exc.value.path == path and words in str(exc.value)


def test_keys_of_later_versions_are_refused_in_earlier_ones():
    with pytest.raises(TemplateError, match="modulo.*2017-02-24"):
        tpl({"p": {"type": "number", "constraints": [{"modulo": {"step": 2, "offset": 0}}]}}, version="2016-10-14")
    assert tpl({"p": {"type": "string", "immutable": True}}, version="2013-05-23").parameters["p"].immutable
    with pytest.raises(TemplateError, match="tags.*2018-03-02"):
        tpl({"p": {"type": "string", "tags": ["x"]}}, version="2017-09-01")
    assert tpl({"p": {"type": "string", "tags": ["role"]}}).parameters["p"].tags == ("role",)


def test_immutable_parameters_cannot_change_on_update():
    t = tpl({"az": {"type": "string", "immutable": True}, "size": {"type": "number"}})
    t.check_parameter_update({"az": "a", "size": 1}, {"az": "a", "size": 2})
    with pytest.raises(TemplateError, match="'?az'? are immutable") as exc:
        t.check_parameter_update({"az": "a", "size": 1}, {"az": "b", "size": 1})
    assert exc.value.path == ("parameters", "az")


def test_parameter_groups_are_validated():
    groups = [{"label": "net", "parameters": ["a"]}, {"label": "size", "description": "d", "parameters": ["b"]}]
    t = tpl({"a": {"type": "string"}, "b": {"type": "string"}}, parameter_groups=groups)
    assert t.parameter_groups == groups
    with pytest.raises(TemplateError, match="does not define") as exc:
        tpl({"a": {"type": "string"}}, parameter_groups=[{"parameters": ["a", "ghost"]}])
    assert exc.value.path == ("parameter_groups", "0", "parameters")
    with pytest.raises(TemplateError, match="one group only") as exc:
        tpl({"a": {"type": "string"}}, parameter_groups=[{"parameters": ["a"]}, {"parameters": ["a"]}])
    assert exc.value.path == ("parameter_groups", "1", "parameters")
    with pytest.raises(TemplateError, match="needs 'parameters'"):
        tpl({}, parameter_groups=[{"label": "x"}])


def test_custom_constraints_needing_the_db_are_skipped_offline_with_a_note():
    t = tpl({"f": {"type": "string", "constraints": [{"custom_constraint": "nova.flavor"}]}})
    assert t.parameter_values({"f": "m1.tiny"}) == {"f": "m1.tiny"}
    assert any("nova.flavor not checked" in n for n in t.notes)


def test_to_heat_shape():
    s = params.parse_schema("n", {"type": "number", "default": 2, "label": "N", "constraints": [
        {"range": {"min": 1, "max": 4}, "description": "1 to 4"}, {"allowed_values": [1, 2]}]}, "2018-08-31")
    assert s.to_heat() == {"Type": "Number", "Description": "", "Label": "N", "NoEcho": "false", "Default": 2,
                           "MinValue": 1, "MaxValue": 4, "AllowedValues": [1, 2],
                           "ConstraintDescription": "1 to 4"}
