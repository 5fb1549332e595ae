"""Cinder v3 QoS specs (administrators only): ``/qos-specs`` list/create, show, set keys
(``PUT``), delete (``?force=true`` disassociates first), ``PUT .../delete_keys``, and
Cinder's GET member actions ``associate`` / ``disassociate`` (``?vol_type_id=``),
``disassociate_all`` and ``associations``. The logic is :mod:`stratus.volume.qos`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.volume._common import JsonBody, VolumeAuth
from stratus.volume import qos as q
from stratus.volume.volume_types import parse_bool

router = APIRouter(tags=["volume: qos_specs"])

# Cinder's GET member actions on a type (``?vol_type_id=``)
TYPE_ACTIONS = {"associate": q.associate, "disassociate": q.disassociate}


def _links(request: Request, qos_id: str) -> list[dict[str, str]]:
    base = f"{request.app.state.settings.endpoint_url}/volume/v3"
    return [{"rel": "self", "href": f"{base}/qos-specs/{qos_id}"},
            {"rel": "bookmark", "href": f"{base}/qos-specs/{qos_id}"}]


def _detail(request: Request, qos) -> dict:
    return {"qos_specs": q.view(qos), "links": _links(request, qos.id)}


def _wrapped(body) -> dict:
    if not isinstance(body, dict) or "qos_specs" not in body:
        raise BadRequest("Missing required element 'qos_specs' in request body.")
    return body["qos_specs"]


@router.get("/qos-specs")
def list_specs(ctx: VolumeAuth, policy: Policy, db: DbSession, name: str | None = None,
               consumer: str | None = None, limit: int | None = None, marker: str | None = None):
    policy.enforce("volume_extension:qos_specs_manage:get_all")
    if limit is not None and limit < 0:
        raise BadRequest("limit must be >= 0.")
    rows = q.list_specs(db, name=name, consumer=consumer, limit=limit, marker=marker)
    return {"qos_specs": [q.view(r) for r in rows]}


@router.post("/qos-specs")
def create_specs(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("volume_extension:qos_specs_manage:create")
    return _detail(request, q.create(db, _wrapped(body)))


@router.get("/qos-specs/{qos_id}")
def show_specs(qos_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession):
    policy.enforce("volume_extension:qos_specs_manage:get")
    return _detail(request, q.get(db, qos_id))


@router.put("/qos-specs/{qos_id}")
def set_keys(qos_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("volume_extension:qos_specs_manage:update")
    return {"qos_specs": q.set_keys(db, q.get(db, qos_id), _wrapped(body))}


@router.delete("/qos-specs/{qos_id}")
def delete_specs(qos_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, force: str | None = None):
    policy.enforce("volume_extension:qos_specs_manage:delete")
    q.delete_specs(db, q.get(db, qos_id), force=parse_bool(force or "false", "force"))
    return Response(status_code=202)


@router.put("/qos-specs/{qos_id}/delete_keys")
def delete_keys(qos_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("volume_extension:qos_specs_manage:delete")
    q.delete_keys(db, q.get(db, qos_id), body)
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/associations")
def associations(qos_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    policy.enforce("volume_extension:qos_specs_manage:get_all")
    return {"qos_associations": q.associations(db, q.get(db, qos_id))}


@router.get("/qos-specs/{qos_id}/disassociate_all")
def disassociate_all(qos_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    policy.enforce("volume_extension:qos_specs_manage:update")
    q.disassociate_all(db, q.get(db, qos_id))
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/{action}")
def type_action(qos_id: str, action: str, ctx: VolumeAuth, policy: Policy, db: DbSession,
                vol_type_id: str | None = None):
    """``associate`` / ``disassociate`` (registered last: the named member routes come first)."""
    handler = TYPE_ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"There is no such QoS specs action: {action}")
    policy.enforce("volume_extension:qos_specs_manage:update")
    handler(db, q.get(db, qos_id), vol_type_id)
    return Response(status_code=202)
