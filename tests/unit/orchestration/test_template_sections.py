"""Template sections: versions, resource keys (policies, metadata, external_id,
condition), outputs, conditions, template resources, files and pseudo parameters."""

from __future__ import annotations

import importlib.util

import pytest

from stratus.orchestration import planner
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template

pytestmark = pytest.mark.orchestration
needs_tables = pytest.mark.skipif(importlib.util.find_spec("stratus.orchestration.hot_versions") is None,
                                  reason="the per-version function tables (H1) are not merged yet")


def tpl(resources, version="2018-08-31", **extra):
    return {"heat_template_version": version, "resources": resources, **extra}


def value(v="x", **kw):
    return {"type": "OS::Heat::Value", "properties": {"value": v}, **kw}


def error(raw, **kw) -> TemplateError:
    with pytest.raises(TemplateError) as exc:
        Template.from_dict(raw, **kw)
    return exc.value


@pytest.mark.parametrize("version", ["2013-05-23", "2015-10-15", "2016-10-14", "2021-04-16", "newton", "wallaby"])
def test_every_version_and_alias_loads(version):
    t = Template.from_dict(tpl({"v": value()}, version=version))
    assert t.version[:2] == "20" and t.version_name.startswith("heat_template_version.")


def test_unquoted_dates_from_yaml_are_versions():
    import datetime

    assert Template.from_dict(tpl({}, version=datetime.date(2016, 10, 14))).version == "2016-10-14"


def test_resource_keys_are_recorded():
    t = Template.from_dict(tpl({
        "a": value(metadata={"role": "db"}, deletion_policy="Retain", description="the a",
                   external_id="1234", depends_on="b"),
        "b": value(deletion_policy="delete"),
    }))
    a = t.resources["a"]
    assert (a.metadata, a.deletion_policy, a.description, a.external_id, a.depends_on) == (
        {"role": "db"}, "Retain", "the a", "1234", ["b"])
    assert t.resources["b"].deletion_policy == "Delete"


@pytest.mark.parametrize(("raw", "path", "words"), [
    (tpl({"a": value(deletion_policy="Keep")}), ("resources", "a", "deletion_policy"), "not one of Delete"),
    (tpl({"a": value(deletion_policy="Snapshot")}), ("resources", "a", "deletion_policy"),
     "OS::Heat::Value cannot be snapshotted"),
    (tpl({"a": value(update_policy={"batch": 1})}), ("resources", "a", "update_policy"), "takes no update_policy"),
    (tpl({"a": value(update_policy=[1])}), ("resources", "a", "update_policy"), "must be a mapping"),
    (tpl({"a": value(metadata="m")}), ("resources", "a", "metadata"), "must be a mapping"),
    (tpl({"a": value(external_id=5)}), ("resources", "a", "external_id"), "must be the id"),
    (tpl({"a": value(condition="c")}, version="2015-10-15"), ("resources", "a"), "2016-10-14 or later"),
    (tpl({"a": value(condition="nope")}), ("resources", "a", "condition"), "condition 'nope' is not defined"),
    (tpl({"a": value(colour=1)}), ("resources", "a"), "unknown key(s) colour"),
    (tpl({}, conditions={}, version="2016-04-08"), (), "conditions need heat_template_version 2016-10-14"),
    (tpl({"a": value(depends_on="a")}), ("resources", "a", "depends_on"), "itself"),
    (tpl({"a": value()}, outputs={"o": {"value": 1, "colour": 2}}), ("outputs", "o"), "unknown key(s) colour"),
    (tpl({"a": value()}, outputs={"o": {"value": 1, "condition": "x"}}), ("outputs", "o", "condition"),
     "not defined"),
    ({"resources": {}}, ("heat_template_version",), "no heat_template_version"),
    (tpl({"a/b": value()}), ("resources", "a/b"), "without '/'"),
])
def test_refused_constructs_name_their_path(raw, path, words):
    exc = error(raw)
    assert exc.path == path, str(exc)
    assert words in str(exc)


def test_snapshot_policy_is_allowed_for_volumes():
    t = Template.from_dict(tpl({"v": {"type": "OS::Cinder::Volume", "properties": {"size": 1},
                                      "deletion_policy": "Snapshot"}}))
    assert t.resources["v"].deletion_policy == "Snapshot"


def test_unknown_types_name_the_type_and_similar_ones():
    exc = error(tpl({"db": {"type": "OS::Trove::Instance", "properties": {}}}))
    assert exc.path == ("resources", "db", "type")
    assert "'OS::Trove::Instance'" in str(exc) and "does not provide" in str(exc)
    exc = error(tpl({"s": {"type": "OS::Nova::Sever"}}))
    assert "similar types: OS::Nova::Server" in str(exc)


def test_properties_constraints_and_required_properties():
    exc = error(tpl({"v": {"type": "OS::Cinder::Volume", "properties": {"size": 0}}}))
    assert exc.path == ("resources", "v", "properties", "size") and ">= 1" in str(exc)
    exc = error(tpl({"s": {"type": "OS::Nova::Server", "properties": {"image": "i"}}}))
    assert exc.path == ("resources", "s", "properties") and "'flavor' is required" in str(exc)


def test_environment_aliases_and_template_resources(tmp_path):
    env = {"resource_registry": {"My::Value": "OS::Heat::Value", "My::Server": "server.yaml",
                                 "resources": {"special": {"OS::Heat::Value": "OS::Heat::None"}}}}
    t = Template.from_dict(tpl({"a": {"type": "My::Value", "properties": {"value": 1}},
                                "b": {"type": "My::Server", "properties": {"anything": 1}},
                                "special": {"type": "OS::Heat::Value", "properties": {"other": 2}}}),
                           environment=env, files={"server.yaml": "heat_template_version: 2018-08-31\n"})
    assert t.resources["a"].type_class.type_name == "OS::Heat::Value"
    assert t.resources["b"].is_template_resource and t.resources["b"].effective_type == "server.yaml"
    assert t.resources["special"].type_class.type_name == "OS::Heat::None"
    exc = error(tpl({"b": {"type": "My::Server"}}), environment=env, files={"other.yaml": ""})
    assert exc.path == ("resources", "b", "type") and "'server.yaml' was not given" in str(exc)


def test_load_reads_files_beside_the_template_and_refuses_others(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "nested.yaml").write_text("heat_template_version: 2018-08-31\nresources: {}\n")
    (tmp_path / "secret").write_text("s")
    main = tmp_path / "t" / "main.yaml"
    main.write_text("heat_template_version: 2018-08-31\nresources:\n  n: {type: nested.yaml}\n")
    t = Template.load(main)
    assert "nested.yaml" in t.files and t.resources["n"].is_template_resource
    main.write_text("heat_template_version: 2018-08-31\nresources:\n"
                    "  v: {type: OS::Heat::Value, properties: {value: {get_file: ../secret}}}\n")
    with pytest.raises(TemplateError, match="outside the template's directory") as exc:
        Template.load(main)
    assert exc.value.path == ("resources", "v", "properties", "value")
    with pytest.raises(TemplateError, match="cannot read the template"):
        Template.load(tmp_path / "missing.yaml")


def test_pseudo_parameters_come_from_the_stack():
    t = Template.from_dict(tpl({"v": value({"list_join": ["/", [{"get_param": "OS::stack_name"},
                                                              {"get_param": "OS::stack_id"},
                                                              {"get_param": "OS::project_id"}]]})}))
    p = planner.plan(t, {}, stack={"name": "web", "id": "sid", "project_id": "pid"})
    assert p.resources["v"].attributes["value"] == "web/sid/pid"
    offline = planner.plan(t, {})
    assert offline.resources["v"].attributes["value"] == f"stack/{planner.OFFLINE_STACK_ID}/"
    with pytest.raises(TemplateError, match="pseudo parameter"):
        planner.plan(t, {"OS::stack_name": "x"})


@needs_tables
def test_conditions_leave_resources_and_outputs_out_of_the_plan():
    t = Template.from_dict(tpl(
        {"always": value(), "prod_only": value("p", condition="prod"), "dev_only": value("d", condition="dev"),
         "uses": value({"if": ["prod", {"get_resource": "prod_only"}, "none"]})},
        parameters={"env": {"type": "string", "default": "dev", "constraints": [{"allowed_values": ["dev", "prod"]}]}},
        conditions={"prod": {"equals": [{"get_param": "env"}, "prod"]}, "dev": {"not": "prod"}},
        outputs={"p": {"value": {"get_attr": ["prod_only", "value"]}, "condition": "prod"},
                 "always": {"value": "a", "description": "d"}},
    ))
    dev = planner.plan(t, {})
    assert dev.conditions == {"prod": False, "dev": True}
    assert sorted(dev.order) == ["always", "dev_only", "uses"]
    assert set(dev.template.outputs) == {"always"}
    assert dev.resources["uses"].attributes["value"] == "none"
    prod = planner.plan(t, {"env": "prod"})
    assert sorted(prod.order) == ["always", "prod_only", "uses"]
    assert prod.order.index("prod_only") < prod.order.index("uses")
    assert t.active_resources({"env": "prod"}) == ["always", "prod_only", "uses"]


@needs_tables
def test_functions_follow_the_version():
    exc = error(tpl({"v": value({"str_split": [",", "a,b"]})}, version="2015-04-30"))
    assert "str_split" in str(exc) and exc.path[:3] == ("resources", "v", "properties")
    Template.from_dict(tpl({"v": value({"str_split": [",", "a,b"]})}, version="2015-10-15"))
