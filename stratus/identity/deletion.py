"""Deleting identity objects with what hangs on them (Keystone's cascades): role
assignments, group memberships and the tokens they scoped (revocation events).

Routes look the object up, check policy and call these; the rules that refuse a
delete (child projects, an enabled or the default domain) live here and raise the
neutral errors of :mod:`stratus.errors`.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from stratus.db.models.identity import Domain, Group, GroupMembership, Project, RoleAssignment, User
from stratus.errors import Forbidden
from stratus.identity import credentials, domain_config, limits
from stratus.identity.tokens import add_revocation

DEFAULT_DOMAIN_ID = "default"


def delete_project(db: Session, settings, project: Project) -> None:
    """Remove a project with its role assignments; its tokens stop working."""
    if db.scalars(select(Project).filter_by(parent_id=project.id)).first():
        raise Forbidden(f"Cannot delete project {project.id}: it has child projects; delete them first.")
    _remove_project(db, settings, project)


def _remove_project(db: Session, settings, project: Project) -> None:
    db.execute(delete(RoleAssignment).where(RoleAssignment.target_id == project.id))
    credentials.forget(db, project_id=project.id)
    limits.forget_project(db, project.id)
    add_revocation(db, settings, project_id=project.id)
    db.delete(project)
    db.flush()


def delete_user(db: Session, settings, user: User) -> None:
    """Remove a user with its role assignments and memberships; its tokens stop working."""
    db.execute(delete(RoleAssignment).where(RoleAssignment.actor_id == user.id))
    db.execute(delete(GroupMembership).where(GroupMembership.user_id == user.id))
    credentials.forget(db, user_id=user.id)
    add_revocation(db, settings, user_id=user.id)
    db.delete(user)
    db.flush()


def delete_group(db: Session, group: Group) -> None:
    """Remove a group with its role assignments and memberships."""
    db.execute(delete(RoleAssignment).where(RoleAssignment.actor_id == group.id))
    db.execute(delete(GroupMembership).where(GroupMembership.group_id == group.id))
    db.delete(group)
    db.flush()


def delete_domain(db: Session, settings, domain: Domain) -> None:
    """Remove a disabled domain with its projects (children first), users and groups."""
    if domain.enabled:
        raise Forbidden(f"Cannot delete domain {domain.id}: disable it first (PATCH enabled=false).")
    if domain.id == DEFAULT_DOMAIN_ID:
        raise Forbidden("The default domain cannot be deleted.")
    projects = list(db.scalars(select(Project).filter_by(domain_id=domain.id)))
    parents = {p.id: p.parent_id for p in projects}

    def depth(pid: str | None) -> int:
        n = 0
        while pid in parents and parents[pid]:
            pid, n = parents[pid], n + 1
        return n

    for p in sorted(projects, key=lambda p: depth(p.id), reverse=True):  # children first
        _remove_project(db, settings, p)
    for u in list(db.scalars(select(User).filter_by(domain_id=domain.id))):
        delete_user(db, settings, u)
    for g in list(db.scalars(select(Group).filter_by(domain_id=domain.id))):
        delete_group(db, g)
    db.execute(delete(RoleAssignment).where(RoleAssignment.target_id == domain.id))
    domain_config.remove_all(db, domain.id)
    db.flush()
    db.delete(domain)
