"""Nova ``os-interface`` (a server's network interfaces: its ports) and ``GET
/servers/{id}/os-security-groups``; the work is in ``stratus.compute.interfaces``.
Another project's server is 404; attach answers 200 with the attachment at once (its
``port_state`` DOWN until the server's job plugged it), detach 202."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus import log
from stratus.api.deps import Auth, DbSession, Policy, plan_context
from stratus.compute import interfaces as service
from stratus.compute.lookup import get_server
from stratus.identity.policy import RuleDefault, register_defaults

router = APIRouter(tags=["compute: interfaces"])

_P = "os_compute_api:os-attach-interfaces"
register_defaults([
    RuleDefault(f"{_P}:list", "rule:admin_or_reader", "List a server's interfaces"),
    RuleDefault(f"{_P}:show", "rule:admin_or_reader", "Show a server's interface"),
    RuleDefault(f"{_P}:create", "rule:admin_or_member", "Attach an interface to a server"),
    RuleDefault(f"{_P}:delete", "rule:admin_or_member", "Detach an interface from a server"),
])


def _server(db, ctx, policy, server_id: str, rule: str):
    server = get_server(db, ctx, server_id)
    policy.enforce(rule, {"project_id": server.project_id})
    return server


@router.get("/servers/{server_id}/os-interface", summary="List a server's interfaces")
def index(server_id: str, ctx: Auth, policy: Policy, db: DbSession):
    server = _server(db, ctx, policy, server_id, f"{_P}:list")
    return {"interfaceAttachments": [service.attachment(db, p) for p in service.server_ports(db, server)]}


@router.post("/servers/{server_id}/os-interface", summary="Attach an interface (port_id or net_id)")
def create(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: Annotated[Any, Body()] = None):
    server = _server(db, ctx, policy, server_id, f"{_P}:create")
    port = service.attach(db, ctx, server, body, plan=plan_context(request), settings=request.app.state.settings,
                          request_id=log.request_id.get())
    return {"interfaceAttachment": service.attachment(db, port)}


@router.get("/servers/{server_id}/os-interface/{port_id}", summary="Show an interface")
def show(server_id: str, port_id: str, ctx: Auth, policy: Policy, db: DbSession):
    server = _server(db, ctx, policy, server_id, f"{_P}:show")
    return {"interfaceAttachment": service.show(db, server, port_id)}


@router.delete("/servers/{server_id}/os-interface/{port_id}", summary="Detach an interface")
def delete(server_id: str, port_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    server = _server(db, ctx, policy, server_id, f"{_P}:delete")
    service.detach(db, ctx, server, port_id, plan=plan_context(request), request_id=log.request_id.get())
    return Response(status_code=202)


@router.get("/servers/{server_id}/os-security-groups", summary="List a server's security groups")
def security_groups(server_id: str, ctx: Auth, policy: Policy, db: DbSession):
    server = _server(db, ctx, policy, server_id, "os_compute_api:os-security-groups:list")
    return {"security_groups": [service.group_view(db, g) for g in service.server_groups(db, server)]}
