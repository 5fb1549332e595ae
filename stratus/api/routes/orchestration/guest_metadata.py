"""What a guest reads through its network's metadata relay
(``http://169.254.169.254/openstack/latest/deployments``): Heat's deployments metadata
of the server asking (os-collect-config's ``deployments`` key: the derived configs its
software deployments apply), as ``stratus.stacks.software.server_metadata`` gives it.

The guest is who the relay says: its address (``X-Forwarded-For``) on the network
(``X-Stratus-Network-Id``), believed only with the relay ticket the controller signed
for that network (``X-Stratus-Relay-Ticket``); the port with that address names the
server (its ``device_id``), as Neutron's metadata agent finds the instance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from stratus.api.deps import DbSession
from stratus.db.models.network import IPAllocation, Port
from stratus.errors import NotFound, Unauthorized
from stratus.stacks import software, tickets

PREFIX = ""  # served at the root, as Nova's metadata paths are
router = APIRouter()


def server_of(request: Request, db) -> tuple[str, str | None]:
    """(server id, its project) of the guest the relay forwards for."""
    net = request.headers.get("x-stratus-network-id", "")
    addr = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
    ticket = request.headers.get("x-stratus-relay-ticket")
    if not net or not addr or not tickets.verify(request.app.state.fernet, net, ticket, tickets.RELAY):
        raise Unauthorized("The metadata of a server is served through its network's metadata relay only.")
    port = db.scalars(select(Port).join(IPAllocation, IPAllocation.port_id == Port.id)
                      .where(Port.network_id == net, IPAllocation.ip_address == addr)).first()
    if port is None or not port.device_id:
        raise NotFound(f"No server has the address {addr} on network {net}.")
    return port.device_id, port.project_id


@router.get("/openstack/latest/deployments")
def deployments(request: Request, db: DbSession):
    server_id, project_id = server_of(request, db)
    return {"deployments": software.server_metadata(db, server_id, project_id)}
