"""Domain-specific roles (a role with ``domain_id``), as Keystone has them: granted only
on targets of their own domain, never implied by another role, and never themselves in a
token or an effective assignment — only the roles they imply are."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.identity import Domain, Project, Role
from stratus.errors import Forbidden, NotFound


def check_domain_exists(db: Session, domain_id: str) -> None:
    if db.get(Domain, domain_id) is None:
        raise NotFound(f"Could not find domain: {domain_id}.")


def refuse_as_implied(implied: Role) -> None:
    if implied.domain_id:
        raise Forbidden(
            f"{implied.id} cannot be an implied roles. A domain-specific role cannot be "
            "implied; imply a global role instead."
        )


def check_grant(db: Session, role: Role, target_kind: str, target_id: str) -> None:
    """403 when a domain-specific ``role`` is granted outside its domain."""
    if not role.domain_id:
        return
    if target_kind == "project":
        project = db.get(Project, target_id)
        domain_id = project.domain_id if project else None
    elif target_kind == "domain":
        domain_id = target_id
    else:
        domain_id = None
    if domain_id != role.domain_id:
        raise Forbidden(
            f"Project {target_id} must be in the same domain as the role {role.id} being "
            f"assigned (domain {role.domain_id})."
            if target_kind == "project"
            else f"The domain-specific role {role.id} can only be granted within domain {role.domain_id}."
        )


def domain_role_ids(db: Session, role_ids: set[str]) -> set[str]:
    """Those of ``role_ids`` that are domain-specific."""
    if not role_ids:
        return set()
    q = select(Role.id).where(Role.id.in_(role_ids), Role.domain_id != "")
    return set(db.scalars(q))
