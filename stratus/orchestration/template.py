"""The template model: HOT (``heat_template_version`` 2013-05-23 … 2021-04-16 and the
release aliases) and a CloudFormation subset (:mod:`stratus.orchestration.cfn`),
validated on load, before anything runs.

Sections: ``description``, ``parameters`` (:mod:`.parameters`), ``parameter_groups``,
``conditions`` (2016-10-14 on), ``resources`` (``type``, ``properties``,
``depends_on``, ``metadata``, ``deletion_policy`` Delete|Retain|Snapshot,
``update_policy``, ``description``; ``condition`` and ``external_id`` from 2016-10-14)
and ``outputs`` (``value``, ``description``, ``condition``). Functions are parsed with
the version's own function table (:mod:`.hot_versions`); ``get_file`` reads ``files``.

Types are resolved through the ``environment``'s resource_registry; a type that is a
template file (``my_server.yaml``) is a template resource, which the nested-stack
expansion (:mod:`.nested`) turns into a nested stack. Every error is a TemplateError
with the path of what is wrong (``resources.web.properties.flavor``).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stratus.orchestration import functions, hot_versions
from stratus.orchestration import parameters as params
from stratus.orchestration.environment import Environment, is_template_path, read_relative
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.graph import topological_order
from stratus.orchestration.properties import Properties
from stratus.orchestration.resources import ResourceType, get_type, registered_types

CONDITIONS_SINCE = hot_versions.CONDITIONS_SINCE
TOP_KEYS = ("heat_template_version", "description", "parameter_groups", "parameters", "resources",
            "outputs", "conditions")
RESOURCE_KEYS = ("type", "properties", "metadata", "depends_on", "deletion_policy", "update_policy",
                 "description")
RESOURCE_KEYS_2016 = ("condition", "external_id")
OUTPUT_KEYS = ("value", "description")
DELETION_POLICIES = ("Delete", "Retain", "Snapshot")
CFN_KEYS = {"resources": "Resources", "outputs": "Outputs", "type": "Type", "properties": "Properties",
            "depends_on": "DependsOn", "deletion_policy": "DeletionPolicy", "update_policy": "UpdatePolicy",
            "condition": "Condition", "conditions": "Conditions"}


def canonical_version(version: Any) -> str:
    """The HOT date of ``version`` (a date, a release alias, a YAML date);
    TemplateError otherwise."""
    return hot_versions.hot_version(version)


@dataclass
class ResourceDefinition:
    name: str
    type: str  # as written in the template
    properties: dict[str, Any]  # parsed: may hold Function objects
    depends_on: list[str] = field(default_factory=list)
    metadata: Any = field(default_factory=dict)  # parsed
    deletion_policy: str = "Delete"
    update_policy: dict[str, Any] = field(default_factory=dict)
    condition: Any = None  # a condition name, a boolean or a parsed condition function
    external_id: str | None = None  # the resource is adopted (this id), not made
    description: str = ""
    resolved_type: str = ""  # through the environment: a type name or a template file
    # names of the resources present (a plan leaves out those whose condition is false)
    scope: frozenset[str] | None = field(default=None, repr=False, compare=False)

    @property
    def effective_type(self) -> str:
        return self.resolved_type or self.type

    @property
    def is_template_resource(self) -> bool:
        """A type backed by a template file: the nested-stack expansion makes it."""
        return is_template_path(self.effective_type)

    @property
    def type_class(self) -> type[ResourceType] | None:
        return get_type(self.effective_type)

    def dependencies(self) -> set[str]:
        deps = set(self.depends_on) | functions.dependencies(self.properties) | functions.dependencies(self.metadata)
        return deps if self.scope is None else deps & self.scope


@dataclass
class OutputDefinition:
    name: str
    value: Any  # parsed
    description: str = ""
    condition: Any = None


@dataclass
class Template:
    version: str  # the HOT date (or "2010-09-09" for CloudFormation)
    description: str
    parameters: dict[str, params.ParamSchema]
    resources: dict[str, ResourceDefinition]
    outputs: dict[str, OutputDefinition]
    parameter_groups: list[dict[str, Any]] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)  # name -> parsed condition
    files: dict[str, str] = field(default_factory=dict)
    environment: Environment = field(default_factory=Environment)
    format: str = "HOT"  # or "CFN"
    mappings: dict[str, Any] = field(default_factory=dict)  # CloudFormation's Mappings
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # as given
    notes: list[str] = field(default_factory=list)  # checks skipped (offline), warnings

    @property
    def version_name(self) -> str:
        """Heat's name of the version (``heat_template_version.2018-08-31``)."""
        key = "AWSTemplateFormatVersion" if self.format == "CFN" else "heat_template_version"
        return f"{key}.{self.version}"

    @property
    def hidden_parameters(self) -> set[str]:
        return {n for n, s in self.parameters.items() if s.hidden}

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path, *, environment: Environment | Mapping[str, Any] | None = None) -> Template:
        """A template file; the files it names (``get_file``, template resources) are
        read relative to its directory, never outside it."""
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise TemplateError(f"{path} is not valid YAML: {exc}") from None
        except OSError as exc:
            raise TemplateError(f"cannot read the template {path}: {exc.strerror}") from None
        env = Environment.from_dict(environment)
        files = dict(env.files)
        files.update(collect_files(raw, path.parent, files))
        return cls.from_dict(raw, files=files, environment=env)

    @classmethod
    def from_dict(cls, raw: Any, *, files: Mapping[str, str] | None = None,
                  environment: Environment | Mapping[str, Any] | None = None) -> Template:
        """A template from its mapping (HOT or CloudFormation), validated."""
        env = Environment.from_dict(environment)
        files = dict(files or {}) if files is not None else None
        if isinstance(raw, Mapping) and "AWSTemplateFormatVersion" in raw:
            from stratus.orchestration import cfn

            tpl = cfn.build(raw, files=files or {}, environment=env)
            tpl.validate()
            return tpl
        if not isinstance(raw, Mapping):
            raise TemplateError("a template must be a mapping with heat_template_version and resources")
        if "heat_template_version" not in raw:
            raise TemplateError("the template has no heat_template_version (e.g. 2018-08-31); "
                                "a CloudFormation template starts with AWSTemplateFormatVersion",
                                ("heat_template_version",))
        version = canonical_version(raw.get("heat_template_version"))
        allowed = [k for k in TOP_KEYS if k != "conditions" or version >= CONDITIONS_SINCE]
        unknown = sorted(str(k) for k in raw if k not in allowed)
        if unknown:
            hint = (f"; conditions need heat_template_version {CONDITIONS_SINCE} or later"
                    if "conditions" in unknown else "")
            raise TemplateError(f"unknown top-level section(s) {', '.join(unknown)}; allowed: "
                                f"{', '.join(allowed)}{hint}")
        parse = _parser(hot_versions.function_table(version), files)
        schemas = params.parse_section(raw.get("parameters"), version)
        groups = params.parse_groups(raw.get("parameter_groups"), schemas)
        conditions = _parse_conditions(raw.get("conditions"), version, files)
        resources = _parse_resources(raw.get("resources"), version, parse, env)
        outputs = _parse_outputs(raw.get("outputs"), version, parse)
        description = raw.get("description")
        if description is not None and not isinstance(description, str):
            raise TemplateError("description must be a string", ("description",))
        tpl = cls(version, description or "", schemas, resources, outputs, groups, conditions,
                  files=dict(files or {}), environment=env, raw=dict(raw), notes=list(env.warnings))
        tpl.validate()
        return tpl

    # ----------------------------------------------------------------- checks
    def validate(self) -> None:
        """Types known (or template files), properties, policies, references and the
        dependency order; raises TemplateError naming the path."""
        for name, res in self.resources.items():
            self._validate_resource(name, res)
        for name, out in self.outputs.items():
            self._check_condition_ref(out.condition, (self.key("outputs"), name, self.key("condition")))
            for fn in functions.walk(out.value):
                fn.validate(self)
        for fn in functions.walk(list(self.conditions.values())):
            fn.validate(self)
        self.order()  # raises DependencyCycle

    def key(self, name: str) -> str:
        """The template's own word for a section or key (``Properties`` in CloudFormation)."""
        return CFN_KEYS.get(name, name) if self.format == "CFN" else name

    def _validate_resource(self, name: str, res: ResourceDefinition) -> None:
        k = self.key
        path = (k("resources"), name)
        if res.is_template_resource:
            target = res.effective_type
            if self.files and "://" not in target and target not in self.files:
                raise TemplateError(f"the template resource file {target!r} was not given; "
                                    "put it beside the template (or pass it in files)", (*path, k("type")))
        else:
            cls = res.type_class
            if cls is None:
                raise TemplateError(unknown_type_message(res.effective_type, res.type), (*path, k("type")))
            Properties(cls.properties_schema, res.properties, cls.open_properties).validate((*path, k("properties")))
            if res.deletion_policy == "Snapshot" and not cls.snapshot_allowed:
                raise TemplateError(f"{cls.type_name} cannot be snapshotted; use deletion_policy Delete or "
                                    "Retain", (*path, k("deletion_policy")))
            if res.update_policy:
                schema = cls.update_policy_schema
                if not schema:
                    raise TemplateError(f"{cls.type_name} takes no update_policy; remove it",
                                        (*path, k("update_policy")))
                if not any(isinstance(v, functions.Function) for v in res.update_policy.values()):
                    Properties(schema, res.update_policy).validate((*path, k("update_policy")))
        for dep in res.depends_on:
            if dep not in self.resources:
                raise TemplateError(f"depends_on names {dep!r}, which is not a resource of this template",
                                    (*path, k("depends_on")))
            if dep == name:
                raise TemplateError("a resource cannot depend on itself", (*path, k("depends_on")))
        self._check_condition_ref(res.condition, (*path, k("condition")))
        for fn in functions.walk([res.properties, res.metadata, res.update_policy]):
            fn.validate(self)

    def _check_condition_ref(self, cond: Any, path: tuple[str, ...]) -> None:
        if isinstance(cond, str) and cond not in self.conditions:
            raise TemplateError(f"the condition {cond!r} is not defined; add it under 'conditions' "
                                f"(defined: {', '.join(self.conditions) or 'none'})", path)
        for fn in functions.walk(cond):
            fn.validate(self)

    def order(self) -> list[str]:
        return topological_order({n: r.dependencies() for n, r in self.resources.items()})

    # ----------------------------------------------------------------- values
    def parameter_values(self, given: Mapping[str, Any] | None = None, db=None, ctx=None, *,
                         project_id: str | None = None) -> dict[str, Any]:
        """The parameters' values: ``given`` over the environment's ``parameters``, then
        its ``parameter_defaults``, then the template's defaults; coerced, constraints
        checked, custom constraints against ``db`` for ``ctx`` (a RequestContext) or
        ``project_id`` (skipped offline, noted in ``notes``)."""
        from stratus.orchestration import constraints

        merged = {**self.environment.parameters, **dict(given or {})}
        # environment parameters for names this template lacks belong to nested templates
        extra = {n for n in self.environment.parameters if n not in self.parameters and n not in (given or {})}
        values = params.values(self.parameters, {k: v for k, v in merged.items() if k not in extra},
                               self.environment.parameter_defaults)
        who = constraints.Caller.of(ctx, project_id)
        for name, schema in self.parameters.items():
            for c in schema.constraints:
                if c.kind != "custom_constraint":
                    continue
                try:
                    note = constraints.check(c.args, values[name], db, who)
                except constraints.Refused as exc:
                    raise params.constraint_error(schema, c, values[name], str(exc)) from None
                note = note and f"parameters.{name}: {note}"
                if note and note not in self.notes:
                    self.notes.append(note)
        return values

    def check_parameter_update(self, old_values: Mapping[str, Any], new_values: Mapping[str, Any]) -> None:
        """Refuse an update that changes an immutable parameter."""
        params.check_update(self.parameters, old_values, new_values)

    def condition_values(self, values: Mapping[str, Any]) -> dict[str, bool]:
        """Every condition's truth for the parameter ``values`` (pseudo ones included)."""
        if not self.conditions:
            return {}
        ctx = _ParamContext(values)
        return dict(functions.evaluate_conditions(self.conditions, ctx))

    def is_active(self, cond: Any, conditions: Mapping[str, bool], values: Mapping[str, Any]) -> bool:
        """Whether a resource's or output's ``condition`` holds."""
        if cond is None:
            return True
        if isinstance(cond, bool):
            return cond
        if isinstance(cond, str):
            return bool(conditions[cond])
        inline = functions.evaluate_conditions({**self.conditions, "\0inline": cond}, _ParamContext(values))
        return bool(inline["\0inline"])

    def active_resources(self, values: Mapping[str, Any]) -> list[str]:
        """Names of the resources whose condition holds for the parameter ``values``."""
        conditions = self.condition_values(values)
        return [n for n, r in self.resources.items() if self.is_active(r.condition, conditions, values)]

    def for_values(self, values: Mapping[str, Any]) -> tuple[Template, dict[str, bool]]:
        """The template as a plan sees it for ``values``: resources and outputs whose
        condition is false left out (references to them dropped from the dependencies),
        and the conditions' truth."""
        conditions = self.condition_values(values)
        active = frozenset(n for n, r in self.resources.items() if self.is_active(r.condition, conditions, values))
        if len(active) == len(self.resources) and all(o.condition is None for o in self.outputs.values()):
            return self, conditions
        resources = {n: dataclasses.replace(r, scope=active) for n, r in self.resources.items() if n in active}
        outputs = {n: o for n, o in self.outputs.items() if self.is_active(o.condition, conditions, values)}
        return dataclasses.replace(self, resources=resources, outputs=outputs), conditions


class _ParamContext:
    """What conditions may read: parameters (ResolveContext's ``param``)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def param(self, name: str) -> Any:
        if name not in self.values:
            raise TemplateError(f"the parameter {name!r} has no value", ("parameters", name))
        return self.values[name]

    def resource_id(self, name: str) -> Any:
        raise TemplateError("conditions cannot refer to resources", ("conditions",))

    def attribute(self, name: str, attr: str, path: list[Any]) -> Any:
        raise TemplateError("conditions cannot refer to resource attributes", ("conditions",))

    def condition(self, name: str) -> bool:
        raise TemplateError(f"the condition {name!r} is not known here", ("conditions",))

    def resource_active(self, name: str) -> bool:
        return True


# --------------------------------------------------------------------- parsing helpers
def _parser(table: Any, files: Mapping[str, str] | None):
    """``functions.parse`` with the version's table and the files for get_file."""
    return lambda snippet, path: functions.parse(snippet, path, table=table, files=files)


def _parse_conditions(raw: Any, version: str, files: Mapping[str, str] | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("conditions must be a mapping of names to condition functions", ("conditions",))
    parse = _parser(hot_versions.condition_table(version), files)
    return {str(name): parse(expr, ("conditions", str(name))) for name, expr in raw.items()}


def _parse_resources(raw: Any, version: str, parse, env: Environment) -> dict[str, ResourceDefinition]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("resources must be a mapping of names to definitions", ("resources",))
    keys = RESOURCE_KEYS + (RESOURCE_KEYS_2016 if version >= CONDITIONS_SINCE else ())
    out: dict[str, ResourceDefinition] = {}
    for name, rdef in raw.items():
        name = str(name)
        path = ("resources", name)
        check_resource_name(name, path)
        if not isinstance(rdef, Mapping):
            raise TemplateError("a resource must be a mapping with a 'type'", path)
        bad = sorted(str(k) for k in rdef if k not in keys)
        if bad:
            hint = (f" (condition and external_id need heat_template_version {CONDITIONS_SINCE} or later)"
                    if set(bad) & set(RESOURCE_KEYS_2016) else "")
            raise TemplateError(f"unknown key(s) {', '.join(bad)} in a resource; allowed: {', '.join(keys)}{hint}",
                                path)
        rtype = rdef.get("type")
        if not isinstance(rtype, str) or not rtype:
            raise TemplateError("the resource has no 'type'", path)
        deps = dependency_names(rdef.get("depends_on"), (*path, "depends_on"))
        props = rdef.get("properties")
        if props is not None and not isinstance(props, Mapping):
            raise TemplateError("properties must be a mapping", (*path, "properties"))
        metadata = rdef.get("metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TemplateError("metadata must be a mapping", (*path, "metadata"))
        update_policy = rdef.get("update_policy")
        if update_policy is not None and not isinstance(update_policy, Mapping):
            raise TemplateError("update_policy must be a mapping", (*path, "update_policy"))
        external_id = rdef.get("external_id")
        if external_id is not None and (not isinstance(external_id, str) or not external_id):
            raise TemplateError("external_id must be the id (a string) of the existing resource to adopt",
                                (*path, "external_id"))
        description = rdef.get("description")
        if description is not None and not isinstance(description, str):
            raise TemplateError("description must be a string", (*path, "description"))
        resolved = env.resolve(rtype, name)
        out[name] = ResourceDefinition(
            name=name, type=rtype,
            properties=parse(renamed(get_type(resolved), dict(props or {}), (*path, "properties")),
                             (*path, "properties")),
            depends_on=deps,
            metadata=parse(dict(metadata or {}), (*path, "metadata")),
            deletion_policy=deletion_policy(rdef.get("deletion_policy"), version, (*path, "deletion_policy")),
            update_policy=parse(dict(update_policy or {}), (*path, "update_policy")),
            condition=_condition_key(rdef.get("condition"), version, (*path, "condition")),
            external_id=external_id, description=description or "",
            resolved_type=resolved,
        )
    return out


def renamed(cls: type[ResourceType] | None, props: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """``props`` with the type's deprecated property names (Heat's ``network_id`` …)
    renamed to the current ones; both at once is refused."""
    aliases = cls.property_aliases if cls is not None else {}
    out = dict(props)
    for old, new in aliases.items():
        if old in out:
            if new in out:
                raise TemplateError(f"give {new!r} or its old name {old!r}, not both", (*path, old))
            out[new] = out.pop(old)
    return out


def dependency_names(value: Any, path: tuple[str, ...]) -> list[str]:
    """A resource's ``depends_on`` (HOT) or ``DependsOn`` (CFN): a name or a list of names."""
    deps = [value] if isinstance(value, str) else (value or [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise TemplateError(f"{path[-1]} must be a resource name or a list of them", path)
    return list(deps)


def check_resource_name(name: str, path: tuple[str, ...]) -> None:
    """Heat's rule: a resource name is not empty and has no "/" (stacks address resources
    by name in URLs)."""
    if not name or "/" in name:
        raise TemplateError(f"the resource name {name!r} is not valid: give a non-empty name without '/'", path)


def deletion_policy(value: Any, version: str, path: tuple[str, ...]) -> str:
    """``Delete`` (the default), ``Retain`` or ``Snapshot`` (lower case from 2016-10-14)."""
    if value is None:
        return "Delete"
    if isinstance(value, str):
        for policy in DELETION_POLICIES:
            if value == policy or (version >= CONDITIONS_SINCE and value == policy.lower()):
                return policy
    raise TemplateError(f"deletion_policy {value!r} is not one of {', '.join(DELETION_POLICIES)}", path)


def _condition_key(value: Any, version: str, path: tuple[str, ...]) -> Any:
    """A resource's or output's ``condition``: a condition name, a boolean, or an
    inline condition function."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Mapping):
        return functions.parse_condition(value, path, version)
    raise TemplateError("condition must name a condition of the 'conditions' section, or be true/false", path)


def _parse_outputs(raw: Any, version: str, parse) -> dict[str, OutputDefinition]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("outputs must be a mapping", ("outputs",))
    keys = OUTPUT_KEYS + (("condition",) if version >= CONDITIONS_SINCE else ())
    out = {}
    for name, odef in raw.items():
        name = str(name)
        path = ("outputs", name)
        if not isinstance(odef, Mapping) or "value" not in odef:
            raise TemplateError("an output needs a 'value'", path)
        bad = sorted(str(k) for k in odef if k not in keys)
        if bad:
            raise TemplateError(f"unknown key(s) {', '.join(bad)} in an output; allowed: {', '.join(keys)}", path)
        out[name] = OutputDefinition(name, parse(odef["value"], (*path, "value")),
                                     str(odef.get("description") or ""),
                                     _condition_key(odef.get("condition"), version, (*path, "condition")))
    return out


def unknown_type_message(type_name: str, written: str | None = None) -> str:
    """Stratus has no type ``type_name``: say so, with similar types that exist."""
    known = registered_types()
    similar = difflib.get_close_matches(type_name, known, n=3, cutoff=0.8)
    namespace = type_name.rsplit("::", 1)[0] + "::" if "::" in type_name else None
    if namespace:
        similar += [t for t in known if t.startswith(namespace) and t not in similar][:5]
    via = f" (mapped from {written!r} by the environment)" if written and written != type_name else ""
    none = f"; it has no {namespace}* types" if namespace else ""
    hint = (f"; similar types: {', '.join(similar)}" if similar
            else f"{none} (`openstack orchestration resource type list` lists the types)")
    return f"unknown resource type {type_name!r}{via}: Stratus does not provide it{hint}"


def collect_files(raw: Any, base: Path, have: Mapping[str, str] | None = None) -> dict[str, str]:
    """The files a template names (``get_file`` arguments, template-resource types),
    read relative to ``base`` (refused when outside it), recursively for nested
    template files."""
    out: dict[str, str] = {}
    todo = [raw]
    while todo:
        node = todo.pop()
        for name, path in _references(node):
            if name in out or (have and name in have):
                continue
            if "://" in name and not name.startswith("file://"):
                raise TemplateError(f"the file {name!r} is a URL; Stratus reads only files beside the template",
                                    path)
            out[name] = read_relative(base, name, path)
            if is_template_path(name):
                try:
                    todo.append(yaml.safe_load(out[name]))
                except yaml.YAMLError as exc:
                    raise TemplateError(f"the template file {name!r} is not valid YAML: {exc}", path) from None
    return out


def _references(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    if isinstance(node, Mapping):
        if len(node) == 1 and "get_file" in node and isinstance(node["get_file"], str):
            return [(node["get_file"], path)]
        rtype = node.get("type")
        if isinstance(rtype, str) and is_template_path(rtype) and (
                (len(path) == 2 and path[0] == "resources") or path[-1:] == ("resource_def",)):
            found.append((rtype, (*path, "type")))
        for k, v in node.items():
            found += _references(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _references(v, (*path, str(i)))
    return found
