"""Role assignments: direct, through groups, inherited (OS-INHERIT) from a domain or a
parent project, and expanded by implied roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from stratus.db.models.identity import (
    GroupMembership,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
)
from stratus.identity.domain_roles import domain_role_ids

USER_PROJECT, GROUP_PROJECT = "UserProject", "GroupProject"
USER_DOMAIN, GROUP_DOMAIN = "UserDomain", "GroupDomain"
USER_SYSTEM, GROUP_SYSTEM = "UserSystem", "GroupSystem"
SYSTEM = "system"


def assignment_type(actor: str, target: str) -> str:
    """``("user", "project")`` -> ``UserProject``."""
    return actor.capitalize() + target.capitalize()


def group_ids_of(db: Session, user_id: str) -> list[str]:
    return list(db.scalars(select(GroupMembership.group_id).filter_by(user_id=user_id)))


def project_ancestors(db: Session, project: Project) -> list[Project]:
    out, seen = [], {project.id}
    cur = project
    while cur.parent_id and cur.parent_id not in seen:
        cur = db.get(Project, cur.parent_id)
        if cur is None:
            break
        seen.add(cur.id)
        out.append(cur)
    return out


def implied_closure(db: Session, role_ids: set[str]) -> set[str]:
    rules: dict[str, set[str]] = {}
    for prior, implied in db.execute(
        select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)
    ):
        rules.setdefault(prior, set()).add(implied)
    out, todo = set(role_ids), list(role_ids)
    while todo:
        for nxt in rules.get(todo.pop(), ()):
            if nxt not in out:
                out.add(nxt)
                todo.append(nxt)
    return out


def direct_role_ids(
    db: Session,
    user_id: str,
    *,
    project: Project | None = None,
    domain_id: str | None = None,
    system: bool = False,
) -> set[str]:
    """Role ids the user holds on the target, before implied roles are added."""
    actors = [user_id, *group_ids_of(db, user_id)]
    conds = []
    if project is not None:
        conds.append(
            (RoleAssignment.type.in_([USER_PROJECT, GROUP_PROJECT]))
            & (RoleAssignment.target_id == project.id)
            & (RoleAssignment.inherited.is_(False))
        )
        ancestors = project_ancestors(db, project)
        if ancestors:
            conds.append(
                RoleAssignment.type.in_([USER_PROJECT, GROUP_PROJECT])
                & RoleAssignment.target_id.in_([p.id for p in ancestors])
                & RoleAssignment.inherited.is_(True)
            )
        conds.append(
            RoleAssignment.type.in_([USER_DOMAIN, GROUP_DOMAIN])
            & (RoleAssignment.target_id == project.domain_id)
            & RoleAssignment.inherited.is_(True)
        )
    elif domain_id is not None:
        conds.append(
            RoleAssignment.type.in_([USER_DOMAIN, GROUP_DOMAIN])
            & (RoleAssignment.target_id == domain_id)
            & RoleAssignment.inherited.is_(False)
        )
    elif system:
        conds.append(RoleAssignment.type.in_([USER_SYSTEM, GROUP_SYSTEM]))
    else:
        return set()
    q = select(RoleAssignment.role_id).where(RoleAssignment.actor_id.in_(actors), or_(*conds))
    return set(db.scalars(q))


def effective_roles(db: Session, user_id: str, **target) -> list[Role]:
    ids = implied_closure(db, direct_role_ids(db, user_id, **target))
    ids -= domain_role_ids(db, ids)  # only what a domain-specific role implies counts
    if not ids:
        return []
    return list(db.scalars(select(Role).where(Role.id.in_(ids)).order_by(Role.name)))


@dataclass
class Assignment:
    """One row of GET /role_assignments."""

    role_id: str
    actor: str  # "user" | "group"
    actor_id: str
    target: str  # "project" | "domain" | "system"
    target_id: str
    inherited: bool = False
    via_group_id: str | None = None  # effective: the membership it came through
    via_prior_role_id: str | None = None  # effective: implied by this role


def _row_to_assignment(ra: RoleAssignment) -> Assignment:
    actor = "user" if ra.type.startswith("User") else "group"
    target = ra.type[len(actor) :].lower()
    return Assignment(ra.role_id, actor, ra.actor_id, target, ra.target_id, ra.inherited)


def list_assignments(
    db: Session,
    *,
    user_id: str | None = None,
    group_id: str | None = None,
    project_id: str | None = None,
    domain_id: str | None = None,
    system: bool = False,
    role_id: str | None = None,
    inherited: bool | None = None,
    effective: bool = False,
) -> list[Assignment]:
    """Assignments matching the filters. ``effective``: group assignments expanded to
    their members, inherited ones to the projects they reach, implied roles added —
    the roles users actually get (keystone's ``?effective``)."""
    rows = [_row_to_assignment(ra) for ra in db.scalars(select(RoleAssignment))]
    if effective:
        rows = _expand(db, rows)
        local = domain_role_ids(db, {a.role_id for a in rows})
        rows = [a for a in rows if a.role_id not in local]
    out = []
    for a in rows:
        if user_id and not (a.actor == "user" and a.actor_id == user_id):
            continue
        if group_id and not (a.actor == "group" and a.actor_id == group_id):
            continue
        if project_id and not (a.target == "project" and a.target_id == project_id):
            continue
        if domain_id and not (a.target == "domain" and a.target_id == domain_id):
            continue
        if system and a.target != "system":
            continue
        if role_id and a.role_id != role_id:
            continue
        if inherited is not None and a.inherited != inherited:
            continue
        out.append(a)
    return out


def _expand(db: Session, rows: list[Assignment]) -> list[Assignment]:
    members: dict[str, list[str]] = {}
    for uid, gid in db.execute(select(GroupMembership.user_id, GroupMembership.group_id)):
        members.setdefault(gid, []).append(uid)
    projects = list(db.scalars(select(Project)))
    children: dict[str, list[Project]] = {}
    for p in projects:
        if p.parent_id:
            children.setdefault(p.parent_id, []).append(p)

    def descendants(pid: str) -> list[str]:
        out, todo = [], list(children.get(pid, []))
        while todo:
            p = todo.pop()
            out.append(p.id)
            todo.extend(children.get(p.id, []))
        return out

    step1: list[Assignment] = []
    for a in rows:
        targets: list[tuple[str, str]]
        if a.inherited and a.target == "domain":
            targets = [("project", p.id) for p in projects if p.domain_id == a.target_id]
        elif a.inherited and a.target == "project":
            targets = [("project", pid) for pid in descendants(a.target_id)]
        else:
            targets = [(a.target, a.target_id)]
        for target, tid in targets:
            if a.actor == "group":
                for uid in members.get(a.actor_id, []):
                    step1.append(Assignment(a.role_id, "user", uid, target, tid, False, a.actor_id))
            else:
                step1.append(Assignment(a.role_id, "user", a.actor_id, target, tid, False))
    rules: dict[str, set[str]] = {}
    for prior, implied in db.execute(
        select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)
    ):
        rules.setdefault(prior, set()).add(implied)
    out, seen = [], set()
    for a in step1:
        todo = [(a.role_id, None)]
        while todo:
            rid, prior = todo.pop()
            key = (rid, a.actor_id, a.target, a.target_id)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                Assignment(
                    rid, "user", a.actor_id, a.target, a.target_id, False, a.via_group_id, prior
                )
            )
            todo.extend((n, rid) for n in rules.get(rid, ()))
    return out
