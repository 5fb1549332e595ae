"""Each template version's function table as Heat has it, the API's descriptions, the
CloudFormation functions, and functions through the planner and compiler."""

from __future__ import annotations

import datetime

import pytest
import yaml

from stratus.orchestration import compiler, functions, hot_versions, planner
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import Expr
from stratus.orchestration.resources import register_var
from stratus.orchestration.template import Template
from tests.unit.orchestration._functions_ctx import Ctx, render, run, template

pytestmark = pytest.mark.orchestration

# Heat's tables (heat/engine/hot/template.py), without the names Heat marks Removed.
HEAT_2013 = {"Fn::GetAZs", "get_param", "get_resource", "Ref", "get_attr", "Fn::Select", "Fn::Join",
             "list_join", "Fn::Split", "str_replace", "Fn::Replace", "Fn::Base64", "resource_facade", "get_file"}
HEAT_2014 = {"get_attr", "get_file", "get_param", "get_resource", "list_join", "resource_facade",
             "str_replace", "Fn::Select"}
HEAT_2015_04 = HEAT_2014 | {"repeat", "digest"}
HEAT_2015_10 = HEAT_2015_04 - {"Fn::Select"} | {"str_split"}
HEAT_2016_04 = HEAT_2015_10 | {"map_merge"}
HEAT_2016_10 = HEAT_2016_04 | {"yaql", "map_replace", "if"}
HEAT_2017_02 = HEAT_2016_10 | {"filter", "str_replace_strict"}
HEAT_2017_09 = HEAT_2017_02 | {"make_url", "list_concat", "str_replace_vstrict", "list_concat_unique", "contains"}


@pytest.mark.parametrize(("version", "names"), [
    ("2013-05-23", HEAT_2013), ("2014-10-16", HEAT_2014), ("2015-04-30", HEAT_2015_04),
    ("2015-10-15", HEAT_2015_10), ("2016-04-08", HEAT_2016_04), ("2016-10-14", HEAT_2016_10),
    ("newton", HEAT_2016_10), ("2017-02-24", HEAT_2017_02), ("ocata", HEAT_2017_02),
    ("2017-09-01", HEAT_2017_09), ("pike", HEAT_2017_09), ("queens", HEAT_2017_09),
    ("rocky", HEAT_2017_09), ("2021-04-16", HEAT_2017_09), ("heat_template_version.wallaby", HEAT_2017_09),
])
def test_each_version_has_heats_functions(version, names):
    assert set(hot_versions.function_table(version)) == names


def test_condition_tables():
    assert set(hot_versions.condition_table("2016-10-14")) == {"get_param", "equals", "not", "and", "or"}
    assert set(hot_versions.condition_table("pike")) == {"get_param", "equals", "not", "and", "or",
                                                          "yaql", "contains"}
    assert set(hot_versions.condition_table("2015-10-15")) == set()
    assert set(hot_versions.condition_table(hot_versions.CFN)) == {
        "Fn::Equals", "Ref", "Fn::FindInMap", "Fn::Not", "Fn::And", "Fn::Or"}
    with pytest.raises(TemplateError, match="has no conditions; they need heat_template_version 2016-10-14"):
        functions.parse_condition({"get_param": "x"}, ("conditions", "c"), version="2016-04-08")


def test_versions_accept_dates_aliases_long_forms_and_yaml_dates():
    assert hot_versions.canonical("wallaby") == "2021-04-16"
    assert hot_versions.canonical(datetime.date(2016, 10, 14)) == "2016-10-14"
    assert hot_versions.canonical("heat_template_version.2013-05-23") == "2013-05-23"
    assert hot_versions.canonical("AWSTemplateFormatVersion.2010-09-09") == hot_versions.CFN
    with pytest.raises(TemplateError, match="'2012-01-01' is not supported; use one of 2013-05-23"):
        hot_versions.canonical("2012-01-01")
    assert hot_versions.hot_version(datetime.date(2018, 8, 31)) == "2018-08-31"
    assert hot_versions.hot_version("queens") == "2018-03-02"
    with pytest.raises(TemplateError) as exc:
        hot_versions.hot_version(hot_versions.CFN)
    assert exc.value.path == ("heat_template_version",)


def test_describe_for_the_api():
    funcs = hot_versions.describe("2016-10-14")
    names = [f["functions"] for f in funcs]
    assert set(names) == HEAT_2016_10 and all(f["description"] for f in funcs)
    with_cond = {f["functions"] for f in hot_versions.describe("2016-10-14", conditions=True)}
    assert with_cond == HEAT_2016_10 | {"equals", "not", "and", "or"}
    versions = {v["version"]: v for v in hot_versions.template_versions()}
    assert versions["heat_template_version.2016-10-14"]["aliases"] == ["heat_template_version.newton"]
    assert versions["AWSTemplateFormatVersion.2010-09-09"]["type"] == "cfn"


@pytest.mark.parametrize(("version", "fn", "words"), [
    ("2016-10-14", "Fn::Join", "not supported in heat_template_version 2016-10-14; use list_join"),
    ("2015-10-15", "Fn::Select", "not supported in heat_template_version 2015-10-15"),
    ("2014-10-16", "Ref", "use get_resource for a resource's id or get_param"),
    ("2016-04-08", "if", "needs heat_template_version 2016-10-14 or later"),
    ("2017-02-24", "make_url", "needs heat_template_version 2017-09-01 or later"),
    ("2015-04-30", "map_merge", "needs heat_template_version 2016-04-08 or later"),
    (hot_versions.CFN, "get_param", "a CloudFormation template uses Ref"),
])
def test_functions_of_other_versions_are_refused_with_the_version_they_need(version, fn, words):
    with pytest.raises(TemplateError) as exc:
        run({fn: "x"}, version=version, path=("resources", "r", "properties", "p"))
    assert exc.value.path == ("resources", "r", "properties", "p", fn)
    assert words in exc.value.message


# ----------------------------------------------------------------- CloudFormation
CFN = hot_versions.CFN


def test_cfn_ref_is_a_resource_id_or_a_parameter():
    tpl = template(parameters=["Size"], resources=["Vol"])
    ctx = Ctx({"Size": 5, "AWS::StackName": "s"})
    tree = functions.parse({"a": {"Ref": "Size"}, "b": {"Ref": "Vol"}, "c": {"Ref": "AWS::StackName"}},
                           ("Resources",), table=hot_versions.function_table(CFN))
    for fn in functions.walk(tree):
        fn.validate(tpl)
    assert functions.dependencies(tree) == {"Vol"}
    assert functions.resolve(tree, ctx) == {"a": 5, "b": "id-Vol", "c": "s"}
    with pytest.raises(TemplateError, match="'Nope' is neither a parameter nor a resource"):
        run({"Ref": "Nope"}, version=CFN, tpl=tpl)


def test_cfn_functions():
    ctx = Ctx(attrs={"Srv": {"PublicIp": "1.2.3.4"}})
    assert run({"Fn::GetAtt": ["Srv", "PublicIp"]}, ctx, version=CFN) == "1.2.3.4"
    assert run({"Fn::Join": ["-", ["a", "b"]]}, version=CFN) == "a-b"
    assert run({"Fn::Base64": "#!/bin/sh"}, version=CFN) == "#!/bin/sh"
    assert run({"Fn::Select": ["1", ["a", "b"]]}, version=CFN) == "b"
    assert run({"Fn::Select": [5, ["a"]]}, version=CFN) == ""
    assert run({"Fn::Select": ["k", {"k": "v"}]}, version=CFN) == "v"
    assert run({"Fn::Split": [",", "a,b"]}, version=CFN) == ["a", "b"]
    assert run({"Fn::Replace": [{"$x": "1"}, "v=$x"]}, version=CFN) == "v=1"
    assert run({"Fn::GetAZs": ""}, version=CFN) == ["nova"]
    maps = template(mappings={"Region": {"RegionOne": {"Image": "cirros"}}})
    assert run({"Fn::FindInMap": ["Region", "RegionOne", "Image"]}, version=CFN, tpl=maps) == "cirros"
    with pytest.raises(TemplateError, match="no entry 'RegionTwo'/'Image'"):
        run({"Fn::FindInMap": ["Region", "RegionTwo", "Image"]}, version=CFN, tpl=maps)
    with pytest.raises(TemplateError, match=r"Fn::GetAtt takes \[resource_name, attribute_name\]"):
        run({"Fn::GetAtt": ["Srv", "a", "b"]}, version=CFN)


def test_cfn_conditions_and_if():
    parsed = {
        "Prod": functions.parse_condition({"Fn::Equals": [{"Ref": "Env"}, "prod"]}, ("Conditions", "Prod"), CFN),
        "Dev": functions.parse_condition({"Fn::Not": ["Prod"]}, ("Conditions", "Dev"), CFN),
        "Both": functions.parse_condition({"Fn::Or": ["Prod", "Dev"]}, ("Conditions", "Both"), CFN),
    }
    values = functions.evaluate_conditions(parsed, Ctx({"Env": "prod"}))
    assert values == {"Prod": True, "Dev": False, "Both": True}
    assert run({"Fn::If": ["Dev", "small", "big"]}, Ctx(conditions=values), version=CFN) == "big"


def test_early_hot_keeps_the_fn_names():
    assert run({"Fn::Join": [",", ["a", "b"]]}, version="2013-05-23") == "a,b"
    assert run({"Fn::Select": [0, ["a"]]}, version="2014-10-16") == "a"


# ----------------------------------------------------------------- through the compiler
TEMPLATE = """\
heat_template_version: 2021-04-16
parameters:
  who: {type: string, default: "{{ lookup('pipe', 'id') }}"}
resources:
  folder:
    type: Stratus::Ansible::Task
    properties:
      module: ansible.builtin.file
      args: {path: /tmp/x, state: directory}
  note:
    type: Stratus::Ansible::Task
    properties:
      module: ansible.builtin.copy
      args:
        dest:
          str_replace:
            template: DIR/WHO.txt
            params: {DIR: {get_attr: [folder, result, path]}, WHO: {get_param: who}}
        content: {list_join: [" ", [hello, {get_param: who}]]}
outputs:
  where: {value: {get_attr: [folder, result, path]}}
  gone: {value: {get_resource: folder}}
"""


def test_functions_through_the_planner_and_compiler_keep_user_text_data():
    plan = planner.plan(Template.from_dict(yaml.safe_load(TEMPLATE)))
    args = plan.resources["note"].properties["args"]
    evil = "{{ lookup('pipe', 'id') }}"
    assert args["content"] == "hello " + evil and not isinstance(args["content"], Expr)
    dest = args["dest"]
    assert isinstance(dest, Expr)
    # as Ansible renders it on the host: the folder's registered result, the user's text
    hostvars = {"h1": {register_var("folder"): {"path": "/srv/data"}}}
    assert render(dest, hostvars, groups={"controller": ["h1"]}) == "/srv/data/" + evil + ".txt"


def test_the_compilers_context_knows_conditions_and_active_resources():
    plan = planner.plan(Template.from_dict(yaml.safe_load(TEMPLATE)))
    ctx = compiler._Context(plan)
    assert ctx.resource_active("folder") and not ctx.resource_active("ghost")
    with pytest.raises(TemplateError, match="condition 'on' is not defined"):
        ctx.condition("on")
    plan.conditions = {"on": True}
    assert ctx.condition("on") is True
    assert set(ctx.attribute("folder", None, [])) == {"result", "changed", "show"} & set(
        plan.template.resources["folder"].type_class.attributes_schema)
    plan.resources.pop("folder")  # as the planner leaves out a resource whose condition is false
    outputs = compiler.compile_outputs(plan)
    assert outputs == {"where": None, "gone": None}
