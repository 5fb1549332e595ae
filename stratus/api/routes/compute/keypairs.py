"""Nova ``os-keypairs``: list (2.35 limit/marker with ``keypairs_links``), create
(import ``public_key`` or generate: ``private_key`` answered once), show, delete.

By microversion: ``type`` (ssh/x509) from 2.2, create answers 201 and delete 204
from 2.2 (200/202 before); admins act for another user with ``user_id`` from 2.10."""

from __future__ import annotations

import string
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.compute import keypairs as svc
from stratus.compute import validation as v
from stratus.db.models.compute import KeyPair
from stratus.errors import BadRequest

router = APIRouter(tags=["compute: keypairs"])

_SAFE = set("_- " + string.digits + string.ascii_letters)


def _create_schema(version) -> dict[str, Any]:
    props: dict[str, Any] = {"name": v.name, "public_key": {"type": "string"}}
    if version >= (2, 2):
        props["type"] = {"type": "string", "enum": list(svc.TYPES)}
    if version >= (2, 10):
        props["user_id"] = {"type": "string"}
    return {"type": "object", "required": ["keypair"], "additionalProperties": False,
            "properties": {"keypair": {"type": "object", "required": ["name"], "properties": props,
                                       "additionalProperties": False}}}


def _when(value) -> str | None:
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") if value else None


def _view(key: KeyPair, version, *, full: bool = False, listed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": key.name, "public_key": key.public_key, "fingerprint": key.fingerprint}
    if not listed:
        out["user_id"] = key.user_id
    if full:
        out.update({"created_at": _when(key.created_at), "updated_at": None, "deleted": False,
                    "deleted_at": None, "id": key.id})
    if version >= (2, 2):
        out["type"] = key.type
    return out


def _user(ctx, policy, version, rule: str, user_id: str | None) -> str:
    """The user whose key pairs are meant: ``user_id`` (2.10, policy decides), else the caller."""
    user = user_id if (user_id and version >= (2, 10)) else ctx.user_id
    policy.enforce(f"os_compute_api:os-keypairs:{rule}", {"user_id": user})
    return user


@router.get("/os-keypairs")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
          user_id: str | None = None):
    user = _user(ctx, policy, version, "index", user_id)
    limit = marker = None
    if version >= (2, 35):
        marker = request.query_params.get("marker")
        raw = request.query_params.get("limit")
        if raw is not None:
            if not raw.isdigit():
                v.bad("limit", raw, f"{raw!r} does not match '^[0-9]*$'")
            limit = int(raw)
    keys = svc.list_keypairs(db, user, limit=limit, marker=marker)
    body: dict[str, Any] = {"keypairs": [{"keypair": _view(k, version, listed=True)} for k in keys]}
    if limit and keys and len(keys) == limit:
        params = {k: val for k, val in request.query_params.items() if k != "marker"}
        params["marker"] = keys[-1].name
        query = "&".join(f"{k}={val}" for k, val in params.items())
        body["keypairs_links"] = [{"rel": "next", "href": f"{request.app.state.settings.endpoint_url}"
                                   f"/compute/v2.1/os-keypairs?{query}"}]
    return body


@router.post("/os-keypairs")
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    v.validate(body, _create_schema(version))
    vals = body["keypair"]
    user = _user(ctx, policy, version, "create", vals.get("user_id"))
    name = vals["name"]
    if not set(name) <= _SAFE:
        raise BadRequest("Keypair data is invalid: Keypair name contains unsafe characters")
    key, private = svc.create(db, user_id=user, project_id=ctx.project_id, name=name,
                              key_type=vals.get("type", "ssh"), public_key=vals.get("public_key"),
                              quota_defaults=request.app.state.settings.quota_defaults)
    out = _view(key, version)
    if private is not None:
        out["private_key"] = private
    return JSONResponse({"keypair": out}, status_code=201 if version >= (2, 2) else 200)


@router.get("/os-keypairs/{name}")
def show(name: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion, user_id: str | None = None):
    user = _user(ctx, policy, version, "show", user_id)
    return {"keypair": _view(svc.get_keypair(db, user, name), version, full=True)}


@router.delete("/os-keypairs/{name}")
def delete(name: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion, user_id: str | None = None):
    user = _user(ctx, policy, version, "delete", user_id)
    svc.delete_keypair(db, user, name)
    return Response(status_code=204 if version >= (2, 2) else 202)
