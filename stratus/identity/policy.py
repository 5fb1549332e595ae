"""RBAC with oslo.policy: default rules for the admin / member / reader personas,
overridable by a policy file in oslo.policy's format (YAML or JSON).

Every area registers its default rules with :func:`register_defaults` at import time
(``register_defaults([RuleDefault("compute:servers:create", "rule:project_member")])``)
and checks them through the API's ``enforce`` dependency. Base rules to build on:

- ``admin_required``  — the cloud administrator: ``admin`` on the system scope or on
  the admin project (settings ``admin_project_name``/``admin_project_domain_name``);
  ``admin`` on any other project is not (Keystone's ``is_admin_project``)
- ``project_admin``   — ``admin`` on the target's project
- ``project_member``  — ``member`` on the target's project (``%(project_id)s``)
- ``project_reader``  — ``reader`` on the target's project
- ``admin_or_member`` / ``admin_or_reader`` — either of the above or admin
- ``owner``           — the token's user is the target's ``user_id``

Roles imply others (admin → member → reader), and tokens carry the implied roles, so
``role:reader`` also matches members and admins.
"""

from __future__ import annotations

import threading
import time

from oslo_config import cfg
from oslo_policy import policy

from stratus.identity.context import RequestContext

RuleDefault = policy.RuleDefault

BASE_RULES: list[RuleDefault] = [
    RuleDefault("admin_required", "role:admin and (system_scope:all or is_admin_project:True)",
                "the cloud administrator: admin on the system or on the admin project"),
    RuleDefault("project_admin", "role:admin and project_id:%(project_id)s",
                "an administrator of the target's project"),
    RuleDefault("service_role", "role:service", "a service user"),
    RuleDefault("owner", "user_id:%(user_id)s", "the user the target belongs to"),
    RuleDefault("project_member", "role:member and project_id:%(project_id)s"),
    RuleDefault("project_reader", "role:reader and project_id:%(project_id)s"),
    RuleDefault("admin_or_member", "rule:admin_required or rule:project_member"),
    RuleDefault("admin_or_reader", "rule:admin_required or rule:project_reader"),
    RuleDefault("admin_or_owner", "rule:admin_required or rule:owner"),
]

_registry: dict[str, RuleDefault] = {}
_lock = threading.Lock()


def register_defaults(rules: list[RuleDefault]) -> None:
    """Add default rules (a later registration of the same name replaces the earlier)."""
    with _lock:
        for rule in rules:
            _registry[rule.name] = rule


register_defaults(BASE_RULES)


def registered_rules() -> list[RuleDefault]:
    return list(_registry.values())


class Enforcer:
    """oslo.policy's Enforcer with our defaults and an optional override file."""

    def __init__(self, policy_file: str | None = None) -> None:
        conf = cfg.ConfigOpts()
        conf([], project="stratus", default_config_files=[], default_config_dirs=[])
        self._enforcer = policy.Enforcer(
            conf, policy_file=policy_file or "policy.yaml", use_conf=True
        )
        self._policy_file = policy_file
        self._registered: set[str] = set()
        self._loaded_at = float("-inf")
        self._decisions: dict[tuple, bool] = {}
        self._lock = threading.Lock()

    # the policy file is re-read (when changed) at most this often: oslo.policy's
    # load_rules costs more than the check itself
    RELOAD_SECONDS = 1.0
    MAX_DECISIONS = 10_000

    def _sync_defaults(self) -> None:
        now = time.monotonic()
        if len(self._registered) == len(_registry) and now - self._loaded_at < self.RELOAD_SECONDS:
            return
        with self._lock:
            missing = [r for n, r in _registry.items() if n not in self._registered]
            if missing:
                self._enforcer.register_defaults(missing)
                self._registered.update(r.name for r in missing)
            self._enforcer.load_rules()
            self._loaded_at = now

    def authorize(self, rule: str, target: dict, ctx: RequestContext) -> bool:
        self._sync_defaults()
        creds = ctx.policy_credentials()
        # decisions are kept per (rules loaded, rule, target, credentials): the same
        # caller making the same call costs a dict lookup, not an oslo.policy walk
        version = (id(self._enforcer.rules), len(self._registered))
        try:
            key = (version, rule, _frozen(target), _frozen(creds))
            hit = self._decisions.get(key)
        except TypeError:  # an unhashable value: decide without the cache
            key, hit = None, None
        if hit is not None:
            return hit
        if rule not in self._enforcer.registered_rules and rule not in self._enforcer.rules:
            raise KeyError(f"policy rule {rule!r} is not registered")
        allowed = bool(self._enforcer.enforce(rule, target, creds))
        if key is not None:
            if len(self._decisions) >= self.MAX_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = allowed
        return allowed


def _frozen(d: dict) -> tuple:
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items())
    )


def make_enforcer(policy_file: str | None = None) -> Enforcer:
    return Enforcer(policy_file)


# --- identity's own rules (keystone's names) ---------------------------------------------
_ADMIN = "rule:admin_required"
IDENTITY_RULES = [
    RuleDefault(
        "identity:validate_token",
        "rule:admin_required or rule:service_role or user_id:%(target.token.user_id)s",
    ),
    RuleDefault("identity:revoke_token", "rule:admin_required or user_id:%(target.token.user_id)s"),
    RuleDefault(
        "identity:get_domain",
        "rule:admin_required or domain_id:%(target.domain.id)s or project_domain_id:%(target.domain.id)s",
    ),
    RuleDefault("identity:list_domains", _ADMIN),
    RuleDefault("identity:create_domain", _ADMIN),
    RuleDefault("identity:update_domain", _ADMIN),
    RuleDefault("identity:delete_domain", _ADMIN),
    RuleDefault("identity:get_project", "rule:admin_required or project_id:%(target.project.id)s"),
    RuleDefault("identity:list_projects", _ADMIN),
    RuleDefault("identity:list_user_projects", "rule:admin_required or user_id:%(target.user.id)s"),
    RuleDefault("identity:create_project", _ADMIN),
    RuleDefault("identity:update_project", _ADMIN),
    RuleDefault("identity:delete_project", _ADMIN),
    RuleDefault("identity:get_user", "rule:admin_required or user_id:%(target.user.id)s"),
    RuleDefault("identity:list_users", _ADMIN),
    RuleDefault("identity:create_user", _ADMIN),
    RuleDefault("identity:update_user", _ADMIN),
    RuleDefault("identity:delete_user", _ADMIN),
    RuleDefault("identity:change_password", "user_id:%(target.user.id)s"),
    RuleDefault("identity:get_group", _ADMIN),
    RuleDefault("identity:list_groups", _ADMIN),
    RuleDefault(
        "identity:list_groups_for_user", "rule:admin_required or user_id:%(target.user.id)s"
    ),
    RuleDefault("identity:create_group", _ADMIN),
    RuleDefault("identity:update_group", _ADMIN),
    RuleDefault("identity:delete_group", _ADMIN),
    RuleDefault("identity:list_users_in_group", _ADMIN),
    RuleDefault("identity:add_user_to_group", _ADMIN),
    RuleDefault("identity:remove_user_from_group", _ADMIN),
    RuleDefault("identity:check_user_in_group", _ADMIN),
    RuleDefault("identity:get_role", _ADMIN),
    RuleDefault("identity:list_roles", _ADMIN),
    RuleDefault("identity:create_role", _ADMIN),
    RuleDefault("identity:update_role", _ADMIN),
    RuleDefault("identity:delete_role", _ADMIN),
    RuleDefault("identity:get_implied_role", _ADMIN),
    RuleDefault("identity:list_implied_roles", _ADMIN),
    RuleDefault("identity:create_implied_role", _ADMIN),
    RuleDefault("identity:delete_implied_role", _ADMIN),
    RuleDefault("identity:list_role_inference_rules", _ADMIN),
    RuleDefault("identity:check_grant", _ADMIN),
    RuleDefault("identity:list_grants", _ADMIN),
    RuleDefault("identity:create_grant", _ADMIN),
    RuleDefault("identity:revoke_grant", _ADMIN),
    RuleDefault("identity:list_role_assignments", _ADMIN),
    RuleDefault("identity:list_role_assignments_for_tree", _ADMIN),
    RuleDefault("identity:get_region", ""),
    RuleDefault("identity:list_regions", ""),
    RuleDefault("identity:create_region", _ADMIN),
    RuleDefault("identity:update_region", _ADMIN),
    RuleDefault("identity:delete_region", _ADMIN),
    RuleDefault("identity:get_service", _ADMIN),
    RuleDefault("identity:list_services", _ADMIN),
    RuleDefault("identity:create_service", _ADMIN),
    RuleDefault("identity:update_service", _ADMIN),
    RuleDefault("identity:delete_service", _ADMIN),
    RuleDefault("identity:get_endpoint", _ADMIN),
    RuleDefault("identity:list_endpoints", _ADMIN),
    RuleDefault("identity:create_endpoint", _ADMIN),
    RuleDefault("identity:update_endpoint", _ADMIN),
    RuleDefault("identity:delete_endpoint", _ADMIN),
    RuleDefault(
        "identity:get_application_credential", "rule:admin_required or user_id:%(target.user.id)s"
    ),
    RuleDefault(
        "identity:list_application_credentials", "rule:admin_required or user_id:%(target.user.id)s"
    ),
    RuleDefault("identity:create_application_credential", "user_id:%(target.user.id)s"),
    RuleDefault(
        "identity:delete_application_credential",
        "rule:admin_required or user_id:%(target.user.id)s",
    ),
]
register_defaults(IDENTITY_RULES)
