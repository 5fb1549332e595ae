"""Heat v1 ``POST /validate``: a template (with its environment and files) checked as a
stack create would check it, nothing made. The answer is Heat's: ``Description``,
``Parameters`` (``Type``, ``Default``, ``Label``, ``Description``, ``NoEcho`` and the
constraints as ``AllowedValues``, ``MinLength``, …, ``Value`` where the environment
gives one), ``ParameterGroups`` and the ``Environment``. A bad template is 400
StackValidationFailed naming the path (``resources.web.properties.flavor: ...``).
``?show_nested`` and ``?ignore_errors`` are accepted (nested templates are validated
as part of the template)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import HeatAuth, HeatBody
from stratus.api.routes.orchestration._data import (
    environment_of,
    files_of,
    load_template,
    parameters_of,
    template_of,
)
from stratus.stacks import listing

router = APIRouter(tags=["orchestration: validate"])

# HOT parameter types as Heat's validate names them
TYPES = {"string": "String", "number": "Number", "json": "Json", "comma_delimited_list": "CommaDelimitedList",
         "boolean": "Boolean"}


def parameter_shape(name: str, pdef: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """One parameter as Heat's validate describes it."""
    out: dict[str, Any] = {"Type": TYPES.get(str(pdef.get("type")), str(pdef.get("type", "String"))),
                           "Description": str(pdef.get("description") or ""),
                           "Label": str(pdef.get("label") or name),
                           "NoEcho": "true" if pdef.get("hidden") else "false"}
    if "default" in pdef:
        out["Default"] = pdef["default"]
    if "immutable" in pdef:
        out["Immutable"] = bool(pdef["immutable"])
    if pdef.get("tags"):
        out["Tags"] = pdef["tags"]
    for constraint in pdef.get("constraints") or []:
        if not isinstance(constraint, dict):
            continue
        if "allowed_values" in constraint:
            out["AllowedValues"] = constraint["allowed_values"]
        if "allowed_pattern" in constraint:
            out["AllowedPattern"] = constraint["allowed_pattern"]
        for key, (low, high) in (("length", ("MinLength", "MaxLength")), ("range", ("MinValue", "MaxValue")),
                                 ("modulo", ("Step", "Offset"))):
            spec = constraint.get(key)
            if isinstance(spec, dict):
                first, second = ("step", "offset") if key == "modulo" else ("min", "max")
                if first in spec:
                    out[low] = spec[first]
                if second in spec:
                    out[high] = spec[second]
        if "custom_constraint" in constraint:
            out["CustomConstraint"] = constraint["custom_constraint"]
        if constraint.get("description"):
            out["ConstraintDescription"] = constraint["description"]
    if name in given:
        out["Value"] = given[name]
    return out


def environment_shape(env: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    registry = dict(env.get("resource_registry") or {})
    registry.setdefault("resources", {})
    return {"parameters": {**(env.get("parameters") or {}), **parameters},
            "parameter_defaults": env.get("parameter_defaults") or {}, "resource_registry": registry,
            "event_sinks": env.get("event_sinks") or [], "encrypted_param_names": []}


@router.post("/validate")
def validate(request: Request, ctx: HeatAuth, policy: Policy, db: DbSession, body: HeatBody):
    policy.enforce("stacks:validate_template", {"project_id": ctx.project_id})
    listing.boolean("show_nested", request.query_params.get("show_nested"))
    raw = template_of(body)
    env = environment_of(body)
    tpl = load_template(raw, files_of(body), env)
    given = {**(env.get("parameter_defaults") or {}), **(env.get("parameters") or {}), **parameters_of(body)}
    if "Parameters" in raw:  # CloudFormation: its own key names, Heat's defaults added
        params = {name: {"Description": "", "Label": name, "NoEcho": "false", **pdef,
                         **({"Value": given[name]} if name in given else {})}
                  for name, pdef in (raw.get("Parameters") or {}).items()}
    else:
        params = {name: parameter_shape(name, pdef, given) for name, pdef in (raw.get("parameters") or {}).items()}
    out = {"Description": tpl.description or "No description", "Parameters": params}
    if raw.get("parameter_groups"):
        out["ParameterGroups"] = raw["parameter_groups"]
    out["Environment"] = environment_shape(env, parameters_of(body))
    return out
