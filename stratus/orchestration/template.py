"""The template model: HOT's ``heat_template_version``, ``parameters``, ``resources``
(``type``/``properties``/``depends_on``) and ``outputs``, validated on load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stratus.orchestration import functions
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.graph import topological_order
from stratus.orchestration.properties import Properties
from stratus.orchestration.resources import ResourceType, get_type, registered_types

VERSIONS = {
    "2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08", "2016-10-14",
    "2017-02-24", "2017-09-01", "2018-03-02", "2018-08-31", "2021-04-16",
    "newton", "ocata", "pike", "queens", "rocky", "wallaby",
}
TOP_KEYS = {"heat_template_version", "description", "parameters", "resources", "outputs",
            "parameter_groups", "conditions"}
RESOURCE_KEYS = {"type", "properties", "depends_on", "metadata", "deletion_policy",
                 "update_policy", "condition", "external_id"}
PARAM_TYPES = {"string": str, "number": (int, float), "json": (dict, list),
               "comma_delimited_list": (list, str), "boolean": bool}


@dataclass
class ResourceDefinition:
    name: str
    type: str
    properties: dict[str, Any]  # parsed: may hold Function objects
    depends_on: list[str] = field(default_factory=list)

    @property
    def type_class(self) -> type[ResourceType] | None:
        return get_type(self.type)

    def dependencies(self) -> set[str]:
        return set(self.depends_on) | functions.dependencies(self.properties)


@dataclass
class Template:
    version: str
    description: str
    parameters: dict[str, dict[str, Any]]
    resources: dict[str, ResourceDefinition]
    outputs: dict[str, Any]

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path) -> Template:
        try:
            raw = yaml.safe_load(Path(path).read_text())
        except yaml.YAMLError as exc:
            raise TemplateError(f"{path} is not valid YAML: {exc}") from exc
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Any) -> Template:
        if not isinstance(raw, dict):
            raise TemplateError("a template must be a mapping with heat_template_version and resources")
        unknown = set(raw) - TOP_KEYS
        if unknown:
            raise TemplateError(
                f"unknown top-level section(s) {', '.join(sorted(map(str, unknown)))}; "
                f"allowed: {', '.join(sorted(TOP_KEYS))}"
            )
        version = str(raw.get("heat_template_version", ""))
        if version not in VERSIONS:
            raise TemplateError(
                f"heat_template_version {version!r} is not supported; use one of "
                + ", ".join(sorted(VERSIONS)),
                ("heat_template_version",),
            )
        params = raw.get("parameters") or {}
        if not isinstance(params, dict):
            raise TemplateError("parameters must be a mapping", ("parameters",))
        for pname, pdef in params.items():
            if not isinstance(pdef, dict) or pdef.get("type") not in PARAM_TYPES:
                raise TemplateError(
                    f"the parameter {pname!r} needs a type: one of {', '.join(PARAM_TYPES)}",
                    ("parameters", pname),
                )
        res_raw = raw.get("resources") or {}
        if not isinstance(res_raw, dict):
            raise TemplateError("resources must be a mapping of names to definitions", ("resources",))
        resources: dict[str, ResourceDefinition] = {}
        for name, rdef in res_raw.items():
            path = ("resources", str(name))
            if not isinstance(rdef, dict):
                raise TemplateError("a resource must be a mapping with a 'type'", path)
            bad = set(rdef) - RESOURCE_KEYS
            if bad:
                raise TemplateError(f"unknown key(s) {', '.join(sorted(bad))} in a resource", path)
            rtype = rdef.get("type")
            if not isinstance(rtype, str) or not rtype:
                raise TemplateError("the resource has no 'type'", path)
            deps = rdef.get("depends_on") or []
            deps = [deps] if isinstance(deps, str) else deps
            if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
                raise TemplateError("depends_on must be a resource name or a list of them", (*path, "depends_on"))
            resources[str(name)] = ResourceDefinition(
                name=str(name),
                type=rtype,
                properties=functions.parse(rdef.get("properties") or {}, (*path, "properties")),
                depends_on=list(deps),
            )
        outputs = raw.get("outputs") or {}
        if not isinstance(outputs, dict):
            raise TemplateError("outputs must be a mapping", ("outputs",))
        parsed_outputs = {}
        for oname, odef in outputs.items():
            if not isinstance(odef, dict) or "value" not in odef:
                raise TemplateError("an output needs a 'value'", ("outputs", oname))
            parsed_outputs[oname] = functions.parse(odef["value"], ("outputs", oname, "value"))
        tpl = cls(version, str(raw.get("description") or ""), params, resources, parsed_outputs)
        tpl.validate()
        return tpl

    # ----------------------------------------------------------------- checks
    def validate(self) -> None:
        for name, res in self.resources.items():
            path = ("resources", name)
            cls = res.type_class
            if cls is None:
                raise TemplateError(
                    f"unknown resource type {res.type!r}; known types: {', '.join(registered_types())}",
                    (*path, "type"),
                )
            Properties(cls.properties_schema, res.properties, cls.open_properties).validate(
                (*path, "properties")
            )
            for dep in res.depends_on:
                if dep not in self.resources:
                    raise TemplateError(
                        f"depends_on names {dep!r}, which is not a resource of this template",
                        (*path, "depends_on"),
                    )
            for fn in functions.walk(res.properties):
                fn.validate(self)
        for value in self.outputs.values():
            for fn in functions.walk(value):
                fn.validate(self)
        self.order()  # raises DependencyCycle

    def order(self) -> list[str]:
        return topological_order({n: r.dependencies() for n, r in self.resources.items()})

    def parameter_values(self, given: dict[str, Any] | None) -> dict[str, Any]:
        given = dict(given or {})
        out = {}
        for name, pdef in self.parameters.items():
            if name in given:
                value = given.pop(name)
            elif "default" in pdef:
                value = pdef["default"]
            else:
                raise TemplateError(f"the parameter {name!r} has no default; give a value", ("parameters", name))
            ptype = pdef["type"]
            if ptype == "number" and isinstance(value, str):
                try:
                    value = float(value) if "." in value else int(value)
                except ValueError as exc:
                    raise TemplateError(f"the parameter {name!r} must be a number", ("parameters", name)) from exc
            if ptype == "comma_delimited_list" and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, PARAM_TYPES[ptype]):
                raise TemplateError(f"the parameter {name!r} must be of type {ptype}", ("parameters", name))
            out[name] = value
        if given:
            raise TemplateError(f"unknown parameter(s): {', '.join(sorted(given))}", ("parameters",))
        return out
