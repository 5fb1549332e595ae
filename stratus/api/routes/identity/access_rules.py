"""/users/{user_id}/access_rules: the access rules of a user's application credentials
(read-only here: a rule lives as long as a credential that holds it)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import NotFound
from stratus.api.routes.identity._util import list_links, self_link
from stratus.api.routes.identity.application_credentials import known_rules
from stratus.identity.policy import RuleDefault, register_defaults

_OWNER = "rule:admin_required or user_id:%(target.user.id)s"
register_defaults(
    [
        RuleDefault("identity:get_access_rule", _OWNER),
        RuleDefault("identity:list_access_rules", _OWNER),
    ]
)

router = APIRouter(tags=["identity: access rules"])


def view(request: Request, user_id: str, rule: dict) -> dict:
    return {**rule, "links": self_link(request, f"/users/{user_id}/access_rules/{rule['id']}")}


@router.get("/users/{user_id}/access_rules", summary="List a user's access rules")
def list_(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_access_rules", {"target.user.id": user_id})
    rules = sorted(known_rules(db, user_id), key=lambda r: (r["service"], r["path"], r["method"]))
    return {"access_rules": [view(request, user_id, r) for r in rules], "links": list_links(request)}


@router.get("/users/{user_id}/access_rules/{rule_id}", summary="Show an access rule")
def get(request: Request, user_id: str, rule_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_access_rule", {"target.user.id": user_id})
    for rule in known_rules(db, user_id):
        if rule["id"] == rule_id:
            return {"access_rule": view(request, user_id, rule)}
    raise NotFound(f"Could not find access rule: {rule_id}.")
