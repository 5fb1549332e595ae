"""Templates: parsing and validation errors, dependency order, cycles, functions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from stratus.jobs.runner import playbook_yaml
from stratus.orchestration import compiler, planner
from stratus.orchestration.errors import DependencyCycle, TemplateError
from stratus.orchestration.graph import levels, topological_order
from stratus.orchestration.template import Template

pytestmark = pytest.mark.orchestration
SNAPSHOTS = Path(__file__).parent / "snapshots"


def tpl(resources, **extra):
    return {"heat_template_version": "2018-08-31", "resources": resources, **extra}


def task(module="ansible.builtin.debug", args=None, hosts=None, **kw):
    props = {"module": module, "args": args or {}}
    if hosts:
        props["hosts"] = hosts
    return {"type": "Stratus::Ansible::Task", "properties": props, **kw}


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        ([], (), "must be a mapping"),
        ({"heat_template_version": "1999-01-01", "resources": {}}, ("heat_template_version",), "not supported"),
        (tpl({}, bogus=1), (), "unknown top-level section"),
        (tpl({"a": {"type": "OS::Nope"}}), ("resources", "a", "type"), "unknown resource type 'OS::Nope'"),
        (tpl({"a": {"properties": {}}}), ("resources", "a"), "no 'type'"),
        (tpl({"a": {"type": "Stratus::Ansible::Task", "properties": {}}}), ("resources", "a", "properties"),
         "'module' is required"),
        (tpl({"a": task(args="x")}), ("resources", "a", "properties", "args"), "must be a map"),
        (tpl({"a": {**task(), "properties": {"module": "m", "colour": 1}}}),
         ("resources", "a", "properties", "colour"), "unknown property 'colour'"),
        (tpl({"a": task(depends_on="zz")}), ("resources", "a", "depends_on"), "'zz'"),
        (tpl({"a": task(args={"x": {"get_resource": "ghost"}})}),
         ("resources", "a", "properties", "args", "x", "get_resource"), "'ghost'"),
        (tpl({"a": task(args={"x": {"get_param": "p"}})}),
         ("resources", "a", "properties", "args", "x", "get_param"), "parameter 'p' is not defined"),
        (tpl({"a": task(), "b": task(args={"x": {"get_attr": ["a", "colour"]}})}),
         ("resources", "b", "properties", "args", "x", "get_attr"), "has no attribute 'colour'"),
        (tpl({"a": task(args={"x": {"get_attr": "a"}})}),
         ("resources", "a", "properties", "args", "x", "get_attr"), "get_attr takes"),
        (tpl({"a": task()}, outputs={"o": {"description": "no value"}}), ("outputs", "o"), "needs a 'value'"),
    ],
)
def test_invalid_templates_say_where_and_why(raw, path, words):
    with pytest.raises(TemplateError) as exc:
        Template.from_dict(raw)
    assert exc.value.path == path
    assert words in str(exc.value)


def test_cycle_is_reported_with_its_members():
    raw = tpl({
        "a": task(depends_on="c"),
        "b": task(args={"x": {"get_resource": "a"}}),
        "c": task(args={"x": {"get_attr": ["b", "result", "msg"]}}),
        "d": task(),
    })
    with pytest.raises(DependencyCycle) as exc:
        Template.from_dict(raw)
    assert exc.value.cycle in (["a", "c", "b", "a"], ["b", "a", "c", "b"], ["c", "b", "a", "c"])
    assert "circular dependency" in str(exc.value)


def test_self_reference_is_a_cycle():
    with pytest.raises(DependencyCycle):
        Template.from_dict(tpl({"a": task(args={"x": {"get_resource": "a"}})}))


def test_dependency_order_follows_depends_on_and_functions():
    t = Template.from_dict(tpl({
        "last": task(depends_on=["mid"]),
        "mid": task(args={"v": {"get_attr": ["first", "result", "msg"]}}),
        "first": task(),
        "free": task(),
    }))
    order = t.order()
    assert order.index("first") < order.index("mid") < order.index("last")
    assert set(order) == {"first", "mid", "last", "free"}


def test_graph_levels_and_stable_order():
    deps = {"a": set(), "b": {"a"}, "c": {"a"}, "d": {"b", "c"}}
    assert topological_order(deps) == ["a", "b", "c", "d"]
    assert levels(deps) == [["a"], ["b", "c"], ["d"]]


def test_functions_resolve_ids_params_and_attributes():
    t = Template.from_dict(tpl(
        {
            "v": {"type": "OS::Heat::Value", "properties": {"value": {"k": [10, {"get_param": "name"}]}}},
            "a": task(args={"msg": {"get_attr": ["v", "value", "k", 1]}, "id": {"get_resource": "v"}}),
            "b": task(args={"from_a": {"get_attr": ["a", "result", "msg"]}}, hosts="compute"),
        },
        parameters={"name": {"type": "string", "default": "dflt"}},
        outputs={"vid": {"value": {"get_resource": "v"}}, "msg": {"value": {"get_attr": ["a", "changed"]}}},
    ))
    p = planner.plan(t, {"name": "given"}, resource_ids={"v": "0000-v"})
    args_a = p.resources["a"].properties["args"]
    assert args_a == {"msg": "given", "id": "0000-v"}
    # a runtime attribute becomes a Jinja expression over the registered result
    assert p.resources["b"].properties["args"]["from_a"] == (
        '{{ hostvars[groups["controller"][0]]["stratus_a"]["msg"] }}'
    )
    outs = compiler.compile_outputs(p)
    assert outs["vid"] == "0000-v"
    assert "stratus_a" in outs["msg"] and "changed" in outs["msg"]


def test_parameters_are_checked():
    t = Template.from_dict(tpl({"a": task(args={"n": {"get_param": "n"}})},
                               parameters={"n": {"type": "number"}}))
    with pytest.raises(TemplateError, match="has no default"):
        planner.plan(t, {})
    with pytest.raises(TemplateError, match="must be a number"):
        planner.plan(t, {"n": "many"})
    with pytest.raises(TemplateError, match="unknown parameter"):
        planner.plan(t, {"n": 1, "m": 2})
    assert planner.plan(t, {"n": "3"}).resources["a"].properties["args"] == {"n": 3}


SNAPSHOT_TEMPLATE = textwrap.dedent("""\
    heat_template_version: 2018-08-31
    parameters:
      dir: {type: string, default: /tmp/stratus-snap}
    resources:
      folder:
        type: Stratus::Ansible::Task
        properties:
          module: ansible.builtin.file
          args: {path: {get_param: dir}, state: directory}
      greeting:
        type: Stratus::Ansible::Task
        properties:
          module: ansible.builtin.copy
          args:
            dest: {get_attr: [folder, result, path]}
            content: hello
        depends_on: folder
      on_compute:
        type: Stratus::Ansible::Task
        properties:
          module: ansible.builtin.ping
          hosts: compute
        depends_on: greeting
      marker:
        type: OS::Heat::None
    """)


def test_compiled_playbook_matches_snapshot():
    t = Template.from_dict(yaml.safe_load(SNAPSHOT_TEMPLATE))
    playbook = compiler.compile_plan(planner.plan(t))
    got = playbook_yaml(playbook)  # main.yml as the runner writes it (user data !unsafe)
    snap = SNAPSHOTS / "files.yml"
    if not snap.exists():  # first run writes it; review it and commit it
        snap.parent.mkdir(exist_ok=True)
        snap.write_text(got)
    assert got == snap.read_text()
    # tasks are named and tagged after their resources: events map back to them
    names = [t["name"] for play in playbook for t in play["tasks"]]
    assert names == ["folder", "greeting", "on_compute"]
    # one play per dependency level, each on its resources' hosts
    assert [play["hosts"] for play in playbook] == ["controller", "controller", "compute"]


class _UnsafeLoader(yaml.SafeLoader):
    pass


_UnsafeLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_cli_compile_and_validate(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(SNAPSHOT_TEMPLATE)
    out = subprocess.run([sys.executable, "-m", "stratus.cli.main", "compile", str(path), "-P", "dir=/x"],
                         capture_output=True, text=True, check=True).stdout
    # the parameter's value is user data: written for Ansible never to template
    assert "!unsafe 'path': !unsafe '/x'" in out
    plays = yaml.load(out, Loader=_UnsafeLoader)
    assert plays[0]["tasks"][0]["ansible.builtin.file"]["path"] == "/x"
    ok = subprocess.run([sys.executable, "-m", "stratus.cli.main", "validate", str(path)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "4 resource(s)" in ok.stdout
    path.write_text("heat_template_version: 2018-08-31\nresources:\n  a: {type: OS::Nope}\n")
    bad = subprocess.run([sys.executable, "-m", "stratus.cli.main", "validate", str(path)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "resources.a.type: unknown resource type 'OS::Nope'" in bad.stderr
