"""Nova ``os-hypervisors``: compute hosts with their capacity and use (admin)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.compute import hypervisors
from stratus.compute.validation import bad, boolean
from stratus.errors import BadRequest, NotFound, NotImplementedYet

router = APIRouter(tags=["compute: hypervisors"])


def _limit(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        bad("limit", value, f"'{value}' is not a non-negative integer")
    return int(value)


def _listing(request: Request, db, version, *, detail: bool) -> dict:
    q = request.query_params
    limit = marker = pattern = None
    with_servers = False
    if version >= (2, 33):
        limit, marker = _limit(q.get("limit")), q.get("marker")
    if version >= (2, 53):
        pattern = q.get("hypervisor_hostname_pattern")
        with_servers = bool(boolean(dict(q), "with_servers"))
        if pattern is not None and (limit is not None or marker is not None):
            raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query "
                             "parameter is not supported.")
    items = hypervisors.matching(db, pattern) if pattern is not None else hypervisors.nodes(db)
    items = hypervisors.page(items, version, limit, marker)
    out: dict = {"hypervisors": [hypervisors.view(n, version, detail=detail, with_servers=with_servers)
                                 for n in items]}
    if limit and len(items) == limit:
        params = {k: v for k, v in q.items() if k != "marker"}
        params["marker"] = str(hypervisors.ident(items[-1], version))
        href = str(request.url.replace(query=urlencode(params)))
        out["hypervisors_links"] = [{"rel": "next", "href": href}]
    return out


@router.get("/os-hypervisors", summary="List hypervisors")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-hypervisors:list")
    return _listing(request, db, version, detail=False)


@router.get("/os-hypervisors/detail", summary="List hypervisors with capacity and use")
def detail(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-hypervisors:list-detail")
    return _listing(request, db, version, detail=True)


@router.get("/os-hypervisors/statistics", summary="Sum of every hypervisor's capacity and use")
def statistics(ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-hypervisors:statistics")
    return {"hypervisor_statistics": hypervisors.statistics(db)}


@router.get("/os-hypervisors/{hypervisor_id}", summary="Show a hypervisor")
def show(hypervisor_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-hypervisors:show")
    with_servers = version >= (2, 53) and bool(boolean(dict(request.query_params), "with_servers"))
    node = hypervisors.find(db, hypervisor_id, version)
    return {"hypervisor": hypervisors.view(node, version, detail=True, with_servers=with_servers)}


@router.get("/os-hypervisors/{hypervisor_id}/uptime", summary="A hypervisor's uptime")
def uptime(hypervisor_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-hypervisors:uptime")
    hypervisors.find(db, hypervisor_id, version)
    raise NotImplementedYet(
        "Virt driver does not implement uptime function: hypervisor_info does not report the "
        "host's uptime; read it on the host.")


def _before_253(version, what: str) -> None:
    if version >= (2, 53):
        raise NotFound(f"/os-hypervisors/{{pattern}}/{what} was removed in microversion 2.53; use "
                       "GET /os-hypervisors?hypervisor_hostname_pattern=...&with_servers=true.")


@router.get("/os-hypervisors/{pattern}/search", summary="Hypervisors whose name matches (before 2.53)")
def search(pattern: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-hypervisors:search")
    _before_253(version, "search")
    return {"hypervisors": [hypervisors.view(n, version, detail=False) for n in hypervisors.matching(db, pattern)]}


@router.get("/os-hypervisors/{pattern}/servers", summary="Matching hypervisors and their servers (before 2.53)")
def servers(pattern: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-hypervisors:servers")
    _before_253(version, "servers")
    return {"hypervisors": [hypervisors.view(n, version, detail=False, with_servers=True)
                            for n in hypervisors.matching(db, pattern)]}
