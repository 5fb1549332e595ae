"""Nova ``flavors``: ``GET /flavors`` and ``/flavors/detail`` (is_public for admins,
minDisk, minRam, sort_key/sort_dir, marker/limit with ``flavors_links``), ``GET
/flavors/{id}``, ``POST /flavors`` (admin; id "auto" or absent → a uuid),
``PUT /flavors/{id}`` (2.55, the description) and ``DELETE /flavors/{id}`` (202).

Shapes by microversion: ``description`` from 2.55, ``extra_specs`` in the flavor from
2.61 (for callers the extra-specs index policy allows), ``swap`` 0 instead of "" from
2.75."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.compute import flavors as svc
from stratus.compute import validation as v
from stratus.db.models.compute import Flavor
from stratus.errors import BadRequest, NotFound

router = APIRouter(tags=["compute: flavors"])

SORT_KEYS = {"created_at": Flavor.created_at, "description": Flavor.description,
             "disabled": Flavor.disabled, "ephemeral_gb": Flavor.ephemeral_gb, "flavorid": Flavor.id,
             "id": Flavor.id, "is_public": Flavor.is_public, "memory_mb": Flavor.memory_mb,
             "name": Flavor.name, "root_gb": Flavor.root_gb, "rxtx_factor": Flavor.rxtx_factor,
             "swap": Flavor.swap, "updated_at": Flavor.updated_at, "vcpus": Flavor.vcpus}
MAX_LIMIT = 1000
_ID = {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
       "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"}
_DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535,
                "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"}


def _create_schema(version) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": v.name, "id": _ID, "ram": v.integer(1), "vcpus": v.integer(1), "disk": v.integer(0),
        "OS-FLV-EXT-DATA:ephemeral": v.integer(0), "swap": v.integer(0),
        "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                        "minimum": 0, "exclusiveMinimum": True, "maximum": v.SQL_SP_FLOAT_MAX},
        "os-flavor-access:is_public": v.boolean_type,
    }
    if version >= (2, 55):
        props["description"] = _DESCRIPTION
    return {"type": "object", "required": ["flavor"], "additionalProperties": False,
            "properties": {"flavor": {"type": "object", "properties": props,
                                      "required": ["name", "ram", "vcpus", "disk"],
                                      "additionalProperties": False}}}


def links(request: Request, flavor_id: str) -> list[dict[str, str]]:
    base = request.app.state.settings.endpoint_url + "/compute"
    return [{"rel": "self", "href": f"{base}/v2.1/flavors/{flavor_id}"},
            {"rel": "bookmark", "href": f"{base}/flavors/{flavor_id}"}]


def view(request: Request, db, policy, version, flavor: Flavor, *, detail: bool = True) -> dict[str, Any]:
    """A flavor as Nova shows it at ``version`` (the list's short form unless ``detail``)."""
    out: dict[str, Any] = {"id": flavor.id, "name": flavor.name}
    if detail:
        swap: int | str = flavor.swap if (flavor.swap or version >= (2, 75)) else ""
        out.update({
            "ram": flavor.memory_mb, "disk": flavor.root_gb, "swap": swap,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled, "vcpus": flavor.vcpus,
            "os-flavor-access:is_public": flavor.is_public, "rxtx_factor": flavor.rxtx_factor,
        })
    out["links"] = links(request, flavor.id)
    if version >= (2, 55):
        out["description"] = flavor.description
    if detail and version >= (2, 61) and policy.allowed("os_compute_api:os-flavor-extra-specs:index"):
        out["extra_specs"] = svc.extra_specs(db, flavor.id)
    return out


def _is_public(ctx, raw: str | None) -> bool | None:
    if not ctx.is_admin or raw is None:
        return True
    if raw.lower() == "none":
        return None
    if raw.lower() in ("true", "1", "on", "yes", "y", "t"):
        return True
    if raw.lower() in ("false", "0", "off", "no", "n", "f"):
        return False
    raise BadRequest(f"Invalid is_public filter [{raw}]")


def _int_filter(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{raw}]") from None


def _listing(request: Request, ctx, db, policy, version, *, detail: bool) -> dict[str, Any]:
    q = request.query_params
    query = svc.visible(db, ctx, is_public=_is_public(ctx, q.get("is_public")))
    if not ctx.is_admin:
        query = query.where(Flavor.disabled.is_(False))
    min_ram, min_disk = _int_filter("minRam", q.get("minRam")), _int_filter("minDisk", q.get("minDisk"))
    if min_ram is not None:
        query = query.where(Flavor.memory_mb >= min_ram)
    if min_disk is not None:
        query = query.where(Flavor.root_gb >= min_disk)
    sort_key, sort_dir = q.get("sort_key", "flavorid"), q.get("sort_dir", "asc")
    if sort_key not in SORT_KEYS:
        v.bad("sort_key", sort_key, f"{sort_key!r} is not one of {sorted(SORT_KEYS)}")
    if sort_dir not in ("asc", "desc"):
        v.bad("sort_dir", sort_dir, f"{sort_dir!r} is not one of ['asc', 'desc']")
    column = SORT_KEYS[sort_key]
    rows = list(db.scalars(query.order_by(column.desc() if sort_dir == "desc" else column.asc(),
                                          Flavor.id.asc())))
    marker = q.get("marker")
    if marker is not None:
        at = next((i for i, f in enumerate(rows) if f.id == marker), None)
        if at is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        rows = rows[at + 1:]
    limit = MAX_LIMIT
    if q.get("limit") is not None:
        try:
            limit = min(int(q["limit"]), MAX_LIMIT)
        except ValueError:
            limit = -1
        if limit < 0:
            v.bad("limit", q['limit'], "limit must be an integer 0 or greater")
    page = rows[:limit]
    body: dict[str, Any] = {"flavors": [view(request, db, policy, version, f, detail=detail) for f in page]}
    if page and len(page) == limit:  # as Nova: a full page links to the next
        params = {k: val for k, val in q.items() if k != "marker"}
        params["marker"] = page[-1].id
        query_string = "&".join(f"{k}={val}" for k, val in params.items())
        path = "flavors/detail" if detail else "flavors"
        body["flavors_links"] = [{"rel": "next", "href": f"{request.app.state.settings.endpoint_url}"
                                  f"/compute/v2.1/{path}?{query_string}"}]
    return body


@router.get("/flavors")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    return _listing(request, ctx, db, policy, version, detail=False)


@router.get("/flavors/detail")
def detail(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    return _listing(request, ctx, db, policy, version, detail=True)


@router.get("/flavors/{flavor_id}")
def show(flavor_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    flavor = svc.get_flavor(db, ctx, flavor_id, by_name=False)
    return {"flavor": view(request, db, policy, version, flavor)}


@router.post("/flavors")
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    policy.enforce("os_compute_api:os-flavor-manage:create", {})
    v.validate(body, _create_schema(version))
    vals = body["flavor"]
    flavor = svc.create(
        db, name=vals["name"].strip(), flavor_id=None if vals.get("id") is None else str(vals["id"]),
        vcpus=int(vals["vcpus"]), memory_mb=int(vals["ram"]), root_gb=int(vals["disk"]),
        ephemeral_gb=int(vals.get("OS-FLV-EXT-DATA:ephemeral", 0)), swap=int(vals.get("swap", 0)),
        rxtx_factor=float(vals.get("rxtx_factor", 1.0)),
        is_public=v.as_bool(vals.get("os-flavor-access:is_public", True)),
        description=vals.get("description"))
    return {"flavor": view(request, db, policy, version, flavor)}


@router.put("/flavors/{flavor_id}")
def update(flavor_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    if version < (2, 55):
        raise NotFound("The resource could not be found.")
    policy.enforce("os_compute_api:os-flavor-manage:update", {})
    v.validate(body, {"type": "object", "required": ["flavor"], "additionalProperties": False,
                      "properties": {"flavor": {"type": "object", "required": ["description"],
                                                "additionalProperties": False,
                                                "properties": {"description": _DESCRIPTION}}}})
    flavor = svc.get_flavor(db, None, flavor_id, by_name=False)
    flavor.description = body["flavor"]["description"]
    db.flush()
    return {"flavor": view(request, db, policy, version, flavor)}


@router.delete("/flavors/{flavor_id}", status_code=202)
def delete(flavor_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-flavor-manage:delete", {})
    svc.delete_flavor(db, svc.get_flavor(db, None, flavor_id, by_name=False))
    return Response(status_code=202)

