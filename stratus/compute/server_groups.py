"""Nova's server groups: a project's named placement policy (``affinity``,
``anti-affinity``, and from 2.15 ``soft-affinity`` / ``soft-anti-affinity``) with
rules (2.64: ``max_server_per_host`` for anti-affinity) and its member servers.

    from stratus.compute.server_groups import get_group, add_member
    group = get_group(db, ctx, group_id)            # NotFound in Nova's words
    add_member(db, group, server_id, quota_defaults)  # 403 over server_group_members

The scheduler reads the members' hosts; the server create adds members.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.compute import ServerGroup, ServerGroupMember
from stratus.errors import Forbidden, NotFound
from stratus.identity.context import RequestContext
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("os_compute_api:os-server-groups:index", "rule:admin_or_reader"),
    RuleDefault("os_compute_api:os-server-groups:index:all_projects", "rule:admin_required"),
    RuleDefault("os_compute_api:os-server-groups:show", "rule:admin_or_reader"),
    RuleDefault("os_compute_api:os-server-groups:create", "rule:project_member"),
    RuleDefault("os_compute_api:os-server-groups:delete", "rule:admin_or_member"),
])

POLICIES = ("affinity", "anti-affinity")
SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")


def get_group(db: Session, ctx_or_project: RequestContext | str | None, group_id: str) -> ServerGroup:
    """The group ``group_id`` as the caller may see it: its own project's, any for a
    cloud admin or None (the controller)."""
    group = db.get(ServerGroup, group_id) if 0 < len(group_id) <= 36 and "\x00" not in group_id else None
    if group is not None and ctx_or_project is not None:
        admin = not isinstance(ctx_or_project, str) and ctx_or_project.is_admin
        project = ctx_or_project if isinstance(ctx_or_project, str) else ctx_or_project.project_id
        if not admin and group.project_id != project:
            group = None
    if group is None:
        raise NotFound(f"Server group {group_id} could not be found.")
    return group


def members(db: Session, group_id: str) -> list[str]:
    return list(db.scalars(select(ServerGroupMember.server_id).where(ServerGroupMember.group_id == group_id)
                           .order_by(ServerGroupMember.server_id)))


def list_groups(db: Session, project_id: str | None, *, limit: int | None = None,
                offset: int = 0) -> list[ServerGroup]:
    """Groups of ``project_id`` (None: every project), oldest first."""
    query = select(ServerGroup).order_by(ServerGroup.created_at, ServerGroup.id)
    if project_id is not None:
        query = query.where(ServerGroup.project_id == project_id)
    return list(db.scalars(query.offset(offset).limit(limit)))


def create(db: Session, *, project_id: str, user_id: str, name: str, policy: str,
           rules: dict | None = None, quota_defaults=None, group_id: str | None = None) -> ServerGroup:
    """A new group (id ``group_id`` or a new uuid); Forbidden in Nova's words over the
    project's server_groups quota."""
    quotas.lock_project(db, project_id)
    limit = quotas.limits(db, project_id, quota_defaults, "compute")["server_groups"]
    used = db.scalar(select(func.count()).select_from(ServerGroup).where(ServerGroup.project_id == project_id))
    if limit != quotas.UNLIMITED and used + 1 > limit:
        raise Forbidden("Quota exceeded, too many server groups.")
    group = ServerGroup(id=group_id or str(uuid.uuid4()), name=name, project_id=project_id, user_id=user_id,
                        policy=policy, rules=dict(rules or {}))
    db.add(group)
    db.flush()
    return group


def delete_group(db: Session, group: ServerGroup) -> None:
    db.execute(delete(ServerGroupMember).where(ServerGroupMember.group_id == group.id))
    db.delete(group)
    db.flush()


def add_member(db: Session, group: ServerGroup, server_id: str, quota_defaults=None) -> None:
    """Make ``server_id`` a member; Forbidden ("Quota exceeded, too many servers in
    group") when the group has its project's ``server_group_members`` already."""
    quotas.lock_project(db, group.project_id)
    limit = quotas.limits(db, group.project_id, quota_defaults, "compute")["server_group_members"]
    count = db.scalar(select(func.count()).select_from(ServerGroupMember)
                      .where(ServerGroupMember.group_id == group.id))
    if limit != quotas.UNLIMITED and count + 1 > limit:
        raise Forbidden("Quota exceeded, too many servers in group")
    db.add(ServerGroupMember(group_id=group.id, server_id=server_id))
    db.flush()


def remove_member(db: Session, server_id: str) -> None:
    """Forget ``server_id`` in whatever group it is (a deleted server)."""
    db.execute(delete(ServerGroupMember).where(ServerGroupMember.server_id == server_id))
