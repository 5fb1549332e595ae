"""Nova's flavors: the records, who may use them, and the defaults a cloud starts with.

A flavor's ``id`` is Nova's flavorid (a string an admin chooses, or a generated uuid),
``name`` is unique. A private flavor (``is_public`` false) is seen and used only by
the projects on its access list (and by cloud admins), as Nova does: to anyone else it
does not exist.

    from stratus.compute.flavors import get_flavor, embedded
    flavor = get_flavor(db, ctx, "m1.tiny")     # RequestContext, project id, or None
    server.flavor = embedded(db, flavor)          # the snapshot a server keeps

Errors are the neutral ones of ``stratus.errors`` in Nova's words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from stratus.db.models.compute import Flavor, FlavorAccess, FlavorExtraSpec
from stratus.errors import Conflict, NotFound
from stratus.identity.context import RequestContext
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("os_compute_api:os-flavor-manage:create", "rule:admin_required"),
    RuleDefault("os_compute_api:os-flavor-manage:update", "rule:admin_required"),
    RuleDefault("os_compute_api:os-flavor-manage:delete", "rule:admin_required"),
    RuleDefault("os_compute_api:os-flavor-extra-specs:index", "@",
                "list a flavor's extra specs (also shown in the flavor from 2.61)"),
    RuleDefault("os_compute_api:os-flavor-extra-specs:show", "@"),
    RuleDefault("os_compute_api:os-flavor-extra-specs:create", "rule:admin_required"),
    RuleDefault("os_compute_api:os-flavor-extra-specs:update", "rule:admin_required"),
    RuleDefault("os_compute_api:os-flavor-extra-specs:delete", "rule:admin_required"),
    RuleDefault("os_compute_api:os-flavor-access", "rule:admin_required",
                "list the projects a private flavor is shared with"),
    RuleDefault("os_compute_api:os-flavor-access:add_tenant_access", "rule:admin_required"),
    RuleDefault("os_compute_api:os-flavor-access:remove_tenant_access", "rule:admin_required"),
])

# Nova's devstack flavors: (flavorid, name, vcpus, memory_mb, root_gb).
DEFAULTS: tuple[tuple[str, str, int, int, int], ...] = (
    ("42", "m1.nano", 1, 128, 1),
    ("84", "m1.micro", 1, 192, 1),
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
)


@dataclass(frozen=True)
class Viewer:
    """Who looks at flavors: ``project_id`` None with ``admin`` sees every flavor."""

    project_id: str | None
    admin: bool

    @classmethod
    def of(cls, ctx_or_project: RequestContext | str | None) -> Viewer:
        """A RequestContext (admins see all), a project id (sees public flavors and
        the private ones shared with it), or None (the controller itself: all)."""
        if ctx_or_project is None:
            return cls(None, True)
        if isinstance(ctx_or_project, str):
            return cls(ctx_or_project, False)
        return cls(ctx_or_project.project_id, ctx_or_project.is_admin)

    def may_see(self, db: Session, flavor: Flavor) -> bool:
        if self.admin or flavor.is_public:
            return True
        return self.project_id is not None and db.get(FlavorAccess, (flavor.id, self.project_id)) is not None


def _find(db: Session, id_or_name: str, *, by_name: bool) -> Flavor | None:
    if not isinstance(id_or_name, str) or not 0 < len(id_or_name) <= 255 or "\x00" in id_or_name:
        return None  # cannot be an id (PostgreSQL refuses NUL in strings)
    flavor = db.get(Flavor, id_or_name)
    if flavor is None and by_name:
        flavor = db.scalar(select(Flavor).where(Flavor.name == id_or_name))
    return flavor


def get_flavor(db: Session, ctx_or_project: RequestContext | str | None, id_or_name: str,
               *, by_name: bool = True) -> Flavor:
    """The flavor with id ``id_or_name`` (or, when no id matches and ``by_name``, that
    name) as ``ctx_or_project`` may see it (see :meth:`Viewer.of`). NotFound in Nova's
    words — "Flavor X could not be found." — also for another project's private flavor.
    The caller decides what ``flavor.disabled`` means for it."""
    flavor = _find(db, id_or_name, by_name=by_name)
    if flavor is None or not Viewer.of(ctx_or_project).may_see(db, flavor):
        raise NotFound(f"Flavor {id_or_name} could not be found.")
    return flavor


def extra_specs(db: Session, flavor_id: str) -> dict[str, str]:
    rows = db.scalars(select(FlavorExtraSpec).where(FlavorExtraSpec.flavor_id == flavor_id))
    return {row.key: row.value for row in rows}


def set_extra_specs(db: Session, flavor: Flavor, specs: dict[str, str]) -> None:
    """Add or replace the extra specs ``specs`` (values as strings)."""
    for key, value in specs.items():
        row = db.get(FlavorExtraSpec, (flavor.id, key))
        if row is None:
            db.add(FlavorExtraSpec(flavor_id=flavor.id, key=key, value=value))
        else:
            row.value = value
    db.flush()


def extra_spec(db: Session, flavor: Flavor, key: str) -> FlavorExtraSpec:
    row = db.get(FlavorExtraSpec, (flavor.id, key))
    if row is None:
        raise NotFound(f"Flavor {flavor.id} has no extra specs with key {key}.")
    return row


def embedded(db: Session, flavor: Flavor) -> dict[str, Any]:
    """The snapshot a server keeps of its flavor (``Server.flavor``): Nova's embedded
    flavor of 2.47 (``original_name``, vcpus, ram, disk, ephemeral, swap,
    extra_specs) plus ``id`` and ``name`` for the older link form."""
    return {
        "id": flavor.id,
        "name": flavor.name,
        "original_name": flavor.name,
        "vcpus": flavor.vcpus,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "ephemeral": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "extra_specs": extra_specs(db, flavor.id),
    }


def visible(db: Session, ctx_or_project: RequestContext | str | None, *,
            is_public: bool | None = True):
    """A select of the flavors ``ctx_or_project`` may list. ``is_public``: True =
    public ones (and, for a project, the private ones shared with it, as Nova lists
    them); False = only private ones; None = all it may see."""
    viewer = Viewer.of(ctx_or_project)
    query = select(Flavor)
    shared = Flavor.id.in_(select(FlavorAccess.flavor_id).where(FlavorAccess.project_id == viewer.project_id))
    if viewer.admin:  # as Nova: is_public=True also lists what is shared with the own project
        if is_public is None:
            return query
        if is_public and viewer.project_id is not None:
            return query.where(or_(Flavor.is_public.is_(True), shared))
        return query.where(Flavor.is_public.is_(is_public))
    if is_public is False:
        return query.where(Flavor.is_public.is_(False), shared)
    return query.where(or_(Flavor.is_public.is_(True), shared))


def create(db: Session, *, name: str, vcpus: int, memory_mb: int, root_gb: int = 0,
           flavor_id: str | None = None, ephemeral_gb: int = 0, swap: int = 0,
           rxtx_factor: float = 1.0, is_public: bool = True, description: str | None = None,
           projects: tuple[str, ...] = ()) -> Flavor:
    """A new flavor; ``flavor_id`` None or "auto" → a generated uuid. Conflict (409)
    in Nova's words when the name or id is taken. Values are validated by the caller
    (the API's schema)."""
    flavor_id = str(uuid.uuid4()) if flavor_id in (None, "", "auto") else str(flavor_id)
    if db.scalar(select(Flavor.id).where(Flavor.name == name)) is not None:
        raise Conflict(f"Flavor with name {name} already exists.")
    if db.get(Flavor, flavor_id) is not None:
        raise Conflict(f"Flavor with ID {flavor_id} already exists.")
    flavor = Flavor(id=flavor_id, name=name, vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb,
                    ephemeral_gb=ephemeral_gb, swap=swap, rxtx_factor=rxtx_factor,
                    is_public=is_public, disabled=False, description=description)
    db.add(flavor)
    db.flush()
    for project_id in projects:
        add_access(db, flavor, project_id)
    return flavor


def delete_flavor(db: Session, flavor: Flavor) -> None:
    """Remove the flavor with its extra specs and access list. Servers keep their
    snapshot (``Server.flavor``), as in Nova."""
    db.execute(delete(FlavorExtraSpec).where(FlavorExtraSpec.flavor_id == flavor.id))
    db.execute(delete(FlavorAccess).where(FlavorAccess.flavor_id == flavor.id))
    db.delete(flavor)
    db.flush()


def access_list(db: Session, flavor: Flavor, *, public_ok: bool = False) -> list[str]:
    """The projects a private flavor is shared with; NotFound for a public flavor
    (Nova: the access list is not available for public flavors) unless ``public_ok``."""
    if flavor.is_public and not public_ok:
        raise NotFound("Access list not available for public flavors.")
    return list(db.scalars(select(FlavorAccess.project_id).where(FlavorAccess.flavor_id == flavor.id)
                           .order_by(FlavorAccess.project_id)))


def add_access(db: Session, flavor: Flavor, project_id: str, *, public_ok: bool = False) -> None:
    """Share ``flavor`` with ``project_id``; Conflict for a public flavor (Nova from
    2.7; ``public_ok`` for older callers) or when it is shared already."""
    if flavor.is_public and not public_ok:
        raise Conflict("Can not add access to a public flavor.")
    if db.get(FlavorAccess, (flavor.id, project_id)) is not None:
        raise Conflict(f"Flavor access already exists for flavor {flavor.id} and project "
                       f"{project_id} combination.")
    db.add(FlavorAccess(flavor_id=flavor.id, project_id=project_id))
    db.flush()


def remove_access(db: Session, flavor: Flavor, project_id: str) -> None:
    row = db.get(FlavorAccess, (flavor.id, project_id))
    if row is None:
        raise NotFound(f"Flavor access not found for {flavor.id} / {project_id} combination.")
    db.delete(row)
    db.flush()


def ensure_defaults(db: Session) -> list[str]:
    """Create the default flavors (:data:`DEFAULTS`) whose id and name are both
    free; existing flavors are left as they are. Returns the names created."""
    created = []
    for flavor_id, name, vcpus, memory_mb, root_gb in DEFAULTS:
        if db.get(Flavor, flavor_id) is not None:
            continue
        if db.scalar(select(Flavor.id).where(Flavor.name == name)) is not None:
            continue
        db.add(Flavor(id=flavor_id, name=name, vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb,
                      ephemeral_gb=0, swap=0, rxtx_factor=1.0, is_public=True, disabled=False))
        created.append(name)
    db.flush()
    return created
