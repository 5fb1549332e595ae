"""Who sees which network (and what hangs off it), as Neutron decides it.

A project sees a network when it owns it, when an RBAC policy shares it with the project
or with every project (``access_as_shared``, target ``*`` or the project id; ``shared``
networks have the ``*`` policy), when it is an external network made visible to the
project or to all (``access_as_external``), or when the caller is the cloud admin. A
network the caller cannot see answers 404 as if it did not exist.

Contract (ports, routers, floating IPs and compute call these):

- ``visible_networks(ctx)``: a WHERE clause on ``Network`` for list queries;
- ``network(db, ctx, id, *, admin=False) -> Network``: the network or 404
  ``NetworkNotFound``; ``admin=True`` lets the caller see every network (a policy the
  route checked said so);
- ``shared_with(ctx)``: a WHERE clause, the networks shared with the caller's project;
- ``subnet(db, ctx, id, *, admin=False) -> Subnet``: the subnet of a visible network or
  404 ``SubnetNotFound``;
- ``is_owner(ctx, row)``: the caller owns the row (or is the cloud admin).
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session

from stratus.db.models.network import Network, RBACPolicy, Subnet
from stratus.errors import NotFound

SHARED = "access_as_shared"
EXTERNAL = "access_as_external"


def _targets(ctx) -> list[str]:
    return ["*", ctx.project_id] if ctx.project_id else ["*"]


def _rbac(ctx, action: str):
    return Network.id.in_(select(RBACPolicy.object_id).where(
        RBACPolicy.object_type == "network", RBACPolicy.action == action,
        RBACPolicy.target_tenant.in_(_targets(ctx))))


def shared_with(ctx):
    """The networks shared with the caller's project (``shared`` or an RBAC policy)."""
    return or_(Network.shared.is_(True), _rbac(ctx, SHARED))


def visible_networks(ctx, *, admin: bool = False):
    """A WHERE clause: the networks the caller may see."""
    if admin or ctx.is_admin:
        return true()
    return or_(Network.project_id == ctx.project_id, shared_with(ctx),
               and_(Network.external.is_(True), _rbac(ctx, EXTERNAL)))


def network(db: Session, ctx, network_id: str, *, admin: bool = False) -> Network:
    """The network ``network_id`` if the caller may see it, else 404 NetworkNotFound."""
    row = db.scalar(select(Network).where(Network.id == network_id, visible_networks(ctx, admin=admin)))
    if row is None:
        raise NotFound(f"Network {network_id} could not be found.", type="NetworkNotFound")
    return row


def is_shared_with(db: Session, ctx, network_id: str) -> bool:
    """The network is shared with the caller's project."""
    return db.scalar(select(Network.id).where(Network.id == network_id, shared_with(ctx))) is not None


def visible_subnets(ctx, *, admin: bool = False):
    """A WHERE clause on ``Subnet``: subnets of visible networks."""
    if admin or ctx.is_admin:
        return true()
    return or_(Subnet.project_id == ctx.project_id,
               Subnet.network_id.in_(select(Network.id).where(visible_networks(ctx))))


def subnet(db: Session, ctx, subnet_id: str, *, admin: bool = False) -> Subnet:
    """The subnet ``subnet_id`` of a network the caller may see, else 404 SubnetNotFound."""
    row = db.scalar(select(Subnet).where(Subnet.id == subnet_id, visible_subnets(ctx, admin=admin)))
    if row is None:
        raise NotFound(f"Subnet {subnet_id} could not be found.", type="SubnetNotFound")
    return row


def is_owner(ctx, row) -> bool:
    return bool(ctx.is_admin or row.project_id == ctx.project_id)
