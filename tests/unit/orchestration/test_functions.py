"""Intrinsic functions, the core: parsing with a table, paths in errors, references
(get_param/get_resource/get_attr/get_file), conditions, and run-time values that stay
data when Ansible renders them."""

from __future__ import annotations

import pytest

from stratus.orchestration import functions
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import (  # the names other modules import
    Expr,
    GetAttr,
    GetParam,
    GetResource,
    ListJoin,
    _dig,
    dependencies,
    jinja_literal,
    parse,
    resolve,
    walk,
)
from tests.unit.orchestration._functions_ctx import Ctx, render, run, template

pytestmark = pytest.mark.orchestration

EVIL = "{{ lookup('pipe', 'id') }}"


def test_parse_makes_objects_walk_finds_them_and_dependencies_are_resources():
    tree = parse({"a": [{"get_param": "p"}, {"get_attr": ["srv", "first_address"]}],
                  "b": {"list_join": [",", [{"get_resource": "net"}]]}}, ("resources", "r", "properties"))
    kinds = sorted(type(f).__name__ for f in walk(tree))
    assert kinds == ["GetAttr", "GetParam", "GetResource", "ListJoin"]
    assert dependencies(tree) == {"srv", "net"}
    getattr_fn = tree["a"][1]
    assert isinstance(getattr_fn, GetAttr) and getattr_fn.path == ("resources", "r", "properties", "a", "1", "get_attr")
    assert isinstance(tree["a"][0], GetParam) and isinstance(tree["b"], ListJoin)
    assert isinstance(tree["b"].args[1][0], GetResource)


def test_a_mapping_with_more_keys_is_data():
    tree = parse({"get_param": "p", "other": 1})
    assert tree == {"get_param": "p", "other": 1}
    assert resolve(tree, Ctx()) == tree


@pytest.mark.parametrize(("snippet", "path", "words"), [
    ({"get_param": []}, ("x", "get_param"), "takes a parameter name"),
    ({"get_param": ["p", {"k": 1}]}, ("x", "get_param"), "path items"),
    ({"get_resource": ["a"]}, ("x", "get_resource"), "a resource name"),
    ({"get_attr": "srv"}, ("x", "get_attr"), "[resource_name]"),
    ({"get_attr": []}, ("x", "get_attr"), "get_attr takes"),
    ({"get_file": ["a"]}, ("x", "get_file"), "file name"),
    ({"get_file": "missing.sh"}, ("x", "get_file"), "no file 'missing.sh'"),
])
def test_bad_arguments_name_the_path_and_the_shape(snippet, path, words):
    with pytest.raises(TemplateError) as exc:
        parse(snippet, ("x",), files={})
    assert exc.value.path == path
    assert words in exc.value.message


def test_get_param_with_a_path_and_pseudo_parameters():
    ctx = Ctx({"cfg": {"a": [10, 20]}, "OS::stack_name": "s1"})
    assert run({"get_param": ["cfg", "a", 1]}, ctx) == 20
    assert run({"get_param": ["cfg", "a", "0"]}, ctx) == 10
    tpl = template(parameters=["cfg"])
    assert run({"get_param": "OS::stack_name"}, ctx, tpl=tpl) == "s1"
    with pytest.raises(TemplateError, match="parameter 'nope' is not defined"):
        run({"get_param": "nope"}, ctx, tpl=tpl)
    with pytest.raises(TemplateError, match="no element 'b'"):
        run({"get_param": ["cfg", "b"]}, ctx)


def test_get_resource_and_get_attr_of_an_inactive_resource_are_none():
    ctx = Ctx(attrs={"srv": {"name": "web"}}, inactive={"srv"})
    assert run({"get_resource": "srv"}, ctx) is None
    assert run({"get_attr": ["srv", "name"]}, ctx) is None
    assert run({"get_resource": "net"}, ctx) == "id-net"
    with pytest.raises(TemplateError, match="'ghost', which is not a resource"):
        run({"get_resource": "ghost"}, tpl=template(resources=["net"]))


def test_get_attr_paths_and_the_all_attributes_form_by_version():
    ctx = Ctx(attrs={"srv": {"networks": {"private": ["10.0.0.5"]}, "name": "web"}})
    assert run({"get_attr": ["srv", "networks", "private", 0]}, ctx) == "10.0.0.5"
    assert run({"get_attr": ["srv"]}, ctx) == {"networks": {"private": ["10.0.0.5"]}, "name": "web"}
    assert run({"get_attr": ["srv", "name"]}, ctx, version="2013-05-23") == "web"
    with pytest.raises(TemplateError, match="needs heat_template_version 2015-10-15") as exc:
        run({"get_attr": ["srv"]}, ctx, version="2014-10-16")
    assert exc.value.path == ("x", "get_attr")


def test_get_attr_path_into_a_run_time_attribute_stays_an_expression():
    ctx = Ctx(runtime={"srv"})
    e = run({"get_attr": ["srv", "networks", "private", 0]}, ctx)
    assert isinstance(e, Expr)
    assert render(e, {"srv": {"networks": {"private": ["10.1.1.1"]}}}) == "10.1.1.1"


def test_get_file_is_resolved_when_parsed():
    tree = parse({"user_data": {"get_file": "boot.sh"}}, ("r",), files={"boot.sh": "#!/bin/sh\necho {{ x }}"})
    assert tree == {"user_data": "#!/bin/sh\necho {{ x }}"}
    assert list(walk(tree)) == []


def test_dig_reports_the_missing_key():
    assert _dig({"a": [1, 2]}, ["a", 1], ()) == 2
    with pytest.raises(TemplateError, match="no element 5"):
        _dig([1], [5], ("p",))


# ----------------------------------------------------------------- conditions
def conds(raw: dict, **params) -> dict:
    parsed = {k: functions.parse_condition(v, ("conditions", k)) for k, v in raw.items()}
    return functions.evaluate_conditions(parsed, Ctx(params))


def test_conditions_evaluate_with_references_between_them():
    out = conds({
        "prod": {"equals": [{"get_param": "env"}, "prod"]},
        "not_prod": {"not": "prod"},
        "big": {"and": ["prod", {"or": [False, {"equals": [{"get_param": "n"}, 3]}]}]},
        "always": True,
        "has_b": {"contains": ["b", {"get_param": "l"}]},
    }, env="prod", n=3, l=["a", "b"])
    assert out == {"prod": True, "not_prod": False, "big": True, "always": True, "has_b": True}


@pytest.mark.parametrize(("raw", "words"), [
    ({"a": {"not": "a"}}, "circular reference between conditions: a -> a"),
    ({"a": {"not": "ghost"}}, "'ghost' is not defined"),
    ({"a": {"get_attr": ["srv", "x"]}}, "cannot be used in a condition"),
    ({"a": {"and": ["b"]}, "b": True}, "at least 2 conditions"),
    ({"a": {"equals": [1]}}, "equals takes [value_1, value_2]"),
    ({"a": {"get_param": "env"}}, "must evaluate to true or false, not 'dev'"),
    ({"a": "b", "b": True}, "the definition of the condition 'a' is invalid"),
])
def test_bad_conditions_are_refused(raw, words):
    with pytest.raises(TemplateError) as exc:
        conds(raw, env="dev")
    assert words in exc.value.message
    assert exc.value.path[0] == "conditions"


def test_if_picks_a_branch_by_condition_name_or_inline_condition():
    ctx = Ctx({"env": "prod"}, conditions={"prod": True, "dev": False})
    assert run({"if": ["prod", "big", "small"]}, ctx) == "big"
    assert run({"if": ["dev", "big", {"get_param": "env"}]}, ctx) == "prod"
    assert run({"if": [{"equals": [{"get_param": "env"}, "dev"]}, 1, 2]}, ctx) == 2
    assert run({"if": [{"not": "dev"}, 1, 2]}, ctx) == 1


def test_if_only_names_conditions_of_the_conditions_section():
    with pytest.raises(TemplateError) as exc:
        run({"if": ["nope", 1, 2]}, Ctx(), tpl=template(conditions=["prod"]), path=("outputs", "o", "value"))
    assert exc.value.path == ("outputs", "o", "value", "if", "0")
    assert "condition 'nope', which is not defined" in exc.value.message
    with pytest.raises(TemplateError, match="cannot be used in a condition"):
        parse({"if": [{"get_resource": "x"}, 1, 2]})


def test_if_without_false_branch_leaves_the_item_out_in_2021_04_16_only():
    ctx = Ctx(conditions={"on": True, "off": False})
    out = run({"name": "n", "extra": {"if": ["off", "x"]}, "list": [1, {"if": ["off", 2]}, {"if": ["on", 3]}]}, ctx)
    assert out == {"name": "n", "list": [1, 3]}
    assert run({"if": ["off", "x"]}, ctx) is None  # an output's whole value
    assert run({"if": ["on", {"if": ["off", 1]}, 2]}, ctx) is None
    with pytest.raises(TemplateError, match=r"if takes \[condition, value_if_true, value_if_false\]$"):
        run({"if": ["on", 1]}, ctx, version="2018-08-31")


def test_if_is_refused_before_2016_10_14():
    with pytest.raises(TemplateError) as exc:
        run({"if": ["c", 1, 2]}, version="2016-04-08", path=("resources", "web", "properties", "name"))
    assert exc.value.path == ("resources", "web", "properties", "name", "if")
    assert "needs heat_template_version 2016-10-14 or later; this template is 2016-04-08" in exc.value.message


def test_condition_functions_are_not_resource_functions():
    with pytest.raises(TemplateError, match="equals is a condition function"):
        run({"equals": [1, 1]})


# ----------------------------------------------------------------- run-time values stay data
def test_jinja_literal_round_trips_any_text_through_ansible():
    for text in ["plain", 'say "hi"', "back\\slash\\", "é\r\n\t", EVIL, "{% raw %}{#", "'"]:
        assert render("{{ " + jinja_literal(text) + " }}", {}) == text


def test_user_text_next_to_run_time_values_is_never_templated():
    ctx = Ctx({"evil": EVIL}, runtime={"srv"})
    e = run({"str_replace": {"template": EVIL + " IP " + '"quoted" \\',
                             "params": {"IP": {"get_attr": ["srv", "ip"]}}}}, ctx)
    assert isinstance(e, Expr)
    assert render(e, {"srv": {"ip": "10.0.0.9"}}) == EVIL + " 10.0.0.9 " + '"quoted" \\'
    joined = run({"list_join": [EVIL, [{"get_param": "evil"}, {"get_attr": ["srv", "ip"]}]]}, ctx)
    assert render(joined, {"srv": {"ip": "1.2.3.4"}}) == EVIL + EVIL + "1.2.3.4"
