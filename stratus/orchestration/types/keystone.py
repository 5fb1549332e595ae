"""``OS::Keystone::*``: identity records that administrators' templates make (Heat's
types and property names).

Like ``OS::Glance::*`` images, these are records of the controller, not things on a
host: each resource's ``check`` makes or updates its record in the request's
transaction (the record's id is the resource's id, so ``get_resource`` yields the
project's, user's … id), ``check_delete`` removes it with what hangs on it (role
assignments, memberships, the tokens it scoped), and no task runs on any host. A
refusal (an unknown domain, a duplicate name) rolls the whole request back. Only a
cloud administrator may submit them; offline (``stratus compile``) nothing can be made.

References (``domain``, ``project``, ``role``, ``user``, ``group``, ``service``,
``region``) take an id or a name, as Heat's keystone constraints do.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import delete, select

from stratus.db.models.identity import (
    Domain,
    Endpoint,
    Group,
    GroupMembership,
    Project,
    Region,
    Role,
    RoleAssignment,
    Service,
    User,
)
from stratus.db.models.jobs import Resource
from stratus.errors import ApiError, BadRequest, Conflict, NotFound
from stratus.identity import deletion, ldap_identity
from stratus.identity.assignments import assignment_type
from stratus.identity.passwords import hash_password
from stratus.identity.tokens import add_revocation
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, LIST, STRING, Schema
from stratus.orchestration.resources import ControllerRecord, PlannedResource

INTERFACES = ("public", "internal", "admin")


def _find(db, model, ref: str, what: str, domain_id: str | None = None):
    """The ``model`` row with id ``ref``, else the one named ``ref`` (in ``domain_id``
    when given); 404 naming ``what`` when there is none, 409 when a name is ambiguous."""
    row = db.get(model, ref)
    if row is not None:
        return row
    q = select(model).filter_by(name=ref)
    if domain_id is not None and hasattr(model, "domain_id"):
        q = q.filter_by(domain_id=domain_id)
    rows = list(db.scalars(q.limit(2)))
    if not rows:
        raise NotFound(f"Could not find {what}: {ref}.")
    if len(rows) > 1:
        raise Conflict(f"More than one {what} is named {ref!r}: give its id.")
    return rows[0]


def _unique(db, model, name: str, what: str, own_id: str, **scope) -> None:
    other = db.scalars(select(model).filter_by(name=name, **scope)).first()
    if other is not None and other.id != own_id:
        raise Conflict(f"Conflict occurred attempting to store {what} - Duplicate entry found "
                       f"with name {name}.")


class KeystoneResource(ControllerRecord):
    """A record of the identity service made in the request's transaction."""

    cloud_admin_only = True
    record_kind = "identity records"
    model: ClassVar[Any] = None
    what: ClassVar[str] = ""

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        context = cls.controller(res)
        try:
            row = db.get(cls.model, res.resource_id)
            if row is None:
                row = cls.model(id=res.resource_id)
                cls.apply(db, row, res.properties, context.settings, new=True)
                db.add(row)
            else:
                cls.apply(db, row, res.properties, context.settings, new=False)
            db.flush()
            cls.after(db, row, res.properties, context.settings)
            db.flush()
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status) from exc
        res.attributes.update(cls.view(row))
        res.attributes["show"] = cls.view(row)

    @classmethod
    def apply(cls, db, row, props: dict[str, Any], settings, new: bool) -> None:
        """Set the record's columns from the properties (create and update)."""

    @classmethod
    def after(cls, db, row, props: dict[str, Any], settings) -> None:
        """What hangs on the record (memberships, role assignments), once it exists."""

    @classmethod
    def view(cls, row) -> dict[str, Any]:
        return {"id": row.id}

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        row = db.get(cls.model, res.resource_id)
        if row is None:
            return  # deleted through the identity API already
        if res.context is None:
            raise ResourceCheckFailed(f"{cls.type_name} needs the controller to be deleted: delete "
                                      "the resource through its API", ("resources", res.name))
        try:
            cls.remove(db, row, res.context.settings)
            db.flush()
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, ("resources", res.name),
                                      status=409 if exc.status == 403 else exc.status) from exc

    @classmethod
    def remove(cls, db, row, settings) -> None:
        db.delete(row)

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {"show": {"id": res.resource_id, **{k: v for k, v in res.properties.items()
                                                    if k != "password"}}}


def _domain_id(db, props: dict[str, Any]) -> str:
    return _find(db, Domain, props.get("domain") or "default", "domain").id


def _in_domain_schema(what: str, enabled: bool = True) -> dict[str, Schema]:
    """name, domain, description (and enabled) of a record that lives in a domain."""
    out = {
        "name": Schema(STRING, f"The {what}'s name.", update_allowed=True),
        "domain": Schema(STRING, f"Domain (id or name) of the {what}.", default="default",
                         update_allowed=True),
        "description": Schema(STRING, f"Description of the {what}.", default="", update_allowed=True),
    }
    if enabled:
        out["enabled"] = Schema(BOOLEAN, f"Whether the {what} is enabled.", default=True, update_allowed=True)
    return out


def _place(db, cls, row, props, new: bool) -> tuple[str, str]:
    """The domain id and unique name a domain's record gets (it never changes domain)."""
    domain_id = _domain_id(db, props)
    if not new and domain_id != row.domain_id:
        raise BadRequest(f"The {cls.what} {row.id} cannot move from domain {row.domain_id} to "
                         f"{domain_id}: make a new {cls.what} instead.")
    name = props.get("name") or row.name or f"{cls.what}-{row.id[:8]}"
    _unique(db, cls.model, name, cls.what, row.id, domain_id=domain_id)
    return domain_id, name


class Domain_(KeystoneResource):  # noqa: N801 - Domain is the model's name
    type_name = "OS::Keystone::Domain"
    description = "A domain of the identity service."
    model, what = Domain, "domain"
    properties_schema = {
        "name": Schema(STRING, "The domain's name (default: the resource's physical name).",
                       update_allowed=True),
        "description": Schema(STRING, "Description of the domain.", default="", update_allowed=True),
        "enabled": Schema(BOOLEAN, "Whether the domain is enabled.", default=True, update_allowed=True),
    }
    attributes_schema = {"name": "The domain's name.", "enabled": "Whether it is enabled.",
                         "show": "The domain."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        name = props.get("name") or row.name or f"domain-{row.id[:8]}"
        _unique(db, Domain, name, "domain", row.id)
        was_enabled = row.enabled
        row.name, row.description, row.enabled = name, props.get("description") or "", props["enabled"]
        if not new and was_enabled and not row.enabled:
            add_revocation(db, settings, domain_id=row.id)

    @classmethod
    def view(cls, row):
        return {"id": row.id, "name": row.name, "enabled": row.enabled, "description": row.description}

    @classmethod
    def remove(cls, db, row, settings):
        row.enabled = False  # Heat disables the domain before deleting it
        deletion.delete_domain(db, settings, row)


class Project_(KeystoneResource):  # noqa: N801
    type_name = "OS::Keystone::Project"
    description = "A project of the identity service."
    model, what = Project, "project"
    properties_schema = {
        **_in_domain_schema("project"),
        "parent": Schema(STRING, "Parent project (id or name)."),
        "tags": Schema(LIST, "Tags of the project.", default=[], update_allowed=True),
    }
    attributes_schema = {"name": "The project's name.", "domain_id": "Its domain.",
                         "enabled": "Whether it is enabled.", "parent_id": "Its parent project.",
                         "is_domain": "Whether it acts as a domain (always false).", "show": "The project."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        domain_id, name = _place(db, cls, row, props, new)
        parent_id = None
        if new and props.get("parent"):  # not update_allowed: a change replaces the project
            parent = _find(db, Project, props["parent"], "project", domain_id)
            if parent.domain_id != domain_id:
                raise BadRequest(f"The parent project {parent.id} is in domain {parent.domain_id}, "
                                 f"not {domain_id}: a child stays in its parent's domain.")
            parent_id = parent.id
        was_enabled = row.enabled
        row.name, row.domain_id, row.description = name, domain_id, props.get("description") or ""
        row.enabled, row.tags = props["enabled"], [str(t) for t in props.get("tags") or []]
        if new:
            row.parent_id = parent_id
        if not new and was_enabled and not row.enabled:
            add_revocation(db, settings, project_id=row.id)

    @classmethod
    def view(cls, row):
        return {"id": row.id, "name": row.name, "domain_id": row.domain_id, "enabled": row.enabled,
                "parent_id": row.parent_id or row.domain_id, "is_domain": False,
                "description": row.description, "tags": list(row.tags or [])}

    @classmethod
    def remove(cls, db, row, settings):
        deletion.delete_project(db, settings, row)


ROLES_SCHEMA = Schema(LIST, "Roles to grant: a list of {role, project} or {role, domain} "
                      "(ids or names).", default=[], update_allowed=True)


def _grants(db, actor: str, actor_id: str, roles: list[Any]) -> set[tuple[str, str, str]]:
    """The ``(type, target_id, role_id)`` grants a ``roles`` property stands for."""
    out = set()
    for i, item in enumerate(roles):
        if not isinstance(item, dict) or not item.get("role") or (
                bool(item.get("project")) == bool(item.get("domain"))):
            raise BadRequest(f"roles[{i}] must be {{role: …, project: …}} or {{role: …, domain: …}} "
                             f"(one of project and domain), not {item!r}.")
        role = _find(db, Role, str(item["role"]), "role")
        if item.get("project"):
            target, kind = _find(db, Project, str(item["project"]), "project"), "project"
        else:
            target, kind = _find(db, Domain, str(item["domain"]), "domain"), "domain"
        out.add((assignment_type(actor, kind), target.id, role.id))
    return out


def _set_grants(db, settings, actor: str, actor_id: str, wanted: set, before: set) -> None:
    """Grant what ``wanted`` has and revoke what only ``before`` had."""
    for kind, target_id, role_id in wanted - before:
        key = (kind, actor_id, target_id, role_id, False)
        if db.get(RoleAssignment, key) is None:
            db.add(RoleAssignment(type=kind, actor_id=actor_id, target_id=target_id, role_id=role_id,
                                  inherited=False))
    for kind, target_id, role_id in before - wanted:
        db.execute(delete(RoleAssignment).where(
            RoleAssignment.type == kind, RoleAssignment.actor_id == actor_id,
            RoleAssignment.target_id == target_id, RoleAssignment.role_id == role_id,
            RoleAssignment.inherited.is_(False)))
    if before - wanted and actor == "user":
        add_revocation(db, settings, user_id=actor_id)


def _previous(db, row_id: str) -> dict[str, Any]:
    """The properties the resource was last made with (empty for a new one)."""
    rec = db.get(Resource, row_id)
    return dict(rec.properties or {}) if rec is not None else {}


class Group_(KeystoneResource):  # noqa: N801
    type_name = "OS::Keystone::Group"
    description = "A group of users of the identity service, with its role assignments."
    model, what = Group, "group"
    properties_schema = {
        **_in_domain_schema("group", enabled=False),
        "roles": ROLES_SCHEMA,
    }
    attributes_schema = {"name": "The group's name.", "domain_id": "Its domain.", "show": "The group."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        domain_id, name = _place(db, cls, row, props, new)
        ldap_identity.refuse_write(db, domain_id)
        row.name, row.domain_id, row.description = name, domain_id, props.get("description") or ""

    @classmethod
    def after(cls, db, row, props, settings):
        before = _grants(db, "group", row.id, _previous(db, row.id).get("roles") or [])
        _set_grants(db, settings, "group", row.id, _grants(db, "group", row.id, props.get("roles") or []),
                    before)

    @classmethod
    def view(cls, row):
        return {"id": row.id, "name": row.name, "domain_id": row.domain_id, "description": row.description}

    @classmethod
    def remove(cls, db, row, settings):
        deletion.delete_group(db, row)


class User_(KeystoneResource):  # noqa: N801
    type_name = "OS::Keystone::User"
    description = "A user of the identity service, with its groups and role assignments."
    model, what = User, "user"
    properties_schema = {
        **_in_domain_schema("user"),
        "email": Schema(STRING, "The user's email address.", update_allowed=True),
        "password": Schema(STRING, "The user's password.", update_allowed=True),
        "default_project": Schema(STRING, "Default project (id or name).", update_allowed=True),
        "groups": Schema(LIST, "Groups (ids or names) the user is a member of.", default=[],
                         update_allowed=True),
        "roles": ROLES_SCHEMA,
    }
    attributes_schema = {"name": "The user's name.", "domain_id": "Its domain.",
                         "enabled": "Whether it is enabled.", "default_project_id": "Its default project.",
                         "show": "The user (without the password)."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        domain_id, name = _place(db, cls, row, props, new)
        ldap_identity.refuse_write(db, domain_id)
        project = (_find(db, Project, props["default_project"], "project")
                   if props.get("default_project") else None)
        previous = _previous(db, row.id)
        revoke = not new and ((row.enabled and not props["enabled"])
                              or props.get("password") != previous.get("password"))
        row.name, row.domain_id, row.description = name, domain_id, props.get("description") or ""
        row.enabled, row.email = props["enabled"], props.get("email")
        row.default_project_id = project.id if project else None
        if new or props.get("password") != previous.get("password"):
            row.password_hash = (hash_password(props["password"], settings.bcrypt_rounds)
                                 if props.get("password") else None)
        if revoke:
            add_revocation(db, settings, user_id=row.id)

    @classmethod
    def after(cls, db, row, props, settings):
        groups = {_find(db, Group, str(g), "group").id for g in props.get("groups") or []}
        have = set(db.scalars(select(GroupMembership.group_id).filter_by(user_id=row.id)))
        for gid in groups - have:
            db.add(GroupMembership(user_id=row.id, group_id=gid))
        if have - groups:
            db.execute(delete(GroupMembership).where(GroupMembership.user_id == row.id,
                                                     GroupMembership.group_id.in_(have - groups)))
        before = _grants(db, "user", row.id, _previous(db, row.id).get("roles") or [])
        _set_grants(db, settings, "user", row.id, _grants(db, "user", row.id, props.get("roles") or []),
                    before)

    @classmethod
    def view(cls, row):
        return {"id": row.id, "name": row.name, "domain_id": row.domain_id, "enabled": row.enabled,
                "default_project_id": row.default_project_id, "email": row.email,
                "description": row.description}

    @classmethod
    def remove(cls, db, row, settings):
        deletion.delete_user(db, settings, row)


class Role_(KeystoneResource):  # noqa: N801
    type_name = "OS::Keystone::Role"
    description = "A role of the identity service."
    model, what = Role, "role"
    properties_schema = {
        "name": Schema(STRING, "The role's name.", update_allowed=True),
        "domain": Schema(STRING, "Domain (id or name) of a domain-specific role."),
    }
    attributes_schema = {"name": "The role's name.", "show": "The role."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        domain_id = _find(db, Domain, props["domain"], "domain").id if props.get("domain") else ""
        name = props.get("name") or row.name or f"role-{row.id[:8]}"
        _unique(db, Role, name, "role", row.id, domain_id=domain_id)
        row.name, row.domain_id = name, domain_id

    @classmethod
    def view(cls, row):
        return {"id": row.id, "name": row.name, "domain_id": row.domain_id or None}

    @classmethod
    def remove(cls, db, row, settings):
        for (user_id,) in db.execute(select(RoleAssignment.actor_id).where(
                RoleAssignment.role_id == row.id, RoleAssignment.type.like("User%"))).all():
            add_revocation(db, settings, user_id=user_id)
        db.execute(delete(RoleAssignment).where(RoleAssignment.role_id == row.id))
        db.delete(row)


class _RoleAssignment(ControllerRecord):
    """Role grants of one user or group (Heat's ``roles`` list); the resource's id is its own."""

    cloud_admin_only = True
    record_kind = "role grants"
    actor: ClassVar[str] = ""
    actor_model: ClassVar[Any] = None
    attributes_schema = {"show": "The grants: role ids by target."}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        context = cls.controller(res)
        try:
            actor = _find(db, cls.actor_model, res.properties[cls.actor], cls.actor)
            previous = _previous(db, res.resource_id)
            before = (_grants(db, cls.actor, actor.id, previous.get("roles") or [])
                      if previous.get(cls.actor) == res.properties[cls.actor] else set())
            wanted = _grants(db, cls.actor, actor.id, res.properties.get("roles") or [])
            _set_grants(db, context.settings, cls.actor, actor.id, wanted, before)
            db.flush()
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status) from exc
        res.attributes["show"] = {f"{cls.actor}_id": actor.id,
                                  "grants": sorted([list(g) for g in wanted])}

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        actor = db.get(cls.actor_model, res.properties.get(cls.actor) or "")
        if actor is None:
            actor = db.scalars(select(cls.actor_model).filter_by(name=res.properties.get(cls.actor))).first()
        if actor is None:
            return  # the user or group is gone, and its grants with it
        try:
            grants = _grants(db, cls.actor, actor.id, res.properties.get("roles") or [])
        except ApiError:
            return  # a role or target is gone already
        if res.context is None:
            raise ResourceCheckFailed(f"{cls.type_name} needs the controller to be deleted: delete "
                                      "the resource through its API", ("resources", res.name))
        _set_grants(db, res.context.settings, cls.actor, actor.id, set(), grants)
        db.flush()


class UserRoleAssignment(_RoleAssignment):
    type_name = "OS::Keystone::UserRoleAssignment"
    description = "Roles of a user on projects or domains."
    actor, actor_model = "user", User
    properties_schema = {
        "user": Schema(STRING, "The user (id or name).", required=True),
        "roles": ROLES_SCHEMA,
    }


class GroupRoleAssignment(_RoleAssignment):
    type_name = "OS::Keystone::GroupRoleAssignment"
    description = "Roles of a group on projects or domains."
    actor, actor_model = "group", Group
    properties_schema = {
        "group": Schema(STRING, "The group (id or name).", required=True),
        "roles": ROLES_SCHEMA,
    }


def _region(db, region_id: str | None) -> str | None:
    """``region_id`` when it is a region (None when not given); 404 otherwise."""
    if region_id and db.get(Region, region_id) is None:
        raise NotFound(f"Could not find region: {region_id}.")
    return region_id or None


class Region_(KeystoneResource):  # noqa: N801
    type_name = "OS::Keystone::Region"
    description = "A region of the service catalog (its id is the resource's id)."
    model, what = Region, "region"
    properties_schema = {
        "description": Schema(STRING, "Description of the region.", default="", update_allowed=True),
        "parent_region": Schema(STRING, "The parent region's id.", update_allowed=True),
        "enabled": Schema(BOOLEAN, "Whether the region is enabled.", default=True, update_allowed=True),
    }
    attributes_schema = {"show": "The region."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        parent = _region(db, props.get("parent_region"))
        if parent == row.id:
            raise BadRequest(f"The region {row.id} cannot be its own parent.")
        row.description, row.parent_region_id = props.get("description") or "", parent or None
        row.extra = {**(row.extra or {}), "enabled": props["enabled"]}

    @classmethod
    def view(cls, row):
        return {"id": row.id, "description": row.description, "parent_region_id": row.parent_region_id}

    @classmethod
    def remove(cls, db, row, settings):
        if db.scalars(select(Region).filter_by(parent_region_id=row.id)).first():
            raise Conflict(f"The region {row.id} has child regions: delete them first.")
        db.delete(row)


class Service_(KeystoneResource):  # noqa: N801
    type_name = "OS::Keystone::Service"
    description = "A service of the catalog."
    model, what = Service, "service"
    properties_schema = {
        "name": Schema(STRING, "The service's name.", update_allowed=True),
        "description": Schema(STRING, "Description of the service.", default="", update_allowed=True),
        "type": Schema(STRING, "The service's type (identity, image, …).", required=True,
                       update_allowed=True),
        "enabled": Schema(BOOLEAN, "Whether the service is enabled.", default=True, update_allowed=True),
    }
    attributes_schema = {"show": "The service."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        row.name, row.type = props.get("name") or "", props["type"]
        row.description, row.enabled = props.get("description") or "", props["enabled"]

    @classmethod
    def view(cls, row):
        return {"id": row.id, "name": row.name, "type": row.type, "enabled": row.enabled}

    @classmethod
    def remove(cls, db, row, settings):
        db.execute(delete(Endpoint).where(Endpoint.service_id == row.id))
        db.delete(row)


class Endpoint_(KeystoneResource):  # noqa: N801
    type_name = "OS::Keystone::Endpoint"
    description = "An endpoint of a service in the catalog."
    model, what = Endpoint, "endpoint"
    properties_schema = {
        "region": Schema(STRING, "The region's id.", update_allowed=True),
        "service": Schema(STRING, "The service (id or name).", required=True, update_allowed=True),
        "interface": Schema(STRING, "The interface.", required=True, allowed_values=INTERFACES,
                            update_allowed=True),
        "url": Schema(STRING, "The endpoint's URL.", required=True, update_allowed=True),
        "name": Schema(STRING, "The endpoint's name.", update_allowed=True),
        "enabled": Schema(BOOLEAN, "Whether the endpoint is enabled.", default=True, update_allowed=True),
    }
    attributes_schema = {"show": "The endpoint."}

    @classmethod
    def apply(cls, db, row, props, settings, new):
        region = _region(db, props.get("region"))
        url = props["url"]
        if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            raise BadRequest(f"The endpoint URL {url!r} is not an http(s) URL.")
        row.service_id = _find(db, Service, props["service"], "service").id
        row.region_id, row.interface, row.url = region or None, props["interface"], url
        row.enabled = props["enabled"]

    @classmethod
    def view(cls, row):
        return {"id": row.id, "service_id": row.service_id, "region_id": row.region_id,
                "interface": row.interface, "url": row.url, "enabled": row.enabled}


def resource_mapping():
    return {c.type_name: c for c in (Domain_, Project_, Group_, User_, Role_, UserRoleAssignment,
                                     GroupRoleAssignment, Region_, Service_, Endpoint_)}
