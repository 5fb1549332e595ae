"""nested.expand: each nested form flattened into one template, references to owners
rewritten into their members', limits and errors with their paths."""

from __future__ import annotations

import pytest
import yaml

from stratus.orchestration import nested
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template
from stratus.orchestration.types.heat_groups import new_size

pytestmark = [pytest.mark.orchestration]


def tpl(text: str) -> dict:
    return yaml.safe_load(text)


def flat(exp: nested.Expansion) -> dict:
    return nested.unparse_template(exp.template)


def raw_flat(raw: dict, parameters: dict | None = None, files: dict | None = None) -> dict:
    """The flat template before it is parsed (conditions as written)."""
    return nested._Flattener(raw, parameters or {}, {}, files or {}, None, 5).run()


GROUP = tpl("""
heat_template_version: 2018-08-31
parameters:
  n: {type: number, default: 3}
resources:
  base: {type: OS::Heat::Value, properties: {value: net-1}}
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: n}
      resource_def:
        type: OS::Heat::Value
        properties: {value: {list_join: ['-', [srv, '%index%', {get_attr: [base, value]}]]}}
  after:
    type: OS::Heat::Value
    depends_on: group
    properties:
      value:
        all: {get_attr: [group, value]}
        attrs: {get_attr: [group, attributes, value]}
        refs: {get_attr: [group, refs]}
        first: {get_attr: [group, refs, 0]}
        one: {get_attr: [group, resource.1]}
        one_value: {get_attr: [group, resource.1.value]}
outputs:
  map: {value: {get_attr: [group, refs_map]}}
""")


def test_a_resource_group_becomes_its_members_with_the_index_in_their_definition():
    exp = nested.expand(GROUP, {})
    res = flat(exp)["resources"]
    assert [n for n in res if n.startswith("group.")] == ["group.0", "group.1", "group.2"]
    assert res["group.1"]["properties"]["value"] == {
        "list_join": ["-", ["srv", "1", {"get_attr": ["base", "value"]}]]}
    # the owner waits for its members (what depends on it waits for the whole group)
    assert res["group"]["depends_on"] == ["group.0", "group.1", "group.2"]
    assert exp.template.order().index("after") > exp.template.order().index("group.2")
    [stack] = exp.stacks
    assert (stack.prefix, stack.owner, stack.parent, stack.owner_type) == ("group", "group", "", nested.GROUP)
    assert sorted(stack.template["resources"]) == ["0", "1", "2"]
    assert exp.stack_of("group.2") is stack and exp.stack_of("base") is None
    assert stack.local_name("group.2") == "2" and stack.name("web") == "web-group"


def test_get_attr_on_a_group_becomes_the_members_references():
    value = flat(nested.expand(GROUP, {"n": 2}))["resources"]["after"]["properties"]["value"]
    members = [{"get_attr": ["group.0", "value"]}, {"get_attr": ["group.1", "value"]}]
    assert value["all"] == members and value["attrs"] == members
    assert value["refs"] == [{"get_resource": "group.0"}, {"get_resource": "group.1"}]
    assert value["first"] == {"get_resource": "group.0"}
    assert value["one"] == {"get_resource": "group.1"}
    assert value["one_value"] == {"get_attr": ["group.1", "value"]}
    outputs = flat(nested.expand(GROUP, {"n": 2}))["outputs"]
    assert outputs["map"]["value"] == {"0": {"get_resource": "group.0"}, "1": {"get_resource": "group.1"}}


def test_removal_policies_skip_names_and_the_blacklist_is_kept_across_updates():
    raw = tpl("""
heat_template_version: 2018-08-31
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: 3
      index_var: "@i@"
      removal_policies: [{resource_list: ["1"]}]
      resource_def: {type: OS::Heat::Value, properties: {value: "n@i@"}}
""")
    res = flat(nested.expand(raw))["resources"]
    assert [n for n in res if n.startswith("group.")] == ["group.0", "group.2", "group.3"]
    assert res["group.3"]["properties"]["value"] == "n3"
    # the owner records the names removed (its plan attribute), the next update reads them
    assert res["group"]["properties"]["removal_policies"] == [{"resource_list": ["1"]}]
    raw["resources"]["group"]["properties"]["removal_policies"] = [{"resource_list": ["member-id-of-3"]}]
    current = {"group": {"removed_rsrc_list": ["1"]}, "group.0": {}, "group.2": {},
               "group.3": {"id": "member-id-of-3"}}
    res = flat(nested.expand(raw, current=current))["resources"]
    assert [n for n in res if n.startswith("group.")] == ["group.0", "group.2", "group.4"]


def test_a_smaller_count_drops_the_highest_members():
    raw = {**GROUP, "resources": {k: v for k, v in GROUP["resources"].items() if k != "after"}}
    res = flat(nested.expand(raw, {"n": 1}))["resources"]
    assert [n for n in res if n.startswith("group.")] == ["group.0"]
    res = flat(nested.expand(raw, {"n": 0}))["resources"]
    assert not [n for n in res if n.startswith("group.")]
    # a member that no longer exists cannot be named
    err = expand_error(GROUP, parameters={"n": 1})
    assert err.path == ("resources", "group") and "no member '1'" in err.message


STACK = tpl("""
heat_template_version: 2018-08-31
parameters:
  size: {type: number, default: 2}
resources:
  base: {type: OS::Heat::Value, properties: {value: 7}}
  app:
    type: OS::Heat::Stack
    properties:
      template: {get_file: app.yaml}
      parameters:
        size: {get_param: size}
        base: {get_attr: [base, value]}
  user:
    type: OS::Heat::Value
    properties:
      value:
        all: {get_attr: [app, outputs]}
        one: {get_attr: [app, outputs, total]}
        dotted: {get_attr: [app, outputs.total]}
        ref: {get_resource: app}
""")
APP = """
heat_template_version: 2018-08-31
parameters:
  size: {type: number}
  base: {type: number}
  label: {type: string, default: hello}
conditions:
  big: {equals: [{get_param: size}, 2]}
resources:
  first: {type: OS::Heat::Value, properties: {value: {get_param: base}}}
  second:
    type: OS::Heat::Value
    depends_on: first
    condition: big
    properties: {value: [{get_attr: [first, value]}, {get_param: label}]}
outputs:
  total: {value: {get_attr: [second, value]}}
  ref: {value: {get_resource: first}}
"""


def test_a_nested_stack_from_get_file_is_flattened_with_its_parameters():
    exp = nested.expand(STACK, {}, files={"app.yaml": APP})
    res = flat(exp)["resources"]
    assert res["app.first"]["properties"]["value"] == {"get_attr": ["base", "value"]}
    assert res["app.second"]["depends_on"] == ["app.first"]
    assert raw_flat(STACK, {}, {"app.yaml": APP})["resources"]["app.second"]["condition"] == "app.big"
    assert res["app.second"]["properties"]["value"] == [
        {"get_attr": ["app.first", "value"]}, "hello"]
    assert res["app"]["depends_on"] == ["app.first", "app.second"]
    assert res["app"]["properties"]["template"].startswith("app.yaml@sha256:")
    [stack] = exp.stacks
    assert stack.parameters == {"size": 2, "label": "hello"}  # plain values only
    assert stack.outputs == {"total": {"get_attr": ["app.second", "value"]}, "ref": {"get_resource": "app.first"}}
    assert stack.template["parameters"]["size"] == {"type": "number"}


def test_get_attr_on_a_nested_stack_becomes_its_outputs():
    value = flat(nested.expand(STACK, {}, files={"app.yaml": APP}))["resources"]["user"]["properties"]["value"]
    total = {"get_attr": ["app.second", "value"]}
    assert value["one"] == total and value["dotted"] == total
    assert value["all"] == {"total": total, "ref": {"get_resource": "app.first"}}
    assert value["ref"] == {"get_resource": "app"}  # the nested stack's own reference


def test_the_nested_stack_name_is_the_roots_and_the_owners():
    raw = tpl("""
heat_template_version: 2018-08-31
resources:
  app:
    type: OS::Heat::Stack
    properties:
      template:
        heat_template_version: 2018-08-31
        resources:
          v: {type: OS::Heat::Value, properties: {value: {get_param: OS::stack_name}}}
  user: {type: OS::Heat::Value, properties: {value: {get_attr: [app, stack_name]}}}
""")
    name = {"list_join": ["-", [{"get_param": "OS::stack_name"}, "app"]]}
    out = raw_flat(raw)  # (pseudo parameters: the template's part)
    assert out["resources"]["app.v"]["properties"]["value"] == name
    assert out["resources"]["user"]["properties"]["value"] == name


def test_a_nested_stack_given_inline_and_its_conditions():
    raw = tpl("""
heat_template_version: 2018-08-31
resources:
  app:
    type: OS::Heat::Stack
    properties:
      template:
        heat_template_version: 2018-08-31
        resources:
          v: {type: OS::Heat::Value, properties: {value: 1}}
""")
    exp = nested.expand(raw)
    assert list(flat(exp)["resources"]) == ["app", "app.v"]
    assert flat(exp)["resources"]["app"]["properties"]["template"].startswith("inline@sha256:")
    out = raw_flat(STACK, {"size": 3}, {"app.yaml": APP})
    assert out["conditions"]["app.big"] == {"equals": [{"get_param": "size"}, 2]}
    # the nested condition decides with the root's parameter values
    flat_tpl = nested.expand(STACK, {}, files={"app.yaml": APP}).template
    pseudo = {"OS::stack_name": "s", "OS::stack_id": "i", "OS::project_id": "p"}
    assert "app.second" not in flat_tpl.active_resources({"size": 3, **pseudo})
    assert "app.second" in flat_tpl.active_resources({"size": 2, **pseudo})


SERVER_TPL = """
heat_template_version: 2018-08-31
parameters:
  flavor: {type: string}
  index: {type: string, default: "x"}
resources:
  port: {type: OS::Heat::Value, properties: {value: {list_join: ['-', [port, {get_param: index}]]}}}
  box: {type: OS::Heat::Value, properties: {value: {get_param: flavor}}}
outputs:
  OS::stack_id: {value: {get_resource: box}}
  address: {value: {get_attr: [port, value]}}
"""


def test_a_template_resource_from_the_registry():
    raw = tpl("""
heat_template_version: 2018-08-31
resources:
  web: {type: My::Server, properties: {flavor: small}}
  user:
    type: OS::Heat::Value
    properties: {value: [{get_resource: web}, {get_attr: [web, address]}]}
""")
    env = {"resource_registry": {"My::Server": "file:///t/server.yaml"}}
    exp = nested.expand(raw, files={"file:///t/server.yaml": SERVER_TPL}, environment=env)
    res = flat(exp)["resources"]
    assert res["web.box"]["properties"]["value"] == "small"
    assert res["web"]["type"] == "My::Server" and exp.template.resources["web"].type_class is not None
    # OS::stack_id is the resource's reference, the outputs its attributes
    assert res["user"]["properties"]["value"] == [{"get_resource": "web.box"}, {"get_attr": ["web.port", "value"]}]
    assert exp.stacks[0].owner_type == "My::Server"


def test_a_group_of_template_resources_nests_two_levels():
    raw = tpl("""
heat_template_version: 2018-08-31
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: 2
      resource_def: {type: server.yaml, properties: {flavor: tiny, index: "%index%"}}
outputs:
  addresses: {value: {get_attr: [group, address]}}
  refs: {value: {get_attr: [group, refs]}}
""")
    exp = nested.expand(raw, files={"server.yaml": SERVER_TPL})
    out = flat(exp)
    assert {"group.0.port", "group.0.box", "group.1.port", "group.1.box"} <= set(out["resources"])
    assert out["resources"]["group.1.port"]["properties"]["value"] == {"list_join": ["-", ["port", "1"]]}
    assert out["outputs"]["addresses"]["value"] == [{"get_attr": ["group.0.port", "value"]},
                                                    {"get_attr": ["group.1.port", "value"]}]
    assert out["outputs"]["refs"]["value"] == [{"get_resource": "group.0.box"}, {"get_resource": "group.1.box"}]
    assert [(s.prefix, s.parent) for s in exp.stacks] == [("group", ""), ("group.0", "group"), ("group.1", "group")]
    assert exp.stack_of("group.1.box").prefix == "group.1"


ASG = tpl("""
heat_template_version: 2018-08-31
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 3
      desired_capacity: 2
      resource: {type: OS::Heat::Value, properties: {value: m}}
  up:
    type: OS::Heat::ScalingPolicy
    properties: {auto_scaling_group_id: {get_resource: asg}, adjustment_type: change_in_capacity,
                 scaling_adjustment: 1}
outputs:
  size: {value: {get_attr: [asg, current_size]}}
  values: {value: {get_attr: [asg, outputs_list, value]}}
  by_name: {value: {get_attr: [asg, outputs, value]}}
""")


def members(exp, owner="asg"):
    return [n for n in flat(exp)["resources"] if n.startswith(owner + ".")]


def test_an_autoscaling_group_starts_at_desired_capacity_and_keeps_its_scaled_size():
    exp = nested.expand(ASG)
    assert members(exp) == ["asg.0", "asg.1"]
    out = flat(exp)["outputs"]
    assert out["size"]["value"] == 2
    assert out["values"]["value"] == [{"get_attr": ["asg.0", "value"]}, {"get_attr": ["asg.1", "value"]}]
    assert out["by_name"]["value"] == {"0": {"get_attr": ["asg.0", "value"]}, "1": {"get_attr": ["asg.1", "value"]}}
    recorded = {"min_size": 1, "max_size": 3, "desired_capacity": 2}
    # a signal asked for 3: one member more, the others kept
    current = {"asg": {**recorded, "desired_size": 3}, "asg.0": {}, "asg.1": {}}
    assert members(nested.expand(ASG, current=current)) == ["asg.0", "asg.1", "asg.2"]
    # after that update: the size scaling made stays while desired_capacity is unchanged
    current = {"asg": recorded, "asg.0": {}, "asg.1": {}, "asg.2": {}}
    assert members(nested.expand(ASG, current=current)) == ["asg.0", "asg.1", "asg.2"]
    # scaling in drops the oldest; a size beyond max_size is held at max_size
    current = {"asg": {**recorded, "desired_size": 1}, "asg.1": {}, "asg.2": {}}
    assert members(nested.expand(ASG, current=current)) == ["asg.2"]
    current = {"asg": {**recorded, "desired_size": 9}, "asg.4": {}}
    assert members(nested.expand(ASG, current=current)) == ["asg.4", "asg.5", "asg.6"]


@pytest.mark.parametrize(("kind", "adjust", "current", "step", "size"), [
    ("change_in_capacity", 1, 1, 0, 2),
    ("change_in_capacity", -5, 3, 0, 1),  # not below min_size
    ("exact_capacity", 9, 1, 0, 4),  # not above max_size
    ("percent_change_in_capacity", 50, 2, 0, 3),
    ("percent_change_in_capacity", 10, 2, 0, 3),  # under one member: rounded up to one
    ("percent_change_in_capacity", -50, 4, 0, 2),
    ("percent_change_in_capacity", 30, 3, 2, 4),  # at least min_adjustment_step
])
def test_a_scaling_policy_computes_the_new_size(kind, adjust, current, step, size):
    policy = {"adjustment_type": kind, "scaling_adjustment": adjust, "min_adjustment_step": step}
    assert new_size(current, policy, {"min_size": 1, "max_size": 4}) == size


def test_a_parsed_template_expands_too():
    parsed = Template.from_dict(GROUP)
    exp = nested.expand(parsed, {"n": 2})
    assert members(exp, "group") == ["group.0", "group.1"]
    plain = tpl("""
heat_template_version: 2018-08-31
resources: {v: {type: OS::Heat::Value, properties: {value: 1}}}
""")
    parsed = Template.from_dict(plain)
    exp = nested.expand(parsed)
    assert exp.template is parsed and exp.stacks == []


# ------------------------------------------------------------------ errors and limits

def expand_error(raw, **kw) -> TemplateError:
    with pytest.raises(TemplateError) as err:
        nested.expand(raw, **kw)
    return err.value


def test_a_template_that_nests_itself_is_refused():
    loop = """
heat_template_version: 2018-08-31
resources:
  again: {type: loop.yaml}
"""
    raw = tpl("heat_template_version: 2018-08-31\nresources:\n  top: {type: loop.yaml}\n")
    err = expand_error(raw, files={"loop.yaml": loop})
    assert "includes itself" in err.message and "loop.yaml -> loop.yaml" in err.message
    assert err.path == ("resources", "top", "resources", "again")


def test_nesting_deeper_than_the_limit_is_refused():
    level = "heat_template_version: 2018-08-31\nresources:\n  down: {{type: l{}.yaml}}\n"
    files = {f"l{i}.yaml": level.format(i + 1) for i in range(1, 4)}
    files["l4.yaml"] = "heat_template_version: 2018-08-31\nresources: {}\n"
    raw = tpl("heat_template_version: 2018-08-31\nresources:\n  top: {type: l1.yaml}\n")
    exp = nested.expand(raw, files=files, max_depth=4)
    assert len(exp.stacks) == 4 and exp.depth == 4
    exp.check_depth(4)
    with pytest.raises(TemplateError, match="4 levels deep, more than the limit of 2"):
        exp.check_depth(2)  # the engine's check with the cloud's setting
    err = expand_error(raw, files=files, max_depth=3)
    assert "orchestration_max_nested_depth" in err.message and "limit of 3" in err.message
    assert err.path == ("resources", "top", "resources", "down", "resources", "down", "resources", "down")


def test_more_resources_than_the_limit_are_refused():
    err = expand_error(GROUP, parameters={"n": 50}, max_resources=20)
    assert "53 resources" in err.message and "orchestration_max_resources_per_stack" in err.message


def test_errors_name_the_nested_path():
    err = expand_error(STACK, files={})
    assert err.path == ("resources", "app", "properties", "template") and "get_file" in err.message
    bad = STACK | {"resources": {**STACK["resources"], "app": {"type": "OS::Heat::Stack", "properties": {
        "template": {"get_file": "app.yaml"}, "parameters": {"base": 1, "nope": 2}}}}}
    err = expand_error(bad, files={"app.yaml": APP})
    assert err.path == ("resources", "app", "properties", "parameters", "nope")
    bad["resources"]["app"]["properties"]["parameters"] = {}
    err = expand_error(bad, files={"app.yaml": APP})
    assert "needs the parameter 'size'" in err.message or "needs the parameter 'base'" in err.message
    err = expand_error({"heat_template_version": "2018-08-31", "resources": {"u": {
        "type": "OS::Heat::Value", "properties": {"value": {"get_attr": ["app", "outputs", "nope"]}}},
        **STACK["resources"]}, "parameters": STACK["parameters"]}, files={"app.yaml": APP})
    assert "no output 'nope'" in err.message and "total" in err.message
    err = expand_error(tpl("""
heat_template_version: 2018-08-31
resources:
  web: {type: Missing::Type}
"""), environment={"resource_registry": {"Missing::Type": "missing.yaml"}})
    assert err.path == ("resources", "web", "type") and "template file" in err.message
    err = expand_error(tpl("""
heat_template_version: 2018-08-31
resources:
  g: {type: OS::Heat::ResourceGroup, properties: {count: 2, resource_def: {properties: {}}}}
"""))
    assert err.path == ("resources", "g", "properties", "resource_def")
    err = expand_error(tpl("""
heat_template_version: 2018-08-31
resources:
  v: {type: OS::Heat::Value, properties: {value: 1}}
  g: {type: OS::Heat::ResourceGroup, properties: {count: {get_attr: [v, value]}, resource_def: {type: OS::Heat::None}}}
"""))
    assert err.path == ("resources", "g", "properties", "count") and "known when the stack is planned" in err.message
    err = expand_error(tpl("""
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Heat::AutoScalingGroup, properties: {min_size: 1, max_size: 2, resource: {type: OS::Heat::None},
      colour: red}}
"""))
    assert err.path == ("resources", "a", "properties", "colour")


def test_a_registered_type_mapped_to_a_template_runs_the_template_not_the_type():
    raw = tpl("""
heat_template_version: 2018-08-31
resources:
  web: {type: OS::Nova::Server, properties: {flavor: small}}
""")
    exp = nested.expand(raw, files={"server.yaml": SERVER_TPL},
                        environment={"resource_registry": {"OS::Nova::Server": "server.yaml"}})
    owner = exp.template.resources["web"]
    assert owner.effective_type == "server.yaml" and owner.type_class.template_resource
    assert exp.template.resources["web.box"].type == "OS::Heat::Value"

    # inside the template it maps to, the type is the registered one (no recursion)
    wrapper = SERVER_TPL.replace("box: {type: OS::Heat::Value, properties: {value: {get_param: flavor}}}",
                                 "box: {type: OS::Nova::Server, properties: {flavor: {get_param: flavor}}}")
    exp = nested.expand(raw, files={"server.yaml": wrapper},
                        environment={"resource_registry": {"OS::Nova::Server": "server.yaml"}})
    assert exp.template.resources["web.box"].type_class.type_name == "OS::Nova::Server"
    assert exp.template.resources["web.box"].properties["flavor"] == "small"


def test_a_template_type_of_another_stack_is_unknown_without_its_mapping():
    raw = tpl("heat_template_version: 2018-08-31\nresources:\n  web: {type: My::Other, properties: {flavor: a}}\n")
    env = {"resource_registry": {"My::Other": "server.yaml"}}
    nested.expand(raw, files={"server.yaml": SERVER_TPL}, environment=env)  # registers My::Other
    err = expand_error(raw)
    assert err.path == ("resources", "web", "type") and "resource_registry" in err.message


def test_group_policies_are_update_policies_and_member_definitions_are_checked():
    raw = tpl("""
heat_template_version: 2018-08-31
resources:
  g:
    type: OS::Heat::ResourceGroup
    update_policy: {rolling_update: {max_batch_size: 1}, batch_create: {max_batch_size: 2}}
    properties: {count: 1, resource_def: {type: OS::Heat::None}}
""")
    assert nested.expand(raw).template.resources["g"].update_policy["rolling_update"] == {"max_batch_size": 1}
    raw["resources"]["g"]["properties"]["resource_def"]["depends_on"] = "x"
    err = expand_error(raw)
    assert err.path == ("resources", "g", "properties", "resource_def", "depends_on")
