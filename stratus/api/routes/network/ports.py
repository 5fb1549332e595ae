"""Ports: ``/v2.0/ports`` CRUD (fixed IPs, MAC, device, security groups, pairs, binding).

``POST /ports`` takes one ``port`` or a bulk ``ports`` list (all or nothing); the
answer is the record at once (status DOWN until bound and realized). Attribute-level
policies are Neutron's (``create_port:mac_address``, ``create_port:binding:host_id`` ...);
a non-admin sees no ``binding:host_id``/``profile``/``vif_type``/``vif_details``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy, PolicyChecker
from stratus.api.routes.network._common import JsonBody, done, jobs, one
from stratus.db.models.network import Network, Port
from stratus.errors import BadRequest
from stratus.network import ports, query

router = APIRouter(tags=["network: ports"])

COLUMNS = {
    "id": Port.id, "name": Port.name, "network_id": Port.network_id, "mac_address": Port.mac_address,
    "admin_state_up": Port.admin_state_up, "status": Port.status, "device_id": Port.device_id,
    "device_owner": Port.device_owner, "project_id": Port.project_id, "tenant_id": Port.project_id,
    "description": Port.description, "port_security_enabled": Port.port_security_enabled,
    "revision_number": Port.revision_number, "binding:host_id": Port.binding_host_id,
    "binding:vnic_type": Port.binding_vnic_type, "created_at": Port.created_at,
    "updated_at": Port.updated_at,
    "fixed_ips": ports.fixed_ips_filter, "security_groups": ports.groups_filter,
}
ADMIN_FILTERS = ("binding:host_id",)


def _body(body: Any, key: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Resource body required: give a '{key}' object.", type="HTTPBadRequest")
    return body[key]


def _target(db, network_id: Any, project_id: str | None) -> dict[str, Any]:
    net = db.get(Network, network_id) if isinstance(network_id, str) else None
    return {"project_id": project_id, "network:project_id": net.project_id if net else None}


def _enforce_attrs(policy: PolicyChecker, verb: str, attrs: dict[str, Any], target: dict[str, Any]) -> None:
    """Neutron's attribute policies: ``<verb>_port:<attr>`` for each guarded attribute
    given (a fixed address by ``<verb>_port:fixed_ips:ip_address``)."""
    for key in ports.GUARDED:
        if key in attrs:
            policy.enforce(f"{verb}_port:{key}", target)
    fixed = attrs.get("fixed_ips")
    if isinstance(fixed, list) and any(isinstance(ip, dict) and "ip_address" in ip for ip in fixed):
        policy.enforce(f"{verb}_port:fixed_ips:ip_address", target)


def _binding(policy: PolicyChecker, port: Port) -> bool:
    return policy.allowed("get_port:binding:host_id", {"project_id": port.project_id})


@router.get("/ports")
def list_ports(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    q = query.parse(request.query_params.multi_items())
    admin = ctx.is_admin
    if not admin:
        for name in ADMIN_FILTERS:
            q.filters.pop(name, None)  # an attribute the caller cannot see filters nothing
    stmt = select(Port).where(ports.visible(ctx))
    rows, more = query.run(db, stmt, Port, q, COLUMNS, tag_type=ports.TAG_TYPE)
    return query.answer(request, "ports", rows, q, more, lambda p: ports.view(db, p, ctx, binding=admin))


@router.post("/ports", status_code=201)
def create_port(request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    bulk = isinstance(body, dict) and "ports" in body and "port" not in body
    items = _body(body, "ports") if bulk else [_body(body, "port")]
    if not isinstance(items, list) or not items:
        raise BadRequest("Resource body required: 'ports' must be a non-empty list.", type="HTTPBadRequest")
    made = []
    for attrs in items:
        attrs = ports.check_attrs(attrs, ports.CREATE_ATTRS)
        owner = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id
        target = _target(db, attrs.get("network_id"), owner)
        policy.enforce("create_port", target)
        _enforce_attrs(policy, "create", attrs, target)
        made.append(ports.create(db, ctx, attrs, **_job(request)))
    docs = [ports.view(db, p, ctx, binding=_binding(policy, p)) for p in made]
    done(request, db)
    return {"ports": docs} if bulk else {"port": docs[0]}


def _job(request: Request) -> dict[str, Any]:
    kw = jobs(request)
    return {"context": kw["context"], "request_id": kw["request_id"]}


def _find(db, ctx, policy: PolicyChecker, port_id: str, rule: str) -> Port:
    port = ports.find(db, ctx, port_id)
    if not policy.allowed(rule, _target(db, port.network_id, port.project_id)):
        if not policy.allowed("get_port", _target(db, port.network_id, port.project_id)):
            raise ports.not_found(port_id)
        policy.enforce(rule, _target(db, port.network_id, port.project_id))
    return port


@router.get("/ports/{port_id}")
def show_port(port_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    port = _find(db, ctx, policy, port_id, "get_port")
    return one(request, "port", ports.view(db, port, ctx, binding=_binding(policy, port)))


@router.put("/ports/{port_id}")
def update_port(port_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    port = _find(db, ctx, policy, port_id, "update_port")
    attrs = ports.check_attrs(_body(body, "port"), ports.UPDATE_ATTRS)
    target = _target(db, port.network_id, port.project_id)
    _enforce_attrs(policy, "update", attrs, target)
    ports.update(db, ctx, port, attrs, **_job(request))
    doc = ports.view(db, port, ctx, binding=_binding(policy, port))
    done(request, db)
    return {"port": doc}


@router.delete("/ports/{port_id}", status_code=204)
def delete_port(port_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    port = _find(db, ctx, policy, port_id, "delete_port")
    ports.delete(db, ctx, port, **_job(request))
    done(request, db)
    return Response(status_code=204)
