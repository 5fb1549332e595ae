"""Heat's JSON shapes (heat/engine/api.py + heat/api/openstack/v1/views): stacks in
lists and in full, resources, events, outputs and snapshots, with Heat's links.

A link is absolute and names the stack's own project, as Heat's ``make_url`` writes
it: ``<base>/<project>/stacks/<name>/<id>[/resources/<name>[/events/<id>]]`` where
``base`` is ``<endpoint_url>/orchestration/v1`` (:func:`base_url`). Statuses are
Heat's ``<ACTION>_<STATUS>``; times Heat's ``isotime`` (``2026-12-02T18:30:00Z``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from stratus.db.models.orchestration import DELETE, Stack, StackEvent, StackSnapshot

PSEUDO = ("OS::stack_id", "OS::stack_name", "OS::project_id")
HIDDEN_VALUE = "******"


def base_url(settings) -> str:
    """``<endpoint_url>/orchestration/v1``: what every link starts with."""
    return f"{settings.endpoint_url}/orchestration/v1"


def isotime(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def stack_url(base: str, stack: Stack) -> str:
    return f"{base}/{stack.project_id}/stacks/{quote(stack.name, safe='')}/{stack.id}"


def _link(href: str, rel: str = "self") -> dict[str, str]:
    return {"href": href, "rel": rel}


# --------------------------------------------------------------------------- stacks
def stack_summary(stack: Stack, base: str, *, include_project: bool = False) -> dict[str, Any]:
    """A stack as ``GET /stacks`` lists it (Heat's ``basic_keys``; ``project`` for
    administrators)."""
    out: dict[str, Any] = {
        "id": stack.id,
        "links": [_link(stack_url(base, stack))],
        "stack_name": stack.name,
        "description": "",
        "stack_status": stack.stack_status,
        "stack_status_reason": stack.status_reason or "",
        "creation_time": isotime(stack.created_at),
        "deletion_time": isotime(stack.deleted_at),
        "updated_time": isotime(stack.updated_at),
        "stack_owner": None,
        "parent": stack.parent_id,
        "stack_user_project_id": stack.project_id,
        "tags": list(stack.tags) or None,
    }
    if include_project:
        out["project"] = stack.project_id
    return out


def stack_detail(stack: Stack, base: str, *, resolve_outputs: bool = True,
                 include_project: bool = False) -> dict[str, Any]:
    """``GET /stacks/<name>/<id>``: the summary plus parameters (the pseudo ones too,
    hidden ones masked), outputs (unless ``resolve_outputs`` is false or the stack is
    deleted), description, rollback and timeout."""
    description = str((stack.template or {}).get("description") or "")
    out = stack_summary(stack, base, include_project=include_project)
    out.update({
        "description": description,
        "template_description": description,
        "parameters": parameters(stack),
        "notification_topics": [],
        "capabilities": [],
        "disable_rollback": bool(stack.disable_rollback),
        "timeout_mins": stack.timeout_mins,
    })
    if resolve_outputs and not (stack.action == DELETE and stack.status == "COMPLETE"):
        out["outputs"] = outputs(stack)
    return out


def stack_preview(stack_name: str, template: dict[str, Any], given: dict[str, Any] | None,
                  resources: list[dict[str, Any]], base: str, project_id: str) -> dict[str, Any]:
    """``POST /stacks/preview``: the stack that would be made (no id) and its
    resources (Heat's ``format_stack_preview``)."""
    description = str(template.get("description") or "")
    return {
        "stack_name": stack_name, "id": "None", "description": description,
        "template_description": description, "parameters": _parameter_strings(template, given, {
            "OS::stack_id": "None", "OS::stack_name": stack_name, "OS::project_id": project_id}),
        "resources": resources, "disable_rollback": True, "timeout_mins": None,
        "capabilities": [], "notification_topics": [], "stack_owner": None, "parent": None,
        "creation_time": None, "updated_time": None, "deletion_time": None, "tags": None,
        "links": [_link(f"{base}/{project_id}/stacks/{quote(stack_name, safe='')}/None")],
    }


def parameters(stack: Stack) -> dict[str, str]:
    """Heat's ``stack.parameters.map(str)``: every template parameter's value (given,
    from the environment, or the default), the pseudo parameters, hidden ones masked."""
    env = stack.environment or {}
    given = {**(env.get("parameter_defaults") or {}), **(env.get("parameters") or {}), **(stack.parameters or {})}
    return _parameter_strings(stack.template or {}, given, {
        "OS::stack_id": stack.id, "OS::stack_name": stack.name, "OS::project_id": stack.project_id})


def _parameter_strings(template: dict[str, Any], given: dict[str, Any] | None,
                       pseudo: dict[str, str]) -> dict[str, str]:
    declared = template.get("parameters") or template.get("Parameters") or {}
    given = given or {}
    out: dict[str, str] = {}
    for name, pdef in declared.items():
        pdef = pdef if isinstance(pdef, dict) else {}
        value = given.get(name, pdef.get("default", pdef.get("Default")))
        if pdef.get("hidden") or str(pdef.get("NoEcho", "")).lower() == "true":
            out[name] = HIDDEN_VALUE
        else:
            out[name] = _param_str(value)
    out.update(pseudo)
    return out


def _param_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def outputs(stack: Stack) -> list[dict[str, Any]]:
    """The stack's resolved outputs, Heat's list of ``{output_key, output_value,
    description[, output_error]}``; declared outputs not resolved yet show as None."""
    resolved = {o.get("output_key"): o for o in (stack.outputs or []) if isinstance(o, dict)}
    declared = (stack.template or {}).get("outputs") or (stack.template or {}).get("Outputs") or {}
    out = []
    for key, odef in declared.items():
        odef = odef if isinstance(odef, dict) else {}
        got = resolved.pop(key, None)
        item = {"output_key": key, "description": str(odef.get("description") or odef.get("Description")
                                                      or "No description given"),
                "output_value": got.get("output_value") if got else None}
        if got and got.get("output_error"):
            item["output_error"] = got["output_error"]
        out.append(item)
    out.extend(resolved.values())  # outputs the engine resolved that the raw template lacks (nested)
    return out


def output_summary(item: dict[str, Any]) -> dict[str, Any]:
    """``GET .../outputs``: key and description only, as Heat lists them."""
    return {"output_key": item["output_key"], "description": item["description"]}


# ----------------------------------------------------------------------- resources
def resource_url(base: str, stack: Stack, name: str) -> str:
    return f"{stack_url(base, stack)}/resources/{quote(name, safe='')}"


def resource(res, base: str, *, detail: bool = False, required_by: list[str] | None = None,
             nested: Stack | None = None, description: str = "") -> dict[str, Any]:
    """A resource as Heat's resource list (``detail``: and show) has it. ``res`` is a
    :class:`stratus.stacks.resources.StackResource` (its row, the (nested) stack that
    owns it, its name there, Heat's resource_status); ``nested`` the stack it owns."""
    row, stack = res.row, res.stack
    links = [_link(resource_url(base, stack, res.name)), _link(stack_url(base, stack), "stack")]
    if nested is not None:
        links.append(_link(stack_url(base, nested), "nested"))
    out: dict[str, Any] = {
        "resource_name": res.name,
        "logical_resource_id": res.name,
        "physical_resource_id": row.id or "",
        "resource_status": res.resource_status,
        "resource_status_reason": row.status_reason or "state changed",
        "resource_type": row.type,
        "creation_time": isotime(row.created_at),
        "updated_time": isotime(row.updated_at or row.created_at),
        "required_by": sorted(required_by or []),
        "links": links,
    }
    if res.parent_resource:
        out["parent_resource"] = res.parent_resource
    if detail:
        out["description"] = description
        out["attributes"] = dict(row.attributes or {})
    return out


def template_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's raw resource definitions (HOT ``resources`` or CFN ``Resources``)."""
    res = (template or {}).get("resources") or (template or {}).get("Resources") or {}
    return {str(k): v for k, v in res.items() if isinstance(v, dict)}


def required_by(template: dict[str, Any]) -> dict[str, list[str]]:
    """``{resource: [resources that depend on it]}`` from depends_on, get_resource,
    get_attr, Ref and Fn::GetAtt in the raw template."""
    defs = template_resources(template)
    out: dict[str, list[str]] = {name: [] for name in defs}
    for name, rdef in defs.items():
        deps = rdef.get("depends_on", rdef.get("DependsOn")) or []
        deps = {deps} if isinstance(deps, str) else set(deps)
        deps |= _references(rdef.get("properties", rdef.get("Properties")))
        for dep in deps:
            if dep in out and dep != name:
                out[dep].append(name)
    return out


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for key, value in cur.items():
                if key in ("get_resource", "Ref") and isinstance(value, str):
                    found.add(value)
                elif key in ("get_attr", "Fn::GetAtt") and isinstance(value, list) and value \
                        and isinstance(value[0], str):
                    found.add(value[0])
                stack.append(value)
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


# -------------------------------------------------------------------------- events
def event(ev: StackEvent, stack: Stack, base: str, *, detail: bool = False,
          root: Stack | None = None) -> dict[str, Any]:
    """An event as Heat's event list (``detail``: event show) has it."""
    res_url = resource_url(base, stack, ev.resource_name)
    links = [_link(f"{res_url}/events/{ev.id}"), _link(res_url, "resource"), _link(stack_url(base, stack), "stack")]
    if root is not None and root.id != stack.id:
        links.append(_link(stack_url(base, root), "root_stack"))
    out: dict[str, Any] = {
        "id": ev.id,
        "links": links,
        "event_time": isotime(ev.created_at),
        "resource_name": ev.resource_name,
        "logical_resource_id": ev.resource_name,
        "physical_resource_id": ev.physical_resource_id or "",
        "resource_status": f"{ev.action}_{ev.status}",
        "resource_status_reason": ev.reason or "",
    }
    if detail:
        out["resource_type"] = ev.resource_type
        out["resource_properties"] = dict(ev.properties or {})
    return out


# ----------------------------------------------------------------------- snapshots
def snapshot(snap: StackSnapshot) -> dict[str, Any]:
    """Heat's ``format_snapshot``."""
    return {
        "id": snap.id,
        "name": snap.name,
        "stack_id": snap.stack_id,
        "data": snap.data or {},
        "status": snap.status,
        "status_reason": snap.status_reason or "",
        "creation_time": isotime(snap.created_at),
    }
