"""Volume types: Cinder's ``/types`` with extra specs and type access.

A type names what a volume is made on: its ``volume_backend_name`` extra spec picks the
backend (``lvm``, ``file``) the scheduler may use (:mod:`stratus.volume.scheduler`),
``multiattach: "<is> True"`` lets volumes of it attach to several servers,
``RESKEY:availability_zones`` narrows zones. A private type (``is_public`` false) is
seen and used only by the projects given access (and administrators).

As in Cinder: administrators manage types; members list and show the types they may
use, with only the user-visible extra specs (``multiattach``,
``RESKEY:availability_zones``, ``replication_enabled``); the extra specs of a type that
volumes use cannot change (the volumes were placed by them), and a type that volumes
use, or the default type, cannot be deleted.

``stratus bootstrap`` makes the default type (``volume_default_type``, ``__DEFAULT__``),
with ``volume_backend_name`` = ``volume_default_backend`` when that is set
(:func:`ensure_default`).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from stratus.db.models.volume import Volume, VolumeType, VolumeTypeAccess, VolumeTypeExtraSpec
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.volume.records import default_type, extra_specs, type_for

ADMIN = "rule:admin_required"
READER = "rule:admin_or_reader"

# Cinder's rule names (cinder/policies/volume_type.py, type_extra_specs.py, volume_access.py)
register_defaults([
    RuleDefault("volume_extension:types_manage", ADMIN, "Manage volume types"),
    RuleDefault("volume_extension:type_create", ADMIN, "Create a volume type"),
    RuleDefault("volume_extension:type_update", ADMIN, "Update a volume type"),
    RuleDefault("volume_extension:type_delete", ADMIN, "Delete a volume type"),
    RuleDefault("volume_extension:type_get", READER, "Show a volume type"),
    RuleDefault("volume_extension:type_get_all", READER, "List volume types"),
    RuleDefault("volume_extension:access_types_extra_specs", READER,
                "Include the (user-visible) extra specs in a volume type's view"),
    RuleDefault("volume_extension:access_types_qos_specs_id", ADMIN,
                "Include the QoS specs id in a volume type's view"),
    *(RuleDefault(f"volume_extension:types_extra_specs:{op}", rule, f"Extra specs of a volume type: {op}")
      for op, rule in (("create", ADMIN), ("update", ADMIN), ("delete", ADMIN), ("index", READER),
                       ("show", READER))),
    RuleDefault("volume_extension:types_extra_specs:read_sensitive", ADMIN,
                "See every extra spec, not only the user-visible ones"),
    RuleDefault("volume_extension:volume_type_access", READER, "Show a volume type's is_public"),
    RuleDefault("volume_extension:volume_type_access:addProjectAccess", ADMIN,
                "Give a project access to a private volume type"),
    RuleDefault("volume_extension:volume_type_access:removeProjectAccess", ADMIN,
                "Take a project's access to a private volume type away"),
    RuleDefault("volume_extension:volume_type_access:get_all_for_type", ADMIN,
                "List the projects with access to a private volume type"),
])

USER_VISIBLE_EXTRA_SPECS = ("RESKEY:availability_zones", "multiattach", "replication_enabled")
MAX_LEN = 255
SPEC_KEY = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")


# --- validation ---------------------------------------------------------------------------

def _text(value: Any, field: str, *, required: bool = False, blank: bool = True, limit: int = MAX_LEN) -> str | None:
    if value is None:
        if required:
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: None. '{field}' is a required "
                             "property.")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value!r}. {value!r} is not of "
                         "type 'string'.")
    if not blank and not value.strip():
        raise BadRequest(f"Invalid input for field/attribute {field}: it can not be empty or only spaces.")
    if len(value) > limit:
        raise BadRequest(f"Invalid input for field/attribute {field}: {len(value)} characters is longer than "
                         f"the limit of {limit}.")
    return value


def parse_bool(value: Any, field: str) -> bool:
    """oslo's strict ``bool_from_string`` (booleans, "true"/"false", "1"/"0", "yes"/"no", "on"/"off")."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "t", "true", "on", "y", "yes"):
        return True
    if text in ("0", "f", "false", "off", "n", "no"):
        return False
    raise BadRequest(f"Invalid value for {field}: {value!r}; give true or false.")


def check_specs(specs: Any, *, field: str = "extra_specs") -> dict[str, str]:
    """A ``{key: value}`` of strings (Cinder's extra specs schema: keys of 1..255 letters,
    digits and ``-_:. /``; values of at most 255 characters)."""
    if not isinstance(specs, dict):
        raise BadRequest(f"Invalid input for field/attribute {field}: give an object of key/value pairs.")
    for key, value in specs.items():
        if not isinstance(key, str) or not SPEC_KEY.match(key):
            raise BadRequest(f"Invalid input for field/attribute {field}: the key {key!r} must be 1 to "
                             f"{MAX_LEN} letters, digits or the characters -_:. /")
        if not isinstance(value, str) or len(value) > MAX_LEN:
            raise BadRequest(f"Invalid input for field/attribute {field}: the value of {key!r} must be a "
                             f"string of at most {MAX_LEN} characters.")
    return dict(specs)


# --- views --------------------------------------------------------------------------------

def visible_specs(specs: dict[str, str], policy) -> dict[str, str]:
    """All specs for those who may read sensitive ones, else only the user-visible ones."""
    if policy.allowed("volume_extension:types_extra_specs:read_sensitive"):
        return dict(specs)
    return {k: v for k, v in specs.items() if k in USER_VISIBLE_EXTRA_SPECS}


def view(db: Session, vt: VolumeType, policy) -> dict[str, Any]:
    """Cinder's volume type body (without the ``volume_type`` wrapper)."""
    out: dict[str, Any] = {"id": vt.id, "name": vt.name, "is_public": bool(vt.is_public),
                           "description": vt.description}
    if policy.allowed("volume_extension:access_types_extra_specs"):
        out["extra_specs"] = visible_specs(extra_specs(db, vt.id), policy)
    if policy.allowed("volume_extension:access_types_qos_specs_id"):
        out["qos_specs_id"] = vt.qos_specs_id
    out["os-volume-type-access:is_public"] = bool(vt.is_public)
    return out


# --- types --------------------------------------------------------------------------------

def list_types(db: Session, ctx, *, is_public: bool | None = True, limit: int | None = None,
               marker: str | None = None, sort_dir: str = "asc") -> list[VolumeType]:
    """Cinder's listing: public types plus the private ones the caller's project may use;
    an administrator may ask for private ones only (``is_public=False``) or all (None)."""
    stmt = select(VolumeType)
    if not ctx.is_admin:
        is_public = True
    if is_public is True:
        granted = select(VolumeTypeAccess.volume_type_id).where(
            VolumeTypeAccess.project_id == (ctx.project_id or ""))
        stmt = stmt.where(VolumeType.is_public.is_(True) | VolumeType.id.in_(granted))
    elif is_public is False:
        stmt = stmt.where(VolumeType.is_public.is_(False))
    order = VolumeType.created_at.desc() if sort_dir == "desc" else VolumeType.created_at.asc()
    rows = list(db.scalars(stmt.order_by(order, VolumeType.id)))
    if marker:
        ids = [r.id for r in rows]
        if marker not in ids:
            raise BadRequest(f"Marker {marker} could not be found.")
        rows = rows[ids.index(marker) + 1:]
    if limit is not None:
        rows = rows[:limit]
    return rows


def show(db: Session, ctx, ref: str, settings) -> VolumeType:
    """The type ``ref`` (id or name; ``default``: the default type) as ``ctx`` may see it."""
    if ref == "default":
        try:
            return default_type(db, settings)
        except NotFound:
            raise NotFound("Default volume type can not be found.") from None
    return type_for(db, ctx, ref)


def _by_name(db: Session, name: str) -> VolumeType | None:
    return db.scalar(select(VolumeType).where(VolumeType.name == name))


def create(db: Session, body: Any) -> VolumeType:
    """A type from ``{"name", "description", "extra_specs", "os-volume-type-access:is_public"}``."""
    if not isinstance(body, dict):
        raise BadRequest("Missing required element 'volume_type' in request body.")
    name = _text(body.get("name"), "name", required=True, blank=False).strip()
    description = _text(body.get("description"), "description", limit=MAX_LEN)
    specs = check_specs(body.get("extra_specs") or {})
    public = body.get("os-volume-type-access:is_public", body.get("is_public", True))
    is_public = parse_bool(public, "os-volume-type-access:is_public")
    if _by_name(db, name) is not None:
        raise Conflict(f"Volume Type {name} already exists.")
    vt = VolumeType(id=str(uuid.uuid4()), name=name, description=description, is_public=is_public)
    db.add(vt)
    db.flush()
    for key, value in specs.items():
        db.add(VolumeTypeExtraSpec(volume_type_id=vt.id, key=key, value=value))
    db.flush()
    return vt


def update(db: Session, vt: VolumeType, body: Any, settings) -> VolumeType:
    """Rename, describe, or make public/private (Cinder's PUT ``/types/{id}``)."""
    if not isinstance(body, dict):
        raise BadRequest("Missing required element 'volume_type' in request body.")
    name = _text(body.get("name"), "name")
    description = _text(body.get("description"), "description")
    public = body.get("is_public", body.get("os-volume-type-access:is_public"))
    if name is not None and not name.strip():
        raise BadRequest("Volume type name can not be empty.")
    if name is None and description is None and public is None:
        raise BadRequest("Specify volume type name, description, is_public or a combination thereof.")
    is_public = None if public is None else parse_bool(public, "is_public")
    if name is not None and name.strip() != vt.name:
        name = name.strip()
        if vt.name == settings.volume_default_type:
            raise BadRequest(f"The default volume type {vt.name} can not be renamed: volumes without a type "
                             "get it by this name (volume_default_type).")
        if _by_name(db, name) is not None:
            raise Conflict(f"Volume Type {name} already exists.")
        vt.name = name
    if description is not None:
        vt.description = description
    if is_public is not None:
        vt.is_public = is_public
    db.flush()
    return vt


def in_use(db: Session, vt: VolumeType) -> int:
    """How many volumes are of this type."""
    return int(db.scalar(select(func.count()).select_from(Volume).where(Volume.volume_type_id == vt.id)) or 0)


def delete_type(db: Session, vt: VolumeType, settings) -> None:
    if vt.name == settings.volume_default_type:
        raise BadRequest(f"The volume type {vt.id} is the default volume type ({vt.name}) and can not be "
                         "deleted.")
    if in_use(db, vt):
        raise BadRequest("Target volume type is still in use.")
    db.execute(delete(VolumeTypeExtraSpec).where(VolumeTypeExtraSpec.volume_type_id == vt.id))
    db.execute(delete(VolumeTypeAccess).where(VolumeTypeAccess.volume_type_id == vt.id))
    db.delete(vt)
    db.flush()


# --- extra specs --------------------------------------------------------------------------

def _allow_spec_change(db: Session, vt: VolumeType) -> None:
    if in_use(db, vt):
        raise BadRequest("Volume Type is currently in use.")


def set_specs(db: Session, vt: VolumeType, specs: Any) -> dict[str, str]:
    """Add or replace the given keys (others stay); returns what was given."""
    given = check_specs(specs)
    _allow_spec_change(db, vt)
    current = {r.key: r for r in db.scalars(select(VolumeTypeExtraSpec)
                                             .where(VolumeTypeExtraSpec.volume_type_id == vt.id))}
    for key, value in given.items():
        if key in current:
            current[key].value = value
        else:
            db.add(VolumeTypeExtraSpec(volume_type_id=vt.id, key=key, value=value))
    db.flush()
    return given


def get_spec(db: Session, vt: VolumeType, key: str, policy) -> str:
    specs = visible_specs(extra_specs(db, vt.id), policy)
    if key not in specs:
        raise NotFound(f"Volume Type {vt.id} has no extra specs with key {key}.")
    return specs[key]


def delete_spec(db: Session, vt: VolumeType, key: str) -> None:
    _allow_spec_change(db, vt)
    row = db.get(VolumeTypeExtraSpec, (vt.id, key))
    if row is None:
        raise NotFound(f"Volume Type {vt.id} has no extra specs with key {key}.")
    db.delete(row)
    db.flush()


# --- access -------------------------------------------------------------------------------

def access_list(db: Session, vt: VolumeType) -> list[dict[str, str]]:
    if vt.is_public:
        raise NotFound("Access list not available for public volume types.")
    rows = db.scalars(select(VolumeTypeAccess).where(VolumeTypeAccess.volume_type_id == vt.id)
                      .order_by(VolumeTypeAccess.project_id))
    return [{"volume_type_id": r.volume_type_id, "project_id": r.project_id} for r in rows]


def _project(args: Any, action: str) -> str:
    project = args.get("project") if isinstance(args, dict) else None
    if not isinstance(project, str) or not project.strip():
        raise BadRequest(f"Invalid input for {action}: give the project id as {{\"{action}\": "
                         "{\"project\": \"<project id>\"}}.")
    if len(project) > 64:
        raise BadRequest(f"Invalid input for {action}: a project id is at most 64 characters.")
    return project.strip()


def add_access(db: Session, vt: VolumeType, args: Any) -> None:
    project = _project(args, "addProjectAccess")
    if vt.is_public:
        raise BadRequest("Invalid volume type: Type access modification is not applicable to public volume "
                         "type.")
    if db.get(VolumeTypeAccess, (vt.id, project)) is not None:
        raise Conflict(f"Volume type access for {vt.id} / {project} combination already exists.")
    db.add(VolumeTypeAccess(volume_type_id=vt.id, project_id=project))
    db.flush()


def remove_access(db: Session, vt: VolumeType, args: Any) -> None:
    project = _project(args, "removeProjectAccess")
    if vt.is_public:
        raise BadRequest("Invalid volume type: Type access modification is not applicable to public volume "
                         "type.")
    row = db.get(VolumeTypeAccess, (vt.id, project))
    if row is None:
        raise NotFound(f"Volume type access not found for {vt.id} / {project} combination.")
    db.delete(row)
    db.flush()


# --- bootstrap ----------------------------------------------------------------------------

def ensure_default(db: Session, settings) -> list[str]:
    """Make the default type when it is missing (``stratus bootstrap``); returns what it did."""
    name = settings.volume_default_type
    if _by_name(db, name) is not None:
        return []
    vt = VolumeType(id=str(uuid.uuid4()), name=name, description="Default Volume Type", is_public=True)
    db.add(vt)
    db.flush()
    if settings.volume_default_backend:
        db.add(VolumeTypeExtraSpec(volume_type_id=vt.id, key="volume_backend_name",
                                   value=settings.volume_default_backend))
        db.flush()
    return [f"created volume type {name}"]
