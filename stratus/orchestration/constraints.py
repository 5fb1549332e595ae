"""Heat's custom constraints (``custom_constraint: nova.flavor``) checked with the
services' own lookups: the flavor, image, network … must exist and the stack's project
must be allowed to use it. Without a DB (an offline ``stratus validate``/``compile``)
the DB-backed ones are skipped and :func:`check` says so; the value-only ones
(``ip_addr``, ``net_cidr``, ``mac_addr``, ``iso_8601``, ``dns_name``, ``timezone``)
are checked everywhere.

A check takes ``(db, who, value)`` — ``who`` is a :class:`Caller` (project, admin,
user) — and raises :class:`Refused` with the service's own words when the value is not
usable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Refused(ValueError):
    """The value does not satisfy the constraint; the message says why."""


@dataclass(frozen=True)
class Caller:
    """Whom a value is checked for (the services' ``ctx``: project_id, is_admin)."""

    project_id: str | None = None
    is_admin: bool = False
    user_id: str | None = None

    @classmethod
    def of(cls, ctx: Any = None, project_id: str | None = None) -> Caller:
        if ctx is None:
            return cls(project_id, project_id is None)
        return cls(getattr(ctx, "project_id", project_id), bool(getattr(ctx, "is_admin", False)),
                   getattr(ctx, "user_id", None))


def _service_lookup(fn: Callable[[Any, Caller, str], Any]) -> Callable[[Any, Caller, Any], None]:
    """A check from a service lookup that raises the service's NotFound/ApiError."""
    def check(db, who: Caller, value: Any) -> None:
        from stratus.errors import ApiError

        try:
            found = fn(db, who, str(value))
        except ApiError as exc:
            raise Refused(getattr(exc, "message", None) or str(exc)) from None
        if found is None:
            raise Refused(f"{value} could not be found")
    check.needs_db = True  # type: ignore[attr-defined]
    return check


def _flavor(db, who, value):
    from stratus.compute.flavors import get_flavor

    return get_flavor(db, None if who.is_admin else who.project_id, value)


def _keypair(db, who, value):
    from stratus.compute.keypairs import get_keypair

    if who.user_id is None:
        return True  # a key pair is a user's: nothing to check without one
    return get_keypair(db, who.user_id, value)


def _server(db, who, value):
    from stratus.compute.lookup import get_server

    return get_server(db, who, value)


def _image(db, who, value):
    from stratus.image.records import visible_to_project

    image = visible_to_project(db, who.project_id, value)  # what a server of the project may boot
    if image is None:
        raise Refused(f"Image {value} could not be found.")
    return image


def _network(db, who, value):
    from stratus.network import access

    return access.network(db, who, value)


def _subnet(db, who, value):
    from stratus.network import access

    return access.subnet(db, who, value)


def _port(db, who, value):
    from stratus.network import ports

    return ports.find(db, who, value)


def _router(db, who, value):
    from stratus.network import routers

    return routers.get(db, who, value)


def _security_group(db, who, value):
    from stratus.network import security_groups

    return security_groups.get(db, who, value)


def _volume(db, who, value):
    from stratus.volume import records

    return records.volume_for(db, who, value)


def _snapshot(db, who, value):
    from stratus.volume import records

    return records.snapshot_for(db, who, value)


def _vtype(db, who, value):
    from stratus.volume import records

    return records.type_for(db, who, value)


def _keystone(kind: str):
    def lookup(db, who, value):
        from sqlalchemy import select

        from stratus.db.models import identity

        model = getattr(identity, kind)
        return db.get(model, value) or db.scalars(select(model).filter_by(name=value)).first()
    return lookup


def _value_check(fn: Callable[[str], bool], what: str) -> Callable[[Any, Caller, Any], None]:
    def check(db, who, value):
        try:
            ok = fn(str(value))
        except ValueError:
            ok = False
        if not ok:
            raise Refused(f"{value!r} is not {what}")
    check.needs_db = False  # type: ignore[attr-defined]
    return check


def _cidr(text: str) -> bool:
    ipaddress.ip_network(text, strict=False)
    return "/" in text


def _timezone(text: str) -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


_DNS = re.compile(r"^(?=.{1,255}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                  r"[A-Za-z0-9])?)*\.?$")

CHECKS: dict[str, Callable[[Any, Caller, Any], None]] = {
    "nova.flavor": _service_lookup(_flavor),
    "nova.keypair": _service_lookup(_keypair),
    "nova.server": _service_lookup(_server),
    "glance.image": _service_lookup(_image),
    "neutron.network": _service_lookup(_network),
    "neutron.subnet": _service_lookup(_subnet),
    "neutron.port": _service_lookup(_port),
    "neutron.router": _service_lookup(_router),
    "neutron.security_group": _service_lookup(_security_group),
    "cinder.volume": _service_lookup(_volume),
    "cinder.snapshot": _service_lookup(_snapshot),
    "cinder.vtype": _service_lookup(_vtype),
    "keystone.project": _service_lookup(_keystone("Project")),
    "keystone.user": _service_lookup(_keystone("User")),
    "keystone.role": _service_lookup(_keystone("Role")),
    "keystone.domain": _service_lookup(_keystone("Domain")),
    "ip_addr": _value_check(lambda t: bool(ipaddress.ip_address(t)), "an IP address"),
    "net_cidr": _value_check(_cidr, "a network in CIDR notation (10.0.0.0/24)"),
    "mac_addr": _value_check(lambda t: re.fullmatch(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", t) is not None,
                             "a MAC address"),
    "iso_8601": _value_check(lambda t: bool(datetime.fromisoformat(t.replace("Z", "+00:00"))),
                             "an ISO 8601 time"),
    "dns_name": _value_check(lambda t: _DNS.match(t) is not None, "a DNS name"),
    "rel_dns_name": _value_check(lambda t: _DNS.match(t) is not None and not t.endswith("."),
                                 "a relative DNS name"),
    "dns_domain": _value_check(lambda t: _DNS.match(t) is not None, "a DNS domain"),
    "timezone": _value_check(_timezone, "a time zone name (Europe/Paris)"),
}


def needs_db(name: str) -> bool:
    return bool(getattr(CHECKS[name], "needs_db", True))


def check(name: str, value: Any, db=None, who: Caller | None = None) -> str | None:
    """Check ``value`` against the custom constraint ``name``; Refused when it fails.
    Returns a note when the check was skipped (no DB: an offline validation)."""
    if db is None and needs_db(name):
        return f"{name} not checked (no database: offline validation)"
    items = value if isinstance(value, list) else [value]
    for item in items:
        CHECKS[name](db, who or Caller(), item)
    return None
