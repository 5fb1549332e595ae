"""Heat's policy rules (heat/policies/*.py, the new secure defaults), registered as
every service of the controller registers its own: a stack's readers may look, its
members change it, the cloud administrator lists every project's stacks
(``stacks:global_index``, which Heat denies to everybody by default) and the engine's
services. Targets are ``{"project_id": <the stack's project>}``.

    from stratus.stacks import policies
    policy.enforce(policies.STACKS_SHOW, {"project_id": stack.project_id})
"""

from __future__ import annotations

from stratus.identity.policy import RuleDefault, register_defaults

READER = "rule:admin_or_reader"
MEMBER = "rule:admin_or_member"
ADMIN = "rule:admin_required"

_STACKS = {
    "abandon": MEMBER, "create": MEMBER, "delete": MEMBER, "detail": READER, "export": MEMBER,
    "generate_template": MEMBER, "global_index": ADMIN, "index": READER, "list_resource_types": READER,
    "list_template_versions": READER, "list_template_functions": READER, "lookup": READER,
    "preview": READER, "resource_schema": READER, "show": READER, "template": READER,
    "environment": READER, "files": READER, "update": MEMBER, "update_patch": MEMBER,
    "update_no_change": "rule:stacks:update_patch", "preview_update": MEMBER,
    "preview_update_patch": MEMBER, "validate_template": MEMBER, "snapshot": MEMBER,
    "show_snapshot": READER, "delete_snapshot": MEMBER, "list_snapshots": READER,
    "restore_snapshot": MEMBER, "list_outputs": READER, "show_output": READER,
}
_RESOURCE = {"index": READER, "show": READER, "metadata": READER, "signal": READER, "mark_unhealthy": MEMBER}
_EVENTS = {"index": READER, "show": READER}
_ACTIONS = {"action": MEMBER, "snapshot": MEMBER, "suspend": MEMBER, "resume": MEMBER, "check": READER,
            "cancel_update": MEMBER, "cancel_without_rollback": MEMBER}

RULES: dict[str, str] = {
    **{f"stacks:{k}": v for k, v in _STACKS.items()},
    **{f"resource:{k}": v for k, v in _RESOURCE.items()},
    **{f"events:{k}": v for k, v in _EVENTS.items()},
    **{f"actions:{k}": v for k, v in _ACTIONS.items()},
    "build_info:build_info": READER,
    "service:index": ADMIN,
}
register_defaults([RuleDefault(name, check) for name, check in RULES.items()])


def stacks(action: str) -> str:
    """The rule name of a stacks-scope action (``stacks:create``)."""
    return f"stacks:{action}"
