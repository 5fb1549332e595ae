"""Heat v1 resource types, from the registry of ``stratus.orchestration.resources``:
``GET /resource_types`` (names, or with ``?with_description=true`` names and
descriptions; ``?name=`` a regular expression the name must match, ``?support_status=``,
``?version=``), ``GET /resource_types/<type>`` (the schema: properties with type,
description, required, update_allowed, immutable, constraints, default; attributes;
support_status) and ``GET /resource_types/<type>/template`` (a template using the type,
``?template_type=hot`` or ``cfn``, Heat's default). Types only cloud administrators may
use are hidden from others, as Heat's ``resource_types:<type>`` policies hide them."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from stratus.api.deps import Policy
from stratus.api.routes.orchestration._common import HeatAuth
from stratus.errors import BadRequest, NotFound
from stratus.orchestration import resources
from stratus.stacks import listing

router = APIRouter(tags=["orchestration: resource types"])

SUPPORTED = {"status": "SUPPORTED", "version": None, "message": None, "previous_status": None}
SUPPORT_STATUSES = ("UNKNOWN", "SUPPORTED", "DEPRECATED", "UNSUPPORTED", "HIDDEN")
# property type → the parameter type of a generated template (HOT, CFN)
PARAM_TYPES = {"string": ("string", "String"), "integer": ("number", "Number"), "number": ("number", "Number"),
               "boolean": ("boolean", "Boolean"), "map": ("json", "Json"),
               "list": ("comma_delimited_list", "CommaDelimitedList"), "any": ("json", "Json")}


def _visible(ctx, cls) -> bool:
    return ctx.is_admin or not getattr(cls, "cloud_admin_only", False)


def _type(ctx, name: str):
    cls = resources.get_type(name)
    if cls is None or not _visible(ctx, cls):
        raise NotFound(f"The Resource Type ({name}) could not be found; list the types with "
                       "openstack orchestration resource type list.", type="EntityNotFound")
    return cls


def _description(cls) -> str:
    return (cls.description or (cls.__doc__ or "")).strip()


@router.get("/resource_types")
def index(request: Request, ctx: HeatAuth, policy: Policy):
    policy.enforce("stacks:list_resource_types", {"project_id": ctx.project_id})
    query = request.query_params
    with_description = listing.boolean("with_description", query.get("with_description"))
    status = query.get("support_status")
    if status is not None and status.upper() not in SUPPORT_STATUSES:
        raise BadRequest(f"Invalid support status {status}; use one of {', '.join(SUPPORT_STATUSES)}.")
    pattern = query.get("name")
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise BadRequest(f"The name filter {pattern!r} is not a valid regular expression: {exc}") from None
    names = []
    for name in sorted(resources.registered_types()):
        cls = resources.get_type(name)
        if cls is None or not _visible(ctx, cls) or (regex and not regex.match(name)):
            continue
        if status is not None and status.upper() != "SUPPORTED":
            continue
        names.append(name)
    if with_description:
        return {"resource_types": [{"resource_type": n, "description": _description(resources.get_type(n))}
                                   for n in names]}
    return {"resource_types": names}


def property_schema(schema) -> dict[str, Any]:
    """One property as Heat's schema shows it."""
    out: dict[str, Any] = {"type": schema.type, "description": schema.description or "",
                           "required": bool(schema.required), "update_allowed": bool(schema.update_allowed),
                           "immutable": bool(getattr(schema, "immutable", False))}
    if schema.default is not None:
        out["default"] = schema.default
    constraints = []
    if getattr(schema, "allowed_values", ()):
        constraints.append({"allowed_values": list(schema.allowed_values)})
    low, high = getattr(schema, "min_value", None), getattr(schema, "max_value", None)
    if low is not None or high is not None:
        constraints.append({"range": {k: v for k, v in (("min", low), ("max", high)) if v is not None}})
    for c in getattr(schema, "constraints", ()) or ():
        shown = c.to_dict() if hasattr(c, "to_dict") else c if isinstance(c, dict) else None
        if shown and shown not in constraints:
            constraints.append(shown)
    out["constraints"] = constraints
    nested = getattr(schema, "schema", None)
    if isinstance(nested, dict):
        out["schema"] = {k: property_schema(v) for k, v in nested.items() if hasattr(v, "type")}
    return out


@router.get("/resource_types/{type_name}")
def show(type_name: str, ctx: HeatAuth, policy: Policy):
    policy.enforce("stacks:resource_schema", {"project_id": ctx.project_id})
    cls = _type(ctx, type_name)
    return {
        "resource_type": type_name,
        "properties": {k: property_schema(v) for k, v in cls.properties_schema.items()},
        "attributes": {k: {"description": v if isinstance(v, str) else str(getattr(v, "description", v))}
                       for k, v in cls.attributes_schema.items()},
        "support_status": dict(SUPPORTED),
        "description": _description(cls),
    }


@router.get("/resource_types/{type_name}/template")
def generate_template(type_name: str, request: Request, ctx: HeatAuth, policy: Policy):
    """Heat's generated template: each property a parameter, each attribute an output."""
    policy.enforce("stacks:generate_template", {"project_id": ctx.project_id})
    kind = (request.query_params.get("template_type") or "cfn").lower()
    if kind not in ("hot", "cfn"):
        raise BadRequest(f"Template type is not supported: Invalid template type \"{kind}\", valid types "
                         "are: cfn, hot.")
    cls = _type(ctx, type_name)
    props, attrs = cls.properties_schema, cls.attributes_schema
    if kind == "hot":
        return {
            "heat_template_version": "2016-10-14",
            "description": f"Initial template of {type_name}",
            "parameters": {k: _parameter(s, 0) for k, s in props.items()},
            "resources": {type_name: {"type": type_name,
                                      "properties": {k: {"get_param": k} for k in props}}},
            "outputs": {k: {"description": _attr_text(v), "value": {"get_attr": [type_name, k]}}
                        for k, v in attrs.items()},
        }
    return {
        "HeatTemplateFormatVersion": "2012-12-12",
        "Description": f"Initial template of {type_name}",
        "Parameters": {k: _parameter(s, 1) for k, s in props.items()},
        "Resources": {type_name: {"Type": type_name, "Properties": {k: {"Ref": k} for k in props}}},
        "Outputs": {k: {"Description": _attr_text(v), "Value": {"Fn::GetAtt": [type_name, k]}}
                    for k, v in attrs.items()},
    }


def _attr_text(value) -> str:
    return value if isinstance(value, str) else str(getattr(value, "description", value))


def _parameter(schema, cfn: int) -> dict[str, Any]:
    ptype = PARAM_TYPES.get(schema.type, ("string", "String"))[cfn]
    keys = ("Type", "Description", "Default") if cfn else ("type", "description", "default")
    out: dict[str, Any] = {keys[0]: ptype, keys[1]: schema.description or ""}
    if schema.default is not None:
        out[keys[2]] = schema.default
    return out
