"""Nova ``os-interface`` (a server's network interfaces): placeholders that answer 409
until the network API lands, after the server is found (404 for another project's) and
the policy allows the caller."""

from __future__ import annotations

from fastapi import APIRouter

from stratus.api.deps import Auth, DbSession, Policy
from stratus.compute.lookup import get_server
from stratus.errors import Conflict
from stratus.identity.policy import RuleDefault, register_defaults

router = APIRouter(tags=["compute: interfaces"])

_P = "os_compute_api:os-attach-interfaces"
register_defaults([
    RuleDefault(f"{_P}:list", "rule:admin_or_reader", "List a server's interfaces"),
    RuleDefault(f"{_P}:show", "rule:admin_or_reader", "Show a server's interface"),
    RuleDefault(f"{_P}:create", "rule:admin_or_member", "Attach an interface to a server"),
    RuleDefault(f"{_P}:delete", "rule:admin_or_member", "Detach an interface from a server"),
])


def _refuse(db, ctx, policy, server_id: str, rule: str):
    server = get_server(db, ctx, server_id)
    policy.enforce(f"{_P}:{rule}", {"project_id": server.project_id})
    raise Conflict(f"Network interfaces of instance {server_id} cannot be listed, attached or detached: "
                   "this cloud has no network API yet. The server has no NIC, or the flat provider "
                   "bridge the operator configured; retry once the network service is deployed.")


@router.get("/servers/{server_id}/os-interface", summary="List interfaces (409 until networking)")
def index(server_id: str, ctx: Auth, policy: Policy, db: DbSession):
    _refuse(db, ctx, policy, server_id, "list")


@router.post("/servers/{server_id}/os-interface", summary="Attach an interface (409 until networking)")
def create(server_id: str, ctx: Auth, policy: Policy, db: DbSession):
    _refuse(db, ctx, policy, server_id, "create")


@router.get("/servers/{server_id}/os-interface/{port_id}", summary="Show an interface (409 until networking)")
def show(server_id: str, port_id: str, ctx: Auth, policy: Policy, db: DbSession):
    _refuse(db, ctx, policy, server_id, "show")


@router.delete("/servers/{server_id}/os-interface/{port_id}", summary="Detach an interface (409 until networking)")
def delete(server_id: str, port_id: str, ctx: Auth, policy: Policy, db: DbSession):
    _refuse(db, ctx, policy, server_id, "delete")
