"""The CloudFormation subset (``AWSTemplateFormatVersion: 2010-09-09``) as the same
:class:`~stratus.orchestration.template.Template` HOT makes: ``Description``,
``Parameters`` (String, Number, CommaDelimitedList, Json, Boolean with Default,
AllowedValues, AllowedPattern, MinLength/MaxLength, MinValue/MaxValue, NoEcho,
ConstraintDescription), ``Mappings``, ``Conditions``, ``Resources`` (Type, Properties,
DependsOn, DeletionPolicy, Metadata, Condition, Description) and ``Outputs`` (Value,
Description, Condition); functions ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Base64``, ``Fn::Select``, ``Fn::FindInMap`` … from the CFN function table.
The ``AWS::EC2::*`` types are in :mod:`stratus.orchestration.types.aws`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from stratus.orchestration import hot_versions
from stratus.orchestration import parameters as params
from stratus.orchestration.environment import Environment
from stratus.orchestration.errors import TemplateError

VERSION = "2010-09-09"
VERSION_NAME = hot_versions.CFN
SECTIONS = ("AWSTemplateFormatVersion", "Description", "Parameters", "Mappings", "Conditions", "Resources",
            "Outputs")
RESOURCE_KEYS = ("Type", "Properties", "DependsOn", "DeletionPolicy", "Metadata", "Condition", "Description",
                 "UpdatePolicy")
OUTPUT_KEYS = ("Value", "Description", "Condition")
PARAM_TYPES = {"String": "string", "Number": "number", "CommaDelimitedList": "comma_delimited_list",
               "Json": "json", "Boolean": "boolean"}
PARAM_KEYS = ("Type", "Default", "NoEcho", "AllowedValues", "AllowedPattern", "MinLength", "MaxLength",
              "MinValue", "MaxValue", "Description", "ConstraintDescription", "Label")


def build(raw: Mapping[str, Any], *, files: Mapping[str, str], environment: Environment):
    """The Template of a CloudFormation mapping (not yet validated)."""
    from stratus.orchestration import template as hot

    version = raw.get("AWSTemplateFormatVersion")
    if isinstance(version, datetime.date):
        version = version.isoformat()
    if str(version) != VERSION:
        raise TemplateError(f"AWSTemplateFormatVersion {version!r} is not supported; use {VERSION}",
                            ("AWSTemplateFormatVersion",))
    unknown = sorted(str(k) for k in raw if k not in SECTIONS)
    if unknown:
        raise TemplateError(f"unknown top-level section(s) {', '.join(unknown)}; allowed: {', '.join(SECTIONS)}")
    parse = hot._parser(hot_versions.function_table(VERSION_NAME), files)
    schemas = _parameters(raw.get("Parameters"))
    mappings = raw.get("Mappings") or {}
    if not isinstance(mappings, Mapping) or not all(isinstance(v, Mapping) for v in mappings.values()):
        raise TemplateError("Mappings must map names to mappings of keys to values", ("Mappings",))
    conditions = _conditions(raw.get("Conditions"), files)
    resources = _resources(raw.get("Resources"), parse, environment)
    outputs = _outputs(raw.get("Outputs"), parse)
    description = raw.get("Description")
    if description is not None and not isinstance(description, str):
        raise TemplateError("Description must be a string", ("Description",))
    return hot.Template(VERSION, description or "", schemas, resources, outputs, [], conditions,
                        files=dict(files), environment=environment, format="CFN", mappings=dict(mappings),
                        raw=dict(raw), notes=list(environment.warnings))


def _parameters(raw: Any) -> dict[str, params.ParamSchema]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("Parameters must be a mapping of names to definitions", ("Parameters",))
    out = {}
    for name, pdef in raw.items():
        name = str(name)
        path = ("Parameters", name)
        if not isinstance(pdef, Mapping):
            raise TemplateError("a parameter must be a mapping with a Type", path)
        bad = sorted(str(k) for k in pdef if k not in PARAM_KEYS)
        if bad:
            raise TemplateError(f"unknown key(s) {', '.join(bad)} in a parameter; allowed: {', '.join(PARAM_KEYS)}",
                                path)
        ptype = PARAM_TYPES.get(pdef["Type"]) if isinstance(pdef.get("Type"), str) else None
        if ptype is None:
            raise TemplateError(f"Type must be one of {', '.join(PARAM_TYPES)} (got {pdef.get('Type')!r})",
                                (*path, "Type"))
        why = str(pdef.get("ConstraintDescription") or "")
        cons: list[params.Constraint] = []
        for key, kind in (("Length", "length"), ("Value", "range")):
            bounds = {b.lower(): _number(pdef[f"{b}{key}"], (*path, f"{b}{key}"))
                      for b in ("Min", "Max") if pdef.get(f"{b}{key}") is not None}
            if bounds:
                cons.append(params.Constraint(kind, bounds, why))
        if pdef.get("AllowedValues") is not None:
            if not isinstance(pdef["AllowedValues"], list) or not pdef["AllowedValues"]:
                raise TemplateError("AllowedValues must be a non-empty list", (*path, "AllowedValues"))
            cons.append(params.Constraint("allowed_values", tuple(pdef["AllowedValues"]), why))
        if pdef.get("AllowedPattern") is not None:
            cons.append(params.Constraint(
                "allowed_pattern",
                params._constraint_args("allowed_pattern", pdef["AllowedPattern"], (*path, "AllowedPattern")), why))
        no_echo = str(pdef.get("NoEcho", "false")).lower() == "true"
        schema = params.ParamSchema(name, ptype, pdef.get("Default"), "Default" in pdef,
                                    label=str(pdef.get("Label") or ""),
                                    description=str(pdef.get("Description") or ""), hidden=no_echo,
                                    constraints=tuple(cons))
        if schema.has_default and schema.default is not None:
            schema.check(schema.default)
        out[name] = schema
    return out


def _number(value: Any, path: tuple[str, ...]) -> Any:
    try:
        return params.coerce("number", value, path)
    except TemplateError:
        raise TemplateError(f"must be a number, not {value!r}", path) from None


def _conditions(raw: Any, files) -> dict[str, Any]:
    from stratus.orchestration import template as hot

    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("Conditions must map names to condition functions", ("Conditions",))
    parse = hot._parser(hot_versions.condition_table(VERSION_NAME), files)
    return {str(n): parse(v, ("Conditions", str(n))) for n, v in raw.items()}


def _resources(raw: Any, parse, env: Environment):
    from stratus.orchestration import template as hot

    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("Resources must be a mapping of names to definitions", ("Resources",))
    out = {}
    for name, rdef in raw.items():
        name = str(name)
        path = ("Resources", name)
        hot.check_resource_name(name, path)
        if not isinstance(rdef, Mapping):
            raise TemplateError("a resource must be a mapping with a Type", path)
        bad = sorted(str(k) for k in rdef if k not in RESOURCE_KEYS)
        if bad:
            raise TemplateError(f"unknown key(s) {', '.join(bad)} in a resource; allowed: {', '.join(RESOURCE_KEYS)}",
                                path)
        rtype = rdef.get("Type")
        if not isinstance(rtype, str) or not rtype:
            raise TemplateError("the resource has no Type", path)
        deps = hot.dependency_names(rdef.get("DependsOn"), (*path, "DependsOn"))
        for key in ("Properties", "Metadata", "UpdatePolicy"):
            if rdef.get(key) is not None and not isinstance(rdef[key], Mapping):
                raise TemplateError(f"{key} must be a mapping", (*path, key))
        cond = rdef.get("Condition")
        if cond is not None and not isinstance(cond, str | bool):
            raise TemplateError("Condition must name a condition of the Conditions section", (*path, "Condition"))
        out[name] = hot.ResourceDefinition(
            name=name, type=rtype,
            properties=parse(dict(rdef.get("Properties") or {}), (*path, "Properties")),
            depends_on=deps,
            metadata=parse(dict(rdef.get("Metadata") or {}), (*path, "Metadata")),
            deletion_policy=hot.deletion_policy(rdef.get("DeletionPolicy"), VERSION, (*path, "DeletionPolicy")),
            update_policy=parse(dict(rdef.get("UpdatePolicy") or {}), (*path, "UpdatePolicy")),
            condition=cond, description=str(rdef.get("Description") or ""),
            resolved_type=env.resolve(rtype, name),
        )
    return out


def _outputs(raw: Any, parse):
    from stratus.orchestration import template as hot

    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("Outputs must be a mapping", ("Outputs",))
    out = {}
    for name, odef in raw.items():
        name = str(name)
        path = ("Outputs", name)
        if not isinstance(odef, Mapping) or "Value" not in odef:
            raise TemplateError("an output needs a Value", path)
        bad = sorted(str(k) for k in odef if k not in OUTPUT_KEYS)
        if bad:
            raise TemplateError(f"unknown key(s) {', '.join(bad)} in an output; allowed: {', '.join(OUTPUT_KEYS)}",
                                path)
        out[name] = hot.OutputDefinition(name, parse(odef["Value"], (*path, "Value")),
                                         str(odef.get("Description") or ""), odef.get("Condition"))
    return out

