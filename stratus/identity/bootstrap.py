"""The first records of a cloud, as ``keystone-manage bootstrap`` makes them: domain
``Default`` (id ``default``), roles admin/member/reader (+ service) with admin → member
→ reader implied, project ``admin``, the admin user with ``admin`` on that project and
on the system, region ``RegionOne``, and a catalog entry per service at the public URL.
With an object store (``object_store_url``): project ``service``, the Swift service user
with the ``service`` and ``ResellerAdmin`` roles on it, the ``SwiftOperator`` role, and
the ``object-store`` endpoint ``<object_store_url>/v1/AUTH_%(project_id)s``.
Running it again changes nothing (but resets the admin and service passwords if they differ)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.config import Settings
from stratus.db.models.identity import (
    Domain,
    Endpoint,
    ImpliedRole,
    Project,
    Region,
    Role,
    RoleAssignment,
    Service,
    User,
)
from stratus.identity.passwords import check_password, hash_password

DEFAULT_DOMAIN_ID = "default"

# service type, name, path below the public URL (the project's id appended where the
# clients expect it, as keystone's catalog templates do)
CATALOG = [
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("network", "neutron", "/network"),
    ("volumev3", "cinderv3", "/volume/v3/$(project_id)s"),
    ("block-storage", "cinder", "/volume/v3/$(project_id)s"),
    ("image", "glance", "/image"),
    ("orchestration", "heat", "/orchestration/v1/$(project_id)s"),
]
INTERFACES = ("public", "internal", "admin")
# Swift's keystoneauth: operators of any account, and the users that may act in every one
OBJECT_STORE_ROLES = ("ResellerAdmin", "SwiftOperator")


def _get_or_add(s: Session, model, where: dict, values: dict, report: list, label: str):
    obj = s.scalars(select(model).filter_by(**where)).first()
    if obj is None:
        obj = model(**where, **values)
        s.add(obj)
        s.flush()
        report.append(f"created {label}")
    return obj


def bootstrap(
    s: Session,
    settings: Settings,
    *,
    admin_username: str,
    admin_password: str,
    admin_project: str = "admin",
    region: str = "RegionOne",
    public_url: str,
) -> list[str]:
    report: list[str] = []
    public_url = public_url.rstrip("/")
    _get_or_add(
        s,
        Domain,
        {"id": DEFAULT_DOMAIN_ID},
        {"name": "Default", "description": "The default domain", "enabled": True},
        report,
        "domain Default",
    )
    roles = {}
    for name in ("admin", "member", "reader", "service"):
        roles[name] = _get_or_add(
            s, Role, {"name": name, "domain_id": ""}, {}, report, f"role {name}"
        )
    for prior, implied in (("admin", "member"), ("member", "reader")):
        _get_or_add(
            s,
            ImpliedRole,
            {"prior_role_id": roles[prior].id, "implied_role_id": roles[implied].id},
            {},
            report,
            f"implied role {prior} -> {implied}",
        )
    project = _get_or_add(
        s,
        Project,
        {"name": admin_project, "domain_id": DEFAULT_DOMAIN_ID},
        {"description": "Bootstrap project for initializing the cloud.", "enabled": True},
        report,
        f"project {admin_project}",
    )
    user = _user(s, settings, admin_username, admin_password, report)
    for typ, target in (("UserProject", project.id), ("UserSystem", "system")):
        _assign(s, typ, user, target, roles["admin"], report)
    _get_or_add(s, Region, {"id": region}, {"description": ""}, report, f"region {region}")
    catalog = [(typ, name, public_url + path) for typ, name, path in CATALOG]
    if settings.object_store_url:
        catalog.append(_object_store(s, settings, roles, report))
    for typ, name, url in catalog:
        svc = _get_or_add(
            s,
            Service,
            {"type": typ, "name": name},
            {"enabled": True},
            report,
            f"service {name} ({typ})",
        )
        for iface in INTERFACES:
            ep = s.scalars(
                select(Endpoint).filter_by(service_id=svc.id, interface=iface, region_id=region)
            ).first()
            if ep is None:
                s.add(Endpoint(service_id=svc.id, interface=iface, region_id=region, url=url))
                report.append(f"created {iface} endpoint {url}")
            elif ep.url != url:
                ep.url = url
                report.append(f"updated {iface} endpoint {url}")
    if not report:
        report.append("nothing to do: already bootstrapped")
    return report


def _user(s: Session, settings: Settings, name: str, password: str, report: list) -> User:
    """The user ``name`` of the default domain with ``password`` (made, or its password reset)."""
    user = s.scalars(select(User).filter_by(name=name, domain_id=DEFAULT_DOMAIN_ID)).first()
    if user is None:
        user = User(
            name=name,
            domain_id=DEFAULT_DOMAIN_ID,
            enabled=True,
            password_hash=hash_password(password, settings.bcrypt_rounds),
        )
        s.add(user)
        s.flush()
        report.append(f"created user {name}")
    elif not check_password(password, user.password_hash):
        user.password_hash = hash_password(password, settings.bcrypt_rounds)
        report.append(f"reset the password of user {name}")
    return user


def _assign(s: Session, typ: str, user: User, target: str, role: Role, report: list) -> None:
    _get_or_add(
        s,
        RoleAssignment,
        {"type": typ, "actor_id": user.id, "target_id": target, "role_id": role.id, "inherited": False},
        {},
        report,
        f"{role.name} role assignment of {user.name} on {typ[4:].lower()}",
    )


def _object_store(s: Session, settings: Settings, roles: dict[str, Role], report: list) -> tuple[str, str, str]:
    """The Swift service user, its project and roles; the object-store catalog entry."""
    if not settings.object_store_password:
        raise ValueError("object_store_url is set but object_store_password is empty: "
                         "set the Swift service user's password (object_store_password)")
    project = _get_or_add(
        s,
        Project,
        {"name": settings.object_store_project, "domain_id": DEFAULT_DOMAIN_ID},
        {"description": "Service users of the cloud's own services.", "enabled": True},
        report,
        f"project {settings.object_store_project}",
    )
    for name in OBJECT_STORE_ROLES:
        roles[name] = _get_or_add(s, Role, {"name": name, "domain_id": ""}, {}, report, f"role {name}")
    user = _user(s, settings, settings.object_store_user, settings.object_store_password, report)
    for role in ("service", "ResellerAdmin"):
        _assign(s, "UserProject", user, project.id, roles[role], report)
    return "object-store", "swift", settings.object_store_url + "/v1/AUTH_%(project_id)s"
