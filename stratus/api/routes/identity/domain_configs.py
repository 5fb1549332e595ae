"""/domains/{id}/config (whole, a group, an option) and /domains/config/default:
Keystone's domain-specific configuration API. Sensitive options are never returned."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse

from stratus.api.deps import Auth, DbSession, Policy
from stratus.identity import domain_config
from stratus.identity.policy import RuleDefault, register_defaults

router = APIRouter(tags=["identity: domain configuration"])

_ADMIN = "rule:admin_required"
register_defaults([
    RuleDefault("identity:create_domain_config", _ADMIN, "Create a domain's configuration."),
    RuleDefault("identity:get_domain_config", _ADMIN, "Show a domain's configuration."),
    RuleDefault("identity:update_domain_config", _ADMIN, "Change a domain's configuration."),
    RuleDefault("identity:delete_domain_config", _ADMIN, "Delete a domain's configuration."),
    RuleDefault("identity:get_domain_config_default", _ADMIN, "Show the default configuration."),
])


def _config(body: Any) -> Any:
    return body.get("config", {}) if isinstance(body, dict) else body


@router.put("/domains/{domain_id}/config")
def create_config(domain_id: str, ctx: Auth, db: DbSession, policy: Policy,
                  body: dict = Body(default={})):  # noqa: B008 - FastAPI's idiom
    policy.enforce("identity:create_domain_config", {"target.domain.id": domain_id})
    existed = domain_config.exists(db, domain_id)
    config = domain_config.create(db, domain_id, _config(body))
    return JSONResponse({"config": config}, status_code=200 if existed else 201)


@router.get("/domains/config/default")
def get_default(ctx: Auth, policy: Policy):
    policy.enforce("identity:get_domain_config_default", {})
    return {"config": domain_config.defaults()}


@router.get("/domains/config/default/{group}")
def get_default_group(group: str, ctx: Auth, policy: Policy):
    policy.enforce("identity:get_domain_config_default", {})
    return {"config": domain_config.defaults(group)}


@router.get("/domains/config/default/{group}/{option}")
def get_default_option(group: str, option: str, ctx: Auth, policy: Policy):
    policy.enforce("identity:get_domain_config_default", {})
    return {"config": domain_config.defaults(group, option)}


def _routes(path: str) -> None:
    """GET, PATCH and DELETE of the whole configuration, a group or an option."""

    def get(domain_id: str, ctx: Auth, db: DbSession, policy: Policy, group: str | None = None,
            option: str | None = None):
        policy.enforce("identity:get_domain_config", {"target.domain.id": domain_id})
        return {"config": domain_config.get(db, domain_id, group, option)}

    def patch(domain_id: str, ctx: Auth, db: DbSession, policy: Policy, group: str | None = None,
              option: str | None = None, body: dict = Body(default={})):  # noqa: B008
        policy.enforce("identity:update_domain_config", {"target.domain.id": domain_id})
        return {"config": domain_config.update(db, domain_id, _config(body), group, option)}

    def remove(domain_id: str, ctx: Auth, db: DbSession, policy: Policy, group: str | None = None,
               option: str | None = None):
        policy.enforce("identity:delete_domain_config", {"target.domain.id": domain_id})
        domain_config.remove(db, domain_id, group, option)
        return Response(status_code=204)

    router.add_api_route(path, get, methods=["GET"])
    router.add_api_route(path, patch, methods=["PATCH"])
    router.add_api_route(path, remove, methods=["DELETE"], status_code=204)


for _path in ("/domains/{domain_id}/config", "/domains/{domain_id}/config/{group}",
              "/domains/{domain_id}/config/{group}/{option}"):
    _routes(_path)
