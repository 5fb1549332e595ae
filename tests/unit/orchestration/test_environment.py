"""Environments: parameters, parameter_defaults, the resource registry (aliases, globs,
template resources, scoped entries), ignored sections with warnings, merging, loading."""

from __future__ import annotations

import pytest

from stratus.orchestration.environment import Environment
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template

pytestmark = pytest.mark.orchestration


def test_sections_and_warnings():
    env = Environment.from_dict({
        "parameters": {"a": 1}, "parameter_defaults": {"b": 2},
        "resource_registry": {"My::A": "OS::Heat::None", "OS::Nova::*": "Custom::*",
                              "resources": {"web*": {"OS::Heat::Value": "web.yaml", "hooks": "pre-create"}}},
        "event_sinks": [{"type": "zaqar-queue"}], "encrypted_param_names": ["x"],
    })
    assert env.parameters == {"a": 1} and env.parameter_defaults == {"b": 2}
    assert env.resolve("My::A") == "OS::Heat::None"
    assert env.resolve("OS::Nova::Server") == "Custom::Server"
    assert env.resolve("OS::Heat::Value", "web1") == "web.yaml"
    assert env.resolve("OS::Heat::Value", "db") == "OS::Heat::Value"
    assert any("event_sinks" in w for w in env.warnings)
    assert any("encrypted_param_names" in w for w in env.warnings)
    assert any("hooks" in w for w in env.warnings) and env.resolve("hooks", "web1") == "hooks"


@pytest.mark.parametrize(("raw", "words"), [
    ({"parameter": {}}, "unknown section(s) parameter"),
    ([], "must be a mapping"),
    ({"parameters": [1]}, "parameters must be a mapping"),
    ({"resource_registry": {"A": 5}}, "must name a type or a template file"),
])
def test_refused(raw, words):
    with pytest.raises(TemplateError) as exc:
        Environment.from_dict(raw)
    assert words in str(exc.value)


def test_registry_circles_are_refused():
    env = Environment.from_dict({"resource_registry": {"A::B": "C::D", "C::D": "A::B"}})
    with pytest.raises(TemplateError, match="in a circle"):
        env.resolve("A::B")


def test_merge_later_wins():
    env = Environment.merge({"parameters": {"a": 1, "b": 1}, "resource_registry": {"X::Y": "OS::Heat::None"}},
                            {"parameters": {"b": 2}, "event_sinks": [{}]})
    assert env.parameters == {"a": 1, "b": 2} and env.resolve("X::Y") == "OS::Heat::None"
    assert len(env.warnings) == 1


def test_parameters_and_defaults_reach_the_template():
    raw = {"heat_template_version": "2018-08-31",
           "parameters": {"a": {"type": "number"}, "b": {"type": "string", "default": "t"},
                          "c": {"type": "string", "default": "t"}},
           "resources": {}}
    env = {"parameters": {"a": "3", "nested_only": "x"}, "parameter_defaults": {"b": "env", "other": 1}}
    t = Template.from_dict(raw, environment=env)
    assert t.parameter_values({}) == {"a": 3, "b": "env", "c": "t"}
    assert t.parameter_values({"a": 4, "b": "given"}) == {"a": 4, "b": "given", "c": "t"}


def test_load_reads_registry_templates_beside_the_file(tmp_path):
    (tmp_path / "srv.yaml").write_text("heat_template_version: 2018-08-31\nresources: {}\n")
    (tmp_path / "env.yaml").write_text("resource_registry:\n  My::Server: srv.yaml\n")
    env = Environment.load(tmp_path / "env.yaml")
    assert env.files == {"srv.yaml": "heat_template_version: 2018-08-31\nresources: {}\n"}
    (tmp_path / "bad.yaml").write_text("resource_registry:\n  My::Server: ../../etc/passwd.yaml\n")
    with pytest.raises(TemplateError, match="outside the template's directory"):
        Environment.load(tmp_path / "bad.yaml")
    tpl = tmp_path / "t.yaml"
    tpl.write_text("heat_template_version: 2018-08-31\nresources:\n  s: {type: My::Server}\n")
    t = Template.load(tpl, environment=env)
    assert t.resources["s"].effective_type == "srv.yaml" and "srv.yaml" in t.files
    assert env.to_dict()["resource_registry"] == {"My::Server": "srv.yaml"}
