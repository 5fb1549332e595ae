"""Nested stacks flattened into their parent's template: ``OS::Heat::Stack``, template
resources (``resource_registry`` types backed by a template file, or a type that is a
file of ``files``), ``ResourceGroup`` and ``AutoScalingGroup`` members become resources
of one flat template, named ``<owner>.<member>`` (``group.0``, ``app.db``), so one plan
and one job make a stack with all its nested stacks, independent resources in parallel.

The rules of the flattening (Heat's behaviour, ``stack_resource.py``,
``template_resource.py``, ``resource_group.py``, ``autoscaling_group.py``):

- A nested template's ``get_param`` becomes the value its owner gives (the owner's
  ``parameters`` for ``OS::Heat::Stack``, its properties for a template resource) or the
  parameter's default; ``get_resource``/``get_attr``/``depends_on``/``condition`` names
  get the owner's prefix; conditions move up as ``<owner>.<name>``. Members inherit the
  owner's ``depends_on`` and ``condition``; the owner depends on all its members, so what
  depends on the owner waits for the whole nested stack (the owner runs no task).
- ``ResourceGroup`` members ``0..count-1`` (names of ``removal_policies`` skipped, Heat's
  blacklist, kept across updates through ``current``), ``%index%`` (``index_var``)
  replaced in the member definition; ``AutoScalingGroup`` members keep their names
  across updates, grow with new names and shrink oldest first.
- ``get_attr`` on an owner is rewritten into its members' own references: a nested
  template's outputs (``[app, outputs, x]``, ``[app, outputs.x]``, ``[app, x]`` for a
  template resource), a group's lists (``refs``, ``refs_map``, ``[group, attributes, x]``,
  ``[group, x]``, ``resource.<n>``, ``resource.<n>.<attr>``, ``current_size`` …);
  ``get_resource`` of a template resource with an ``OS::stack_id`` output is that output.

Errors name the nested path (``resources.app.resources.db.properties.flavor``).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import inspect
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from stratus.orchestration.environment import Environment, is_template_path
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.resources import get_type
from stratus.orchestration.template import Template

STACK, GROUP, ASG = "OS::Heat::Stack", "OS::Heat::ResourceGroup", "OS::Heat::AutoScalingGroup"
DEFAULT_MAX_DEPTH = 5
PSEUDO = ("OS::stack_name", "OS::stack_id", "OS::project_id")
MEMBER_KEYS = {"type", "properties", "metadata"}  # a group member's definition (Heat's resource_def)
# HOT and CFN function names: a one-key mapping with one of these keys is a call
FUNCTION_NAMES = {
    "get_param", "get_resource", "get_attr", "get_file", "list_join", "str_replace", "str_replace_strict",
    "str_replace_vstrict", "str_split", "repeat", "map_merge", "map_replace", "list_concat",
    "list_concat_unique", "contains", "filter", "make_url", "digest", "yaql", "if", "equals", "not", "and",
    "or", "resource_facade", "get_az", "condition", "Ref", "Fn::GetAtt", "Fn::Join", "Fn::Base64",
    "Fn::Select", "Fn::GetAZs", "Fn::Split", "Fn::Replace", "Fn::If", "Fn::Equals", "Fn::Not", "Fn::And",
    "Fn::Or", "Fn::FindInMap", "Fn::MemberListToMap", "Fn::ResourceFacade",
}


@dataclass
class NestedStack:
    """One nested stack of an expansion: its resources are the flat template's resources
    whose names start with ``prefix`` + "." (and belong to no deeper nested stack);
    ``owner`` is the resource of ``parent`` (a prefix, "" for the root stack) that owns
    it, ``prefix`` the owner's flat name. ``outputs``: the nested template's outputs as
    snippets of the flat template (resolve them as the root's outputs)."""

    prefix: str
    owner: str
    parent: str
    template: dict[str, Any]  # the nested template as given (for the stack's record)
    parameters: dict[str, Any] = field(default_factory=dict)
    owner_type: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)

    def name(self, root_name: str) -> str:
        """The nested stack's name (Heat: ``<parent>-<owner>-<suffix>``): the root's
        name and the owner's flat name, dots as dashes."""
        return f"{root_name}-{self.prefix.replace('.', '-')}"

    def local_name(self, flat_name: str) -> str:
        """A member's name inside this nested stack (``group.0`` -> ``0``)."""
        return flat_name[len(self.prefix) + 1:]


@dataclass
class Expansion:
    template: Template  # flat: every nested stack's resources included
    stacks: list[NestedStack] = field(default_factory=list)

    @property
    def depth(self) -> int:
        """How deep the nested stacks go (0: none; 1: nested stacks of the root only)."""
        levels = {"": 0}
        for st in self.stacks:  # parents come before their children
            levels[st.prefix] = levels.get(st.parent, 0) + 1
        return max(levels.values())

    def check_depth(self, max_depth: int) -> None:
        """TemplateError when the nested stacks go deeper than ``max_depth``
        (settings.orchestration_max_nested_depth)."""
        if self.depth > max_depth:
            raise TemplateError(f"nested stacks are {self.depth} levels deep, more than the limit of {max_depth} "
                                "(orchestration_max_nested_depth); flatten the templates or raise the limit",
                                ("resources",))

    def stack_of(self, flat_name: str) -> NestedStack | None:
        """The innermost nested stack holding the flat resource ``flat_name`` (None: the root)."""
        best = None
        for st in self.stacks:
            if flat_name.startswith(st.prefix + ".") and (best is None or len(st.prefix) > len(best.prefix)):
                best = st
        return best


def expand(template: Template | Mapping[str, Any], parameters: dict[str, Any] | None = None, *,
           current: dict[str, dict[str, Any]] | None = None, files: Mapping[str, Any] | None = None,
           environment: Any = None, max_depth: int | None = None,
           max_resources: int | None = None) -> Expansion:
    """Flatten ``template``'s nested stacks (a parsed Template or the raw mapping as
    given). ``current``: the stack's existing resources by flat name -> recorded
    attributes (a group's removed members, an autoscaling group's members and the size a
    signal asked for). ``files``/``environment``: as given with the stack (taken from the
    Template when it has them). ``max_depth`` (settings.orchestration_max_nested_depth)
    and ``max_resources`` (settings.orchestration_max_resources_per_stack) refuse a
    template that nests deeper or has more resources once flat."""
    if isinstance(template, Template):
        files = files if files is not None else getattr(template, "files", None)
        environment = environment if environment is not None else getattr(template, "environment", None)
        raw = copy.deepcopy(template.raw) if getattr(template, "raw", None) else unparse_template(template)
    else:
        raw = copy.deepcopy(dict(template))
    flattener = _Flattener(raw, dict(parameters or {}), dict(current or {}), dict(files or {}),
                           environment, max_depth or DEFAULT_MAX_DEPTH)
    if not flattener.owners_left():
        tpl = template if isinstance(template, Template) else _build(raw, files, environment)
        _check_count(tpl, max_resources)
        return Expansion(template=tpl)
    flat = flattener.run()
    tpl = _build(flat, files, flattener.flat_environment())
    _check_count(tpl, max_resources)
    return Expansion(template=tpl, stacks=flattener.stacks)


# ------------------------------------------------------------------ raw snippets

def is_call(value: Any) -> str | None:
    """The function name when ``value`` is a raw call (``{get_attr: [...]}``)."""
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if key in FUNCTION_NAMES:
            return key
    return None


def unparse(tree: Any) -> Any:
    """A parsed snippet back to its raw form (each Function as ``{name: args}``)."""
    from stratus.orchestration.functions import Function

    if isinstance(tree, Function):
        return {tree.name: unparse(tree.args)}
    if isinstance(tree, dict):
        return {k: unparse(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [unparse(v) for v in tree]
    return tree


def unparse_template(tpl: Template) -> dict[str, Any]:
    """A parsed Template as a raw HOT mapping (what ``Template.from_dict`` takes)."""
    raw: dict[str, Any] = {"heat_template_version": tpl.version}
    if tpl.description:
        raw["description"] = tpl.description
    raw["parameters"] = copy.deepcopy(tpl.parameters)
    for key in ("parameter_groups", "conditions"):
        value = getattr(tpl, key, None)
        if value:
            raw[key] = unparse(value)
    resources = {}
    for name, rdef in tpl.resources.items():
        out: dict[str, Any] = {"type": rdef.type}
        if rdef.properties:
            out["properties"] = unparse(rdef.properties)
        if rdef.depends_on:
            out["depends_on"] = list(rdef.depends_on)
        for key in ("metadata", "deletion_policy", "update_policy", "condition", "external_id"):
            value = getattr(rdef, key, None)
            if value not in (None, {}, ""):
                out[key] = unparse(value)
        resources[name] = out
    raw["resources"] = resources
    outputs = {}
    for name, odef in tpl.outputs.items():
        if hasattr(odef, "value"):
            out = {"value": unparse(odef.value)}
            if getattr(odef, "description", None):
                out["description"] = odef.description
            if getattr(odef, "condition", None) is not None:
                out["condition"] = unparse(odef.condition)
            outputs[name] = out
        else:
            outputs[name] = {"value": unparse(odef)}
    raw["outputs"] = outputs
    return raw


def _build(raw: dict[str, Any], files: Mapping[str, Any] | None, environment: Any) -> Template:
    """``Template.from_dict`` with the files and environment it takes."""
    accepts = inspect.signature(Template.from_dict).parameters
    kwargs: dict[str, Any] = {}
    if "files" in accepts and files is not None:
        kwargs["files"] = dict(files)
    if "environment" in accepts and environment is not None:
        kwargs["environment"] = environment
    return Template.from_dict(raw, **kwargs)


def _check_count(tpl: Template, max_resources: int | None) -> None:
    if max_resources is not None and len(tpl.resources) > max_resources:
        raise TemplateError(
            f"the stack would have {len(tpl.resources)} resources with its nested stacks, more than the "
            f"limit of {max_resources} (orchestration_max_resources_per_stack); make groups smaller or split "
            "the stack", ("resources",))


def dig(value: Any, keys: list[Any], path: tuple[str, ...]) -> Any:
    """``value`` at ``keys``: into literal lists/maps, or by extending a get_attr/get_param."""
    for i, key in enumerate(keys):
        fn = is_call(value)
        if fn in ("get_attr", "get_param"):
            args = value[fn] if isinstance(value[fn], list) else [value[fn]]
            return {fn: [*args, *keys[i:]]}
        if fn is not None:
            raise TemplateError(f"cannot take {keys[i:]!r} from a value computed by {fn}; "
                                "refer to the whole value", path)
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise TemplateError(f"no element {key!r} in {value!r}", path) from exc
    return value


def _map(tree: Any, fn) -> Any:
    """Rewrite ``tree`` bottom-up-aware: ``fn(call_name, node)`` returns a replacement
    or None (keep, and rewrite the arguments)."""
    name = is_call(tree)
    if name is not None:
        out = fn(name, tree)
        if out is not None:
            return out
        return {name: _map(tree[name], fn)}
    if isinstance(tree, dict):
        return {k: _map(v, fn) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_map(v, fn) for v in tree]
    return tree


def _replace_text(tree: Any, old: str, new: str) -> Any:
    if isinstance(tree, str):
        return tree.replace(old, new)
    if isinstance(tree, dict):
        return {_replace_text(k, old, new): _replace_text(v, old, new) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_replace_text(v, old, new) for v in tree]
    return tree


def _int(value: Any, what: str, path: tuple[str, ...]) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TemplateError(f"{what} must be known when the stack is planned (a number or a parameter), "
                            f"not {json.dumps(value)}", path)
    try:
        return int(value)
    except ValueError as exc:
        raise TemplateError(f"{what} must be an integer, not {value!r}", path) from exc


# ------------------------------------------------------------------ the flattening

@dataclass
class _Owner:
    depth: int  # of the stack the owner is in (0: root)
    chain: tuple[str, ...]  # template identities from the root (recursion)
    path: tuple[str, ...]  # the owner's path for errors


class _Flattener:
    def __init__(self, raw: dict[str, Any], parameters: dict[str, Any], current: dict[str, dict[str, Any]],
                 files: dict[str, Any], environment: Any, max_depth: int) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("resources") or {}, dict):
            raise TemplateError("a template must be a mapping with heat_template_version and resources")
        self.raw = raw
        self.version = str(raw.get("heat_template_version") or "2021-04-16")
        self.current = current
        self.env = Environment.from_dict(environment)
        self.files = {**self.env.files, **files}
        self.max_depth = max_depth
        self.params = self._root_params(raw.get("parameters") or {}, parameters)
        self.resources: dict[str, dict[str, Any]] = {
            str(n): (dict(r) if isinstance(r, dict) else r) for n, r in (raw.get("resources") or {}).items()}
        self.info: dict[str, _Owner] = {n: _Owner(0, (), ("resources", n)) for n in self.resources}
        self.outputs = raw.get("outputs") or {}
        self.conditions = dict(raw.get("conditions") or {})
        self.stacks: list[NestedStack] = []
        self.expanded: set[str] = set()
        self.templates_used: set[str] = set()

    # -- what is an owner
    def kind(self, rtype: Any, rname: str | None = None) -> tuple[str, str] | None:
        """(kind, type or template file) of a nested-stack type; None otherwise."""
        if not isinstance(rtype, str):
            return None
        target = self.env.resolve(rtype, rname)
        if target in (STACK, GROUP, ASG):
            return (target, target)
        if is_template_path(target) or self._file_key(target) is not None:
            info = self.info.get(rname) if rname is not None else None
            own = get_type(rtype)
            if (info is not None and info.chain and self._file_key(target) == info.chain[-1]
                    and own is not None and not getattr(own, "template_resource", False)):
                return None  # inside the template the type maps to, the type is itself (Heat's ignore)
            return ("template", target)
        if getattr(get_type(target), "template_resource", False):
            # registered by another stack's expansion: not a type of this one
            raise TemplateError(f"unknown resource type {rtype!r}: map it to its template file in the "
                                "environment's resource_registry", ("resources", str(rname), "type"))
        return None

    def owners_left(self) -> list[str]:
        return [n for n, r in self.resources.items()
                if n not in self.expanded and isinstance(r, dict) and self.kind(r.get("type"), n)]

    def _file_key(self, name: str) -> str | None:
        if name in self.files:
            return name
        for key in self.files:
            if key.endswith("/" + name.lstrip("./")):
                return key
        return None

    def flat_environment(self) -> Environment:
        """The environment without the registry entries naming template files (their
        resources are expanded; the owners' types are registered as TemplateResource)."""
        env = self.env

        def keep(target: str) -> bool:
            return not (is_template_path(target) or self._file_key(target) is not None)

        return dataclasses.replace(
            env, resource_registry={k: v for k, v in env.resource_registry.items() if keep(v)},
            resource_scoped={n: {k: v for k, v in e.items() if keep(v)} for n, e in env.resource_scoped.items()})

    # -- the loop
    def run(self) -> dict[str, Any]:
        while True:
            left = self.owners_left()
            if not left:
                break
            self.expand_owner(left[0])
        flat = {k: v for k, v in self.raw.items() if k not in ("resources", "outputs", "conditions")}
        flat["resources"] = self.resources
        if self.outputs:
            flat["outputs"] = self.outputs
        if self.conditions:
            flat["conditions"] = self.conditions
        return flat

    def expand_owner(self, name: str) -> None:
        from stratus.orchestration.types import heat_groups, heat_stack

        self.expanded.add(name)
        rdef = self.resources[name]
        info = self.info[name]
        kind, target = self.kind(rdef.get("type"), name)
        props = rdef.get("properties") or {}
        if not isinstance(props, dict):
            raise TemplateError("properties must be a mapping", (*info.path, "properties"))
        if info.depth + 1 > self.max_depth:
            raise TemplateError(
                f"nested stacks are {info.depth + 1} levels deep here, more than the limit of {self.max_depth} "
                "(orchestration_max_nested_depth); flatten the templates or raise the limit", info.path)
        parent = self._parent_prefix(name)
        local = name[len(parent) + 1:] if parent else name
        if kind in (GROUP, ASG):
            cls = heat_groups.ResourceGroup if kind == GROUP else heat_groups.AutoScalingGroup
            _validate_props(cls, props, info.path)
            members, removed, nested = self._group_members(name, kind, props, info)
            stack = NestedStack(name, local, parent, nested, {}, owner_type=kind)
            self._add_group_members(name, rdef, nested["resources"], info)
            rdef["depends_on"] = _deps(rdef) + [f"{name}.{m}" for m in members]
            rdef["type"] = kind
            if kind == GROUP:
                props = dict(props)
                props["removal_policies"] = [{"resource_list": removed}] if removed else []
                props.pop("removal_policies_mode", None)
                rdef["properties"] = props
            self.stacks.append(stack)
            self._rewrite_refs(name, lambda attr, keys, path: self._group_attr(name, kind, members, removed,
                                                                               attr, keys, path))
            return
        # OS::Heat::Stack or a template resource
        if kind == STACK:
            _validate_props(heat_stack.NestedStackResource, props, info.path)
            nested_raw, identity = self._stack_template(props.get("template"), info)
            given = props.get("parameters") or {}
            if not isinstance(given, dict):
                raise TemplateError("parameters must be a mapping of the nested template's parameter names "
                                    "to values", (*info.path, "properties", "parameters"))
            given_path = (*info.path, "properties", "parameters")
        else:
            nested_raw, identity = self._file_template(target, info)
            given, given_path = props, (*info.path, "properties")
        if identity in info.chain:
            raise TemplateError(
                f"the nested template {identity} includes itself ({' -> '.join((*info.chain, identity))}); "
                "a template may not nest itself", info.path)
        nested_path = (*info.path, "resources")
        values = _nested_params(nested_raw.get("parameters") or {}, given, given_path, kind == STACK)
        outputs = self._add_nested(name, nested_raw, values, info, identity, nested_path)
        stack = NestedStack(name, local, parent, nested_raw, _plain(self.value(values, given_path)), owner_type=rdef.get("type"),
                            outputs=outputs)
        self.stacks.append(stack)
        members = [f"{name}.{r}" for r in (nested_raw.get("resources") or {})]
        rdef["depends_on"] = _deps(rdef) + members
        if kind == "template":
            written = rdef["type"]
            known = get_type(written)
            if known is not None and not getattr(known, "template_resource", False):
                # a registered type mapped to a template (OS::Nova::Server: server.yaml): the
                # owner is the template's, never the type's own tasks
                rdef["type"] = target
            heat_stack.template_resource_type(rdef["type"], nested_raw)
        else:  # the nested template is not of the flat one's scope: its digest stands for it
            digest = hashlib.sha256(json.dumps(nested_raw, sort_keys=True, default=str).encode()).hexdigest()
            source = "inline" if identity.startswith("inline:") else identity
            rdef["properties"] = {**props, "template": f"{source}@sha256:{digest}"}
        self._rewrite_refs(name, lambda attr, keys, path: self._stack_attr(name, kind, outputs, attr, keys, path),
                           reference=outputs.get("OS::stack_id") if kind == "template" else None)

    def _parent_prefix(self, name: str) -> str:
        best = ""
        for st in self.stacks:
            if name.startswith(st.prefix + ".") and len(st.prefix) > len(best):
                best = st.prefix
        return best

    # -- nested templates
    def _stack_template(self, value: Any, info: _Owner) -> tuple[dict[str, Any], str]:
        path = (*info.path, "properties", "template")
        fn = is_call(value)
        if fn == "get_file":
            key = self._file_key(str(value[fn]))
            if key is None:
                raise TemplateError(f"get_file names {value[fn]!r}, which is not among the files given with "
                                    "the stack", path)
            return self._load(self.files[key], path), key
        if fn is not None:
            raise TemplateError("the nested template must be given (inline or with get_file), not computed "
                                f"by {fn}", path)
        if isinstance(value, str):
            # a get_file resolved at parse time: the text; its identity is the file when known
            key = next((k for k, v in self.files.items() if v == value), None)
            return self._load(value, path), key or "inline:" + str(hash(value))
        if isinstance(value, dict):
            return copy.deepcopy(value), "inline:" + json.dumps(value, sort_keys=True, default=str)
        raise TemplateError("the property 'template' must be a template (a mapping or its YAML/JSON text)", path)

    def _file_template(self, target: str, info: _Owner) -> tuple[dict[str, Any], str]:
        key = self._file_key(target)
        if key is None:
            raise TemplateError(
                f"the template resource type {target!r} needs its template file: pass it with the stack "
                "(openstack stack create -t / -e resolve it into 'files')", (*info.path, "type"))
        return self._load(self.files[key], (*info.path, "type")), key

    def _load(self, content: Any, path: tuple[str, ...]) -> dict[str, Any]:
        if isinstance(content, dict):
            raw = copy.deepcopy(content)
        else:
            try:
                raw = yaml.safe_load(content)
            except yaml.YAMLError as exc:
                raise TemplateError(f"the nested template is not valid YAML: {exc}", path) from exc
        raw = _texts(raw)  # heat_template_version: 2018-08-31 stays the text (it is recorded as JSON)
        if not isinstance(raw, dict) or not isinstance(raw.get("resources") or {}, dict):
            raise TemplateError("the nested template must be a mapping with heat_template_version and resources",
                                path)
        return raw

    def _add_nested(self, owner: str, nested: dict[str, Any], values: dict[str, Any], info: _Owner,
                    identity: str, path: tuple[str, ...]) -> dict[str, Any]:
        """Add the nested template's resources as ``owner.<name>``; returns its outputs
        (rewritten into flat names)."""
        local = set(nested.get("resources") or {})
        conds = set(nested.get("conditions") or {})
        owner_def = self.resources[owner]

        def rewrite(tree: Any, where: tuple[str, ...]) -> Any:
            def fn(name: str, node: dict[str, Any]) -> Any:
                args = node[name]
                if name == "get_param":
                    parts = args if isinstance(args, list) else [args]
                    pname = parts[0] if parts else None
                    if pname == "OS::stack_name":
                        return {"list_join": ["-", [{"get_param": "OS::stack_name"}, owner.replace(".", "-")]]}
                    if pname in PSEUDO:
                        return {"get_param": pname}
                    if pname not in values:
                        raise TemplateError(f"the parameter {pname!r} is not defined in the nested template; add "
                                            "it under 'parameters'", where)
                    # the value is of the owner's scope: kept as given
                    return dig(copy.deepcopy(values[pname]), [rewrite(k, where) for k in parts[1:]],
                               where)
                if name == "get_resource" and args in local:
                    return {"get_resource": f"{owner}.{args}"}
                if name == "get_attr" and isinstance(args, list) and args and args[0] in local:
                    return {"get_attr": [f"{owner}.{args[0]}", *rewrite(args[1:], where)]}
                if name in ("if", "Fn::If") and isinstance(args, list) and args and args[0] in conds:
                    return {name: [f"{owner}.{args[0]}", *rewrite(args[1:], where)]}
                if name == "condition" and args in conds:
                    return {"condition": f"{owner}.{args}"}
                if name == "get_file":
                    return node
                return None

            return _map(tree, fn)

        for cname, cdef in (nested.get("conditions") or {}).items():
            self.conditions[f"{owner}.{cname}"] = rewrite(copy.deepcopy(cdef), (*path[:-1], "conditions", cname))
        owner_deps = _deps(owner_def)
        owner_cond = owner_def.get("condition")
        for rname, rdef in (nested.get("resources") or {}).items():
            where = (*path, str(rname))
            if not isinstance(rdef, dict):
                raise TemplateError("a resource must be a mapping with a 'type'", where)
            flat_name = f"{owner}.{rname}"
            out = {k: rewrite(copy.deepcopy(v), (*where, k)) for k, v in rdef.items()
                   if k not in ("depends_on", "condition")}
            deps = _deps(rdef)
            for d in deps:
                if d not in local:
                    raise TemplateError(f"depends_on names {d!r}, which is not a resource of the nested template",
                                        (*where, "depends_on"))
            out["depends_on"] = [f"{owner}.{d}" for d in deps] + owner_deps
            cond = rdef.get("condition")
            if isinstance(cond, str) and cond in conds:
                cond = f"{owner}.{cond}"
            elif cond is not None:
                cond = rewrite(copy.deepcopy(cond), (*where, "condition"))
            out["condition"] = self._and_condition(flat_name, owner_cond, cond)
            if out["condition"] is None:
                del out["condition"]
            self.resources[flat_name] = out
            self.info[flat_name] = _Owner(info.depth + 1, (*info.chain, identity), where)
        return {str(k): rewrite(copy.deepcopy(v.get("value") if isinstance(v, dict) else v),
                                (*path[:-1], "outputs", str(k)))
                for k, v in (nested.get("outputs") or {}).items()}

    def _and_condition(self, flat_name: str, outer: Any, inner: Any) -> Any:
        if outer is None or inner is None:
            return inner if outer is None else outer
        both = f"{flat_name}.condition"
        self.conditions[both] = {"and": [outer, inner]}
        return both

    # -- groups
    def _group_members(self, name: str, kind: str, props: dict[str, Any], info: _Owner
                       ) -> tuple[list[str], list[str], dict[str, Any]]:
        path = (*info.path, "properties")
        recorded = self.current.get(name) or {}
        existing = sorted({k[len(name) + 1:].split(".")[0] for k in self.current if k.startswith(name + ".")},
                          key=_name_key)
        if kind == GROUP:
            count = _int(self.value(props.get("count", 1), path), "count", (*path, "count"))
            if count < 0:
                raise TemplateError("count must be 0 or more", (*path, "count"))
            removed = self._blacklist(name, props, recorded, path)
            names = list(itertools.islice((str(i) for i in itertools.count() if str(i) not in removed), count))
            definition = props.get("resource_def")
            if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
                raise TemplateError("resource_def must be a mapping with a 'type'", (*path, "resource_def"))
        else:
            lo = _int(self.value(props.get("min_size"), path), "min_size", (*path, "min_size"))
            hi = _int(self.value(props.get("max_size"), path), "max_size", (*path, "max_size"))
            if lo < 0 or hi < lo:
                raise TemplateError(f"min_size ({lo}) must be 0 or more and not above max_size ({hi})", path)
            desired = props.get("desired_capacity")
            desired = None if desired is None else _int(self.value(desired, path), "desired_capacity",
                                                         (*path, "desired_capacity"))
            if "desired_size" in recorded:  # a scaling policy's signal asked for it
                size = int(recorded["desired_size"])
            elif existing and recorded.get("desired_capacity") == desired:
                size = len(existing)  # keep what scaling made while the property did not change
            else:
                size = desired if desired is not None else lo
            size = max(lo, min(hi, size))
            keep = existing[len(existing) - size:] if size < len(existing) else existing  # oldest go first
            nxt = max((int(n) for n in existing if n.isdigit()), default=-1) + 1
            names = keep + [str(i) for i in range(nxt, nxt + size - len(keep))]
            removed = []
            definition = props.get("resource")
            if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
                raise TemplateError("resource must be a mapping with a 'type'", (*path, "resource"))
        key = "resource_def" if kind == GROUP else "resource"
        unknown = sorted(str(k) for k in set(definition) - MEMBER_KEYS)
        if unknown:
            raise TemplateError(f"{key} takes {', '.join(sorted(MEMBER_KEYS))}, not {unknown[0]!r}",
                                (*path, key, unknown[0]))
        nested = _texts({"heat_template_version": self.version,
                         "resources": {n: self._member_def(kind, props, definition, n) for n in names}})
        return names, removed, nested

    def _blacklist(self, name: str, props: dict[str, Any], recorded: dict[str, Any],
                   path: tuple[str, ...]) -> list[str]:
        """Names never used again (Heat's removal_policies blacklist), accumulated
        across updates ("append") or replaced ("update")."""
        mode = self.value(props.get("removal_policies_mode", "append"), path)
        before = [] if mode == "update" else [str(n) for n in recorded.get("removed_rsrc_list") or []]
        ids = {str(attrs.get("id")): k[len(name) + 1:] for k, attrs in self.current.items()
               if k.startswith(name + ".") and isinstance(attrs, dict) and attrs.get("id")}
        removed = list(before)
        policies = self.value(props.get("removal_policies") or [], path)
        if not isinstance(policies, list):
            raise TemplateError("removal_policies must be a list of {resource_list: [...]}",
                                (*path, "removal_policies"))
        for i, policy in enumerate(policies):
            items = policy.get("resource_list") if isinstance(policy, dict) else None
            if not isinstance(items, list):
                raise TemplateError("each removal policy is {resource_list: [names or ids]}",
                                    (*path, "removal_policies", str(i)))
            for item in items:
                member = ids.get(str(item), str(item))
                if member not in removed:
                    removed.append(member)
        return removed

    def _member_def(self, kind: str, props: dict[str, Any], definition: dict[str, Any], member: str
                    ) -> dict[str, Any]:
        out = copy.deepcopy(definition)
        if kind == GROUP:
            index_var = props.get("index_var", "%index%")
            if isinstance(index_var, str) and index_var:
                for key in ("properties", "metadata"):
                    if key in out:
                        out[key] = _replace_text(out[key], index_var, member)
        return out

    def _add_group_members(self, owner: str, owner_def: dict[str, Any], members: dict[str, Any], info: _Owner
                           ) -> None:
        for m, mdef in members.items():
            rdef = copy.deepcopy(mdef)
            rdef["depends_on"] = _deps(owner_def)
            if owner_def.get("condition") is not None:
                rdef["condition"] = owner_def["condition"]
            flat = f"{owner}.{m}"
            self.resources[flat] = rdef
            self.info[flat] = _Owner(info.depth + 1, info.chain, (*info.path, "resources", m))

    def value(self, snippet: Any, path: tuple[str, ...]) -> Any:
        """A property value known when planning: literals and the root's parameters."""
        def fn(name: str, node: dict[str, Any]) -> Any:
            if name == "get_param":
                parts = node[name] if isinstance(node[name], list) else [node[name]]
                if parts and parts[0] in self.params:
                    return dig(copy.deepcopy(self.params[parts[0]]), parts[1:], path)
            return None
        return _map(snippet, fn)

    # -- rewriting references to an owner
    def _rewrite_refs(self, owner: str, attr_fn, reference: Any = None) -> None:
        def fn(name: str, node: dict[str, Any]) -> Any:
            args = node[name]
            if name == "get_attr" and isinstance(args, list) and args and args[0] == owner:
                if len(args) < 2:
                    return None
                keys = [_map(k, fn) for k in args[2:]]
                return attr_fn(args[1], keys, ("resources", owner))
            if name == "get_resource" and args == owner and reference is not None:
                return copy.deepcopy(reference)
            return None

        for rdef in self.resources.values():
            if isinstance(rdef, dict):
                for key in ("properties", "metadata"):
                    if key in rdef:
                        rdef[key] = _map(rdef[key], fn)
        for odef in self.outputs.values():
            if isinstance(odef, dict) and "value" in odef:
                odef["value"] = _map(odef["value"], fn)
        for st in self.stacks:
            st.outputs = {k: _map(v, fn) for k, v in st.outputs.items()}

    def _group_attr(self, owner: str, kind: str, members: list[str], removed: list[str], attr: str,
                    keys: list[Any], path: tuple[str, ...]) -> Any:
        flat = [f"{owner}.{m}" for m in members]
        if attr == "refs":
            value: Any = [{"get_resource": f} for f in flat]
        elif attr == "refs_map":
            value = {m: {"get_resource": f"{owner}.{m}"} for m in members}
        elif attr == "current_size":
            value = len(members)
        elif attr == "removed_rsrc_list":
            value = list(removed)
        elif attr in ("attributes", "outputs_list", "outputs") and (kind == GROUP and attr == "attributes"
                                                                    or kind == ASG):
            if not keys:
                raise TemplateError(f"get_attr [{owner}, {attr}, <attribute>] needs the members' attribute name",
                                    path)
            member_attr, rest = keys[0], keys[1:]
            if attr == "outputs":
                return {m: {"get_attr": [f"{owner}.{m}", member_attr, *rest]} for m in members}
            return [{"get_attr": [f, member_attr, *rest]} for f in flat]
        elif attr.startswith("resource."):
            parts = attr.split(".", 2)
            member = parts[1] if len(parts) > 1 else ""
            if member not in members:
                raise TemplateError(f"{owner} has no member {member!r}; its members: {', '.join(members) or 'none'}",
                                    path)
            if len(parts) == 3:
                return {"get_attr": [f"{owner}.{member}", parts[2], *keys]}
            value = {"get_resource": f"{owner}.{member}"}
        elif kind == GROUP:
            # any other name: that attribute of every member (Heat's ResourceGroup)
            return [{"get_attr": [f, attr, *keys]} for f in flat]
        else:
            raise TemplateError(f"the autoscaling group {owner!r} has no attribute {attr!r}; it has: current_size, "
                                "outputs, outputs_list, refs, refs_map", path)
        return dig(value, keys, path)

    def _stack_attr(self, owner: str, kind: str, outputs: dict[str, Any], attr: str, keys: list[Any],
                    path: tuple[str, ...]) -> Any:
        if attr == "outputs" and keys:
            return dig(self._output(owner, outputs, str(keys[0]), path), keys[1:], path)
        if attr == "outputs":
            value: Any = {k: v for k, v in outputs.items() if k != "OS::stack_id"}
        elif attr.startswith("outputs."):
            value = self._output(owner, outputs, attr[len("outputs."):], path)
        elif attr == "stack_name":
            value = {"list_join": ["-", [{"get_param": "OS::stack_name"}, owner.replace(".", "-")]]}
        elif kind == "template":
            value = self._output(owner, outputs, attr, path)
        else:
            raise TemplateError(f"the nested stack {owner!r} has no attribute {attr!r}; it has: outputs, "
                                "outputs.<name>, stack_name", path)
        return dig(value, keys, path)

    @staticmethod
    def _output(owner: str, outputs: dict[str, Any], name: str, path: tuple[str, ...]) -> Any:
        if name not in outputs:
            raise TemplateError(f"the nested stack of {owner!r} has no output {name!r}; its outputs: "
                                f"{', '.join(sorted(outputs)) or 'none'}", path)
        return copy.deepcopy(outputs[name])

    # -- parameters
    @staticmethod
    def _root_params(defs: Any, given: dict[str, Any]) -> dict[str, Any]:
        out = {}
        if isinstance(defs, dict):
            for pname, pdef in defs.items():
                if pname in given:
                    out[pname] = given[pname]
                elif isinstance(pdef, dict) and "default" in pdef:
                    out[pname] = pdef["default"]
        return out


def _texts(tree: Any) -> Any:
    """YAML's dates and times as the text they were written as."""
    if isinstance(tree, dict):
        return {_texts(k): _texts(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_texts(v) for v in tree]
    if isinstance(tree, datetime.date):
        return tree.isoformat()
    return tree


def _deps(rdef: dict[str, Any]) -> list[str]:
    deps = rdef.get("depends_on") or []
    return [deps] if isinstance(deps, str) else list(deps)


def _name_key(name: str) -> tuple[int, Any]:
    return (0, int(name)) if name.isdigit() else (1, name)


def _validate_props(cls, props: dict[str, Any], path: tuple[str, ...]) -> None:
    unknown = sorted(set(props) - set(cls.properties_schema))
    if unknown:
        raise TemplateError(f"unknown property {unknown[0]!r}; known properties: "
                            f"{', '.join(sorted(cls.properties_schema))}", (*path, "properties", unknown[0]))
    for key, sch in cls.properties_schema.items():
        if sch.required and props.get(key) is None:
            raise TemplateError(f"the property {key!r} is required", (*path, "properties"))


def _nested_params(defs: Any, given: dict[str, Any], path: tuple[str, ...], stack: bool) -> dict[str, Any]:
    """The nested template's parameter values: given by the owner, else the default."""
    if not isinstance(defs, dict):
        raise TemplateError("the nested template's parameters must be a mapping", path)
    unknown = sorted(set(given) - set(defs))
    if unknown:
        what = "parameter" if stack else "property"
        raise TemplateError(f"unknown {what} {unknown[0]!r}: the nested template's parameters are "
                            f"{', '.join(sorted(defs)) or 'none'}", (*path, unknown[0]))
    out = {}
    for pname, pdef in defs.items():
        pdef = pdef if isinstance(pdef, dict) else {}
        if pname in given and given[pname] is not None:
            value = given[pname]
            ptype = pdef.get("type")
            if ptype == "number" and isinstance(value, str):
                try:
                    value = float(value) if "." in value else int(value)
                except ValueError as exc:
                    raise TemplateError(f"{pname!r} must be a number, not {value!r}", (*path, pname)) from exc
            elif ptype == "comma_delimited_list" and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            out[pname] = value
        elif "default" in pdef:
            out[pname] = pdef["default"]
        else:
            what = "parameter" if stack else "property"
            raise TemplateError(f"the nested template needs the {what} {pname!r} (its parameter has no default)",
                                path)
    return out


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """The parameters that are plain values (for the nested stack's record)."""
    def plain(v: Any) -> bool:
        if is_call(v):
            return False
        if isinstance(v, dict):
            return all(plain(x) for x in v.values())
        if isinstance(v, list):
            return all(plain(x) for x in v)
        return True
    return {k: v for k, v in values.items() if plain(v)}
