"""The first records of a cloud, as ``keystone-manage bootstrap`` makes them: domain
``Default`` (id ``default``), roles admin/member/reader (+ service) with admin → member
→ reader implied, project ``admin``, the admin user with ``admin`` on that project and
on the system, region ``RegionOne``, and a catalog entry per service at the public URL.
Running it again changes nothing (but resets the admin password if it differs)."""

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
    user = s.scalars(
        select(User).filter_by(name=admin_username, domain_id=DEFAULT_DOMAIN_ID)
    ).first()
    if user is None:
        user = User(
            name=admin_username,
            domain_id=DEFAULT_DOMAIN_ID,
            enabled=True,
            password_hash=hash_password(admin_password, settings.bcrypt_rounds),
        )
        s.add(user)
        s.flush()
        report.append(f"created user {admin_username}")
    elif not check_password(admin_password, user.password_hash):
        user.password_hash = hash_password(admin_password, settings.bcrypt_rounds)
        report.append(f"reset the password of user {admin_username}")
    for typ, target in (("UserProject", project.id), ("UserSystem", "system")):
        _get_or_add(
            s,
            RoleAssignment,
            {
                "type": typ,
                "actor_id": user.id,
                "target_id": target,
                "role_id": roles["admin"].id,
                "inherited": False,
            },
            {},
            report,
            f"admin role assignment on {typ[4:].lower()}",
        )
    _get_or_add(s, Region, {"id": region}, {"description": ""}, report, f"region {region}")
    for typ, name, path in CATALOG:
        svc = _get_or_add(
            s,
            Service,
            {"type": typ, "name": name},
            {"enabled": True},
            report,
            f"service {name} ({typ})",
        )
        url = public_url + path
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
