"""/users/{user_id}/credentials/OS-EC2 (EC2 access/secret pairs, rows of the credential
table of type ``ec2``) and ``POST /ec2tokens``: a token for a request signed with an EC2
secret (how Heat's signal URLs and EC2 clients authenticate)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy, _token_provider
from stratus.api.errors import BadRequest, Forbidden, NotFound, Unauthorized
from stratus.api.routes.identity._util import get_or_404, list_links, self_link
from stratus.db.models.identity import ApplicationCredential, Project, User
from stratus.db.models.identity_credentials import Credential
from stratus.identity import credentials, ec2
from stratus.identity.assignments import effective_roles
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.tokens import AUTH_FAILED, check_user_usable, token_document

_OWNER = "rule:admin_required or user_id:%(target.credential.user_id)s"
register_defaults([
    RuleDefault("identity:ec2_get_credential", _OWNER),
    RuleDefault("identity:ec2_list_credentials", _OWNER),
    RuleDefault("identity:ec2_create_credential", _OWNER),
    RuleDefault("identity:ec2_delete_credential", _OWNER),
])

router = APIRouter(tags=["identity: EC2 credentials"])


def view(request: Request, cred: Credential, blob: dict) -> dict:
    return {
        "user_id": cred.user_id,
        "tenant_id": cred.project_id,
        "access": blob.get("access"),
        "secret": blob.get("secret"),
        "trust_id": blob.get("trust_id"),
        "links": self_link(request, f"/users/{cred.user_id}/credentials/OS-EC2/{blob.get('access')}"),
    }


def _blob(request: Request, cred: Credential) -> dict:
    return json.loads(credentials.plain(request.app.state.settings, cred))


@router.post("/users/{user_id}/credentials/OS-EC2", status_code=201)
def create(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy,
           body: Annotated[dict[str, Any], Body()]):
    policy.enforce("identity:ec2_create_credential", {"target.credential.user_id": user_id})
    user = get_or_404(db, User, user_id, "user")
    tenant_id = body.get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise BadRequest("Invalid input for field 'tenant_id': give the project the EC2 "
                         "credential authenticates to.")
    project = get_or_404(db, Project, tenant_id, "project")
    if not effective_roles(db, user.id, project=project):
        raise Forbidden(f"User {user.id} has no role on project {project.id}: an EC2 "
                        "credential can only authenticate to a project of its user.")
    cred, blob = credentials.new_ec2(db, request.app.state.settings, user.id, project.id,
                                     app_cred_id=ctx.app_cred_id)
    return {"credential": view(request, cred, blob)}


@router.get("/users/{user_id}/credentials/OS-EC2")
def list_(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:ec2_list_credentials", {"target.credential.user_id": user_id})
    get_or_404(db, User, user_id, "user")
    rows = db.scalars(select(Credential).where(Credential.user_id == user_id,
                                               Credential.type == credentials.EC2)
                      .order_by(Credential.created_at, Credential.id))
    return {"credentials": [view(request, c, _blob(request, c)) for c in rows],
            "links": list_links(request)}


def _get(db, user_id: str, access: str) -> Credential:
    cred = db.get(Credential, credentials.ec2_id(access))
    if cred is None or cred.user_id != user_id or cred.type != credentials.EC2:
        raise NotFound(f"Could not find credential: {access}.")
    return cred


@router.get("/users/{user_id}/credentials/OS-EC2/{access}")
def get(request: Request, user_id: str, access: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:ec2_get_credential", {"target.credential.user_id": user_id})
    cred = _get(db, user_id, access)
    return {"credential": view(request, cred, _blob(request, cred))}


@router.delete("/users/{user_id}/credentials/OS-EC2/{access}", status_code=204)
def delete(request: Request, user_id: str, access: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:ec2_delete_credential", {"target.credential.user_id": user_id})
    db.delete(_get(db, user_id, access))
    return Response(status_code=204)


def _signed_request(body: dict) -> dict:
    creds = body.get("credentials", body.get("ec2Credentials"))
    if not isinstance(creds, dict):
        raise BadRequest("Invalid input for field 'credentials': expecting the signed request "
                         "(access, signature, host, verb, path, params).")
    if not creds.get("access") or not creds.get("signature"):
        raise Unauthorized("EC2 signature not supplied.")
    for k in ("host", "verb", "path"):
        if not isinstance(creds.get(k), str):
            raise BadRequest(f"Invalid input for field 'credentials.{k}': expecting a string.")
    for k in ("params", "headers"):
        if not isinstance(creds.get(k) or {}, dict):
            raise BadRequest(f"Invalid input for field 'credentials.{k}': expecting an object.")
    return {**creds, "params": dict(creds.get("params") or {}),
            "headers": dict(creds.get("headers") or {})}


@router.post("/ec2tokens", summary="A token for an EC2-signed request")
def ec2tokens(request: Request, db: DbSession, body: Annotated[dict[str, Any], Body()]):
    signed = _signed_request(body)
    cred = db.get(Credential, credentials.ec2_id(str(signed["access"])))
    if cred is None or cred.type != credentials.EC2:
        raise Unauthorized(f"{AUTH_FAILED} EC2 access key not found.")
    blob = _blob(request, cred)
    try:
        ec2.verify(str(blob.get("secret", "")), signed)
    except ec2.SignatureError as e:
        raise Unauthorized(f"{AUTH_FAILED} {e}") from None
    if blob.get("trust_id"):
        raise Unauthorized(f"{AUTH_FAILED} Trust-scoped EC2 credentials are not supported.")
    user = check_user_usable(db, db.get(User, cred.user_id))
    project = db.get(Project, cred.project_id) if cred.project_id else None
    if project is None or not project.enabled:
        raise Unauthorized(f"{AUTH_FAILED} The EC2 credential's project is disabled or gone.")
    if not effective_roles(db, user.id, project=project):
        raise Unauthorized(f"{AUTH_FAILED} User {user.id} has no role on project {project.id}.")
    app_cred = None
    if blob.get("app_cred_id"):
        app_cred = db.get(ApplicationCredential, blob["app_cred_id"])
        if app_cred is None:
            raise Unauthorized(f"{AUTH_FAILED} The EC2 credential's application credential is gone.")
    token, ctx = _token_provider(request).issue(db, user, ["ec2credential"], "p", project.id,
                                                app_cred=app_cred)
    return JSONResponse(token_document(db, ctx), headers={"X-Subject-Token": token})
