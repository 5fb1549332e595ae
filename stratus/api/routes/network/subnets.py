"""Subnets: ``/v2.0/subnets`` CRUD (IPv4/IPv6, pools, gateway, DNS, host routes, subnet
pools); the records are ``stratus.network.subnets``', the network's DHCP follows
through the ``OS::Neutron::Subnet`` resource of the same id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.network._common import JsonBody, done, jobs, one
from stratus.db.models.network import Subnet
from stratus.errors import Forbidden
from stratus.network import access, attrs, pipeline, query, subnets

router = APIRouter(tags=["network: subnets"])
TYPE = "OS::Neutron::Subnet"


def properties(row: Subnet, *, nulls: bool = False) -> dict[str, Any]:
    """The ``OS::Neutron::Subnet`` properties of a record; ``nulls``: with the unset
    ones as None (an update replaces the recorded values, a template may not hold null)."""
    props = {"network": row.network_id, "name": row.name, "cidr": row.cidr, "ip_version": row.ip_version,
             "allocation_pools": row.allocation_pools, "dns_nameservers": row.dns_nameservers,
             "host_routes": row.host_routes, "enable_dhcp": row.enable_dhcp}
    for key in ("gateway_ip", "ipv6_ra_mode", "ipv6_address_mode"):
        if nulls or getattr(row, key) is not None:
            props[key] = getattr(row, key)
    if row.subnetpool_id:
        props["subnetpool"] = row.subnetpool_id
    return props


@router.post("/subnets", status_code=201)
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    doc = attrs.section(body, "subnet")
    spec = subnets.parse_create(doc)
    admin = policy.allowed("admin_required")
    network = access.network(db, ctx, spec["network_id"])
    project_id = attrs.project_of(ctx, doc, admin)
    policy.enforce("create_subnet", {"project_id": project_id})
    if network.project_id != project_id and not admin:
        raise Forbidden(f"You are not authorized to create a subnet on network {network.id}: only its "
                        "owner (or an administrator) may.")
    row = subnets.create(db, ctx, network, spec, project_id=project_id)
    pipeline.create(db, TYPE, row, properties(row), cloud_admin=ctx.is_admin, **jobs(request))
    done(request, db)
    return {"subnet": subnets.view(db, row)}


@router.get("/subnets")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_subnet")
    q = query.parse(request.query_params.multi_items())
    stmt = select(Subnet).where(access.visible_subnets(ctx))
    rows, more = query.run(db, stmt, Subnet, q, subnets.COLUMNS, tag_type="subnets")
    return query.answer(request, "subnets", rows, q, more, subnets.views(db, rows))


@router.get("/subnets/{subnet_id}")
def show(subnet_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_subnet")
    return one(request, "subnet", subnets.view(db, access.subnet(db, ctx, subnet_id)))


@router.put("/subnets/{subnet_id}")
def update(subnet_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    row = access.subnet(db, ctx, subnet_id)
    doc = attrs.section(body, "subnet")
    policy.enforce("update_subnet", {"project_id": row.project_id})
    subnets.update(db, row, subnets.parse_update(doc, row))
    pipeline.update(db, row.id, properties(row, nulls=True), **jobs(request))
    done(request, db)
    return {"subnet": subnets.view(db, row)}


@router.delete("/subnets/{subnet_id}", status_code=204)
def delete(subnet_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    row = access.subnet(db, ctx, subnet_id)
    policy.enforce("delete_subnet", {"project_id": row.project_id})
    project_id = row.project_id
    subnets.delete(db, row)
    pipeline.delete(db, [subnet_id], project_id=project_id, **jobs(request))
    done(request, db)
    return Response(status_code=204)
