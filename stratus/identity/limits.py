"""Unified limits (Keystone's limit API): registered limits (a service's default for a
resource, optionally per region) and project or domain limits that override them; a
limit needs a registered limit for the same service, region and resource.

``effective(db, service_type, project_id, region)`` is what a service enforces:
the project's limit, else its domain's, else the registered default (a limit for the
region beats one without region), per resource name. stratus.quotas reads it.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select, true
from sqlalchemy.orm import Session

from stratus.db.models.identity import Domain, Project, Region, Service
from stratus.db.models.identity_limits import Limit, RegisteredLimit
from stratus.errors import BadRequest, Conflict, Forbidden

MODELS = {
    "flat": "Limit enforcement and validation does not take project hierarchy into "
    "consideration.",
    "strict-two-level": "This model requires project hierarchy to be two levels deep: "
    "a project's usage and its children's together stay within the parent's limit.",
}
_MAX_LIMIT = 2**63 - 1


def _str(ref: dict, name: str, *, required: bool, max_len: int = 255) -> str | None:
    value = ref.get(name)
    if value is None:
        if required:
            raise BadRequest(f"Invalid input for field '{name}': '{name}' is a required property.")
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise BadRequest(
            f"Invalid input for field '{name}': {value!r} is not a string of 1 to {max_len} "
            "characters."
        )
    return value


def _int(ref: dict, name: str, *, required: bool) -> int | None:
    value = ref.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= _MAX_LIMIT:
        raise BadRequest(
            f"Invalid input for field '{name}': {value!r} is not an integer of -1 (unlimited) "
            "or more."
        )
    return value


def _description(ref: dict) -> str | None:
    value = ref.get("description")
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"Invalid input for field 'description': {value!r} is not a string.")
    return value


def _known(db: Session, ref: dict) -> tuple[str, str | None, str]:
    service_id = _str(ref, "service_id", required=True, max_len=64)
    region_id = _str(ref, "region_id", required=False)
    resource = _str(ref, "resource_name", required=True)
    if db.get(Service, service_id) is None:
        raise BadRequest(f"Invalid input for field 'service_id'. The value is '{service_id}': "
                         "no such service (see `openstack service list`).")
    if region_id is not None and db.get(Region, region_id) is None:
        raise BadRequest(f"Invalid input for field 'region_id'. The value is '{region_id}': "
                         "no such region (see `openstack region list`).")
    return service_id, region_id, resource


def _allowed_keys(ref: dict, keys: set[str], what: str) -> None:
    extra = sorted(set(ref) - keys)
    if extra:
        raise BadRequest(f"Invalid input for {what}: additional properties are not allowed "
                         f"({', '.join(repr(k) for k in extra)} unexpected).")


def _list_of(body: dict, key: str) -> list[dict]:
    refs = body.get(key)
    if not isinstance(refs, list) or not refs or not all(isinstance(r, dict) for r in refs):
        raise BadRequest(f"Invalid input for field '{key}': expecting a non-empty list of objects.")
    return refs


def _registered(db: Session, service_id: str, region_id: str | None, resource: str):
    return db.scalars(select(RegisteredLimit).filter_by(
        service_id=service_id, region_id=region_id, resource_name=resource)).first()


REGISTERED_KEYS = {"service_id", "region_id", "resource_name", "default_limit", "description"}
LIMIT_KEYS = {"project_id", "domain_id", "service_id", "region_id", "resource_name",
              "resource_limit", "description"}


def create_registered(db: Session, body: dict) -> list[RegisteredLimit]:
    """All of the body's registered limits, or none (400/409 names the offending one)."""
    out, seen = [], set()
    for ref in _list_of(body, "registered_limits"):
        _allowed_keys(ref, REGISTERED_KEYS, "registered_limit")
        key = _known(db, ref)
        default = _int(ref, "default_limit", required=True)
        if key in seen or _registered(db, *key) is not None:
            raise Conflict(f"Conflict occurred attempting to store registered_limit - Duplicate "
                           f"entry found with resource_name {key[2]} of service {key[0]}"
                           f"{' in region ' + key[1] if key[1] else ''}.")
        seen.add(key)
        out.append(RegisteredLimit(service_id=key[0], region_id=key[1], resource_name=key[2],
                                   default_limit=default, description=_description(ref)))
    db.add_all(out)
    db.flush()
    return out


def _referenced(db: Session, reg: RegisteredLimit) -> bool:
    return db.scalars(select(Limit.id).filter_by(
        service_id=reg.service_id, region_id=reg.region_id, resource_name=reg.resource_name
    )).first() is not None


def update_registered(db: Session, reg: RegisteredLimit, ref: dict) -> None:
    _allowed_keys(ref, REGISTERED_KEYS, "registered_limit")
    merged = {"service_id": reg.service_id, "region_id": reg.region_id,
              "resource_name": reg.resource_name, **ref}
    key = _known(db, merged)
    if key != (reg.service_id, reg.region_id, reg.resource_name):
        if _referenced(db, reg):
            raise Forbidden(f"Cannot update registered limit {reg.id}'s service, region or "
                            "resource: project limits reference it; delete them first.")
        if _registered(db, *key) is not None:
            raise Conflict(f"Conflict occurred attempting to update registered_limit - Duplicate "
                           f"entry found with resource_name {key[2]}.")
    if "default_limit" in ref:
        reg.default_limit = _int(ref, "default_limit", required=True)
    if "description" in ref:
        reg.description = _description(ref)
    reg.service_id, reg.region_id, reg.resource_name = key
    db.flush()


def delete_registered(db: Session, reg: RegisteredLimit) -> None:
    if _referenced(db, reg):
        raise Forbidden(f"Unable to delete registered limit {reg.id}: project or domain limits "
                        "reference it; delete them first (`openstack limit delete`).")
    db.delete(reg)
    db.flush()


def create_limits(db: Session, body: dict) -> list[Limit]:
    out, seen = [], set()
    for ref in _list_of(body, "limits"):
        _allowed_keys(ref, LIMIT_KEYS, "limit")
        project_id = _str(ref, "project_id", required=False, max_len=64)
        domain_id = _str(ref, "domain_id", required=False, max_len=64)
        if (project_id is None) == (domain_id is None):
            raise BadRequest("Invalid input for limit: give exactly one of project_id and domain_id.")
        if project_id is not None and db.get(Project, project_id) is None:
            raise BadRequest(f"Invalid input for field 'project_id'. The value is '{project_id}': "
                             "no such project.")
        if domain_id is not None and db.get(Domain, domain_id) is None:
            raise BadRequest(f"Invalid input for field 'domain_id'. The value is '{domain_id}': "
                             "no such domain.")
        key = _known(db, ref)
        value = _int(ref, "resource_limit", required=True)
        if _registered(db, *key) is None:
            raise Forbidden("Unable to create a limit that has no corresponding registered "
                            f"limit: register {key[2]} for service {key[0]}"
                            f"{' in region ' + key[1] if key[1] else ''} first "
                            "(`openstack registered limit create`).")
        full = (project_id, domain_id, *key)
        exists = db.scalars(select(Limit.id).filter_by(
            project_id=project_id, domain_id=domain_id, service_id=key[0], region_id=key[1],
            resource_name=key[2])).first()
        if full in seen or exists is not None:
            raise Conflict(f"Conflict occurred attempting to store limit - Duplicate entry found "
                           f"with resource_name {key[2]} for {project_id or domain_id}.")
        seen.add(full)
        out.append(Limit(project_id=project_id, domain_id=domain_id, service_id=key[0],
                         region_id=key[1], resource_name=key[2], resource_limit=value,
                         description=_description(ref)))
    db.add_all(out)
    db.flush()
    return out


def update_limit(db: Session, limit: Limit, ref: dict) -> None:
    _allowed_keys(ref, {"resource_limit", "description"}, "limit")
    if "resource_limit" in ref:
        limit.resource_limit = _int(ref, "resource_limit", required=True)
    if "description" in ref:
        limit.description = _description(ref)
    db.flush()


def forget_project(db: Session, project_id: str) -> None:
    """A deleted project's limits go with it."""
    db.execute(delete(Limit).where(Limit.project_id == project_id))


def effective(db: Session, service_type: str, project_id: str, region: str | None) -> dict[str, int]:
    """Resource name -> the limit enforced for ``project_id`` by the service of
    ``service_type`` in ``region`` (only names with a registered limit or limit);
    ``region`` None: limits of any region count (one-region clouds)."""
    service_ids = list(db.scalars(select(Service.id).where(Service.type == service_type)))
    if not service_ids:
        return {}
    def in_region(model):
        return true() if region is None else or_(model.region_id.is_(None), model.region_id == region)

    out: dict[str, tuple[int, int]] = {}  # name -> (precedence, value)

    def take(name: str, rank: int, value: int) -> None:
        if name not in out or out[name][0] < rank:
            out[name] = (rank, value)

    for r in db.scalars(select(RegisteredLimit).where(
            RegisteredLimit.service_id.in_(service_ids), in_region(RegisteredLimit))):
        take(r.resource_name, 1 if r.region_id else 0, r.default_limit)
    project = db.get(Project, project_id)
    owners = [Limit.project_id == project_id]
    if project is not None:
        owners.append(Limit.domain_id == project.domain_id)
    for lim in db.scalars(select(Limit).where(
            Limit.service_id.in_(service_ids), or_(*owners),
            in_region(Limit))):
        rank = (4 if lim.project_id else 2) + (1 if lim.region_id else 0)
        take(lim.resource_name, rank, lim.resource_limit)
    return {name: value for name, (_, value) in out.items()}
