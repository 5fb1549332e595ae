"""Subnet pools: prefixes that subnets take their CIDRs from (``subnet_allocation``,
``default-subnetpools``).

- ``parse_create``/``parse_update``; ``create(db, project_id, spec)``, ``update``,
  ``delete`` (409 SubnetPoolInUse while subnets hold prefixes of it);
- ``get(db, ctx, id)`` (own, shared, or admin; else 404), ``default(db, ctx, version)``;
- ``allocate(db, pool, cidr, prefixlen) -> network``: the CIDR asked for (inside the
  pool, free) or the first free prefix of ``prefixlen`` (default_prefixlen); one request
  at a time per pool (a transaction lock), since free is decided by reading;
- ``view``/``views``, ``COLUMNS``.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.locks import write_lock
from stratus.db.models.network import Subnet, SubnetPool
from stratus.db.models.quotas import Allocation
from stratus.errors import Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import attrs, tags

BITS = {4: 32, 6: 128}
MIN_DEFAULT = {4: 8, 6: 64}
CREATE_ATTRS = {"name", "prefixes", "default_prefixlen", "min_prefixlen", "max_prefixlen", "default_quota",
                "shared", "is_default", "description", "project_id", "tenant_id", "address_scope_id"}
UPDATE_ATTRS = {"name", "prefixes", "default_prefixlen", "min_prefixlen", "max_prefixlen", "default_quota",
                "is_default", "description"}

register_defaults([
    RuleDefault("create_subnetpool", "rule:admin_or_member", "Create a subnet pool"),
    RuleDefault("create_subnetpool:shared", "rule:admin_required", "Create a shared subnet pool"),
    RuleDefault("create_subnetpool:is_default", "rule:admin_required", "Create a default subnet pool"),
    RuleDefault("get_subnetpool", "rule:admin_or_reader", "Show a subnet pool"),
    RuleDefault("update_subnetpool", "rule:admin_or_member", "Update a subnet pool"),
    RuleDefault("update_subnetpool:is_default", "rule:admin_required", "Make a subnet pool the default"),
    RuleDefault("delete_subnetpool", "rule:admin_or_member", "Delete a subnet pool"),
])

COLUMNS = {"id": SubnetPool.id, "name": SubnetPool.name, "ip_version": SubnetPool.ip_version,
           "default_prefixlen": SubnetPool.default_prefixlen, "min_prefixlen": SubnetPool.min_prefixlen,
           "max_prefixlen": SubnetPool.max_prefixlen, "shared": SubnetPool.shared,
           "is_default": SubnetPool.is_default, "project_id": SubnetPool.project_id,
           "tenant_id": SubnetPool.project_id, "description": SubnetPool.description,
           "address_scope_id": SubnetPool.address_scope_id, "revision_number": SubnetPool.revision_number}


def visible(ctx):
    if ctx.is_admin:
        return true()
    return or_(SubnetPool.project_id == ctx.project_id, SubnetPool.shared.is_(True))


def get(db: Session, ctx, pool_id: Any) -> SubnetPool:
    row = db.scalar(select(SubnetPool).where(SubnetPool.id == str(pool_id), visible(ctx)))
    if row is None:
        raise NotFound(f"Subnet pool {pool_id} could not be found.", type="SubnetPoolNotFound")
    return row


def default(db: Session, ctx, version: int) -> SubnetPool:
    row = db.scalar(select(SubnetPool).where(SubnetPool.is_default.is_(True), SubnetPool.ip_version == version,
                                             visible(ctx)))
    if row is None:
        raise attrs.invalid_op(f"No default subnetpool found for IPv{version}: give a cidr or a subnetpool_id.")
    return row


def _prefixes(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise attrs.invalid("prefixes", f"'{value}' is not a non-empty list of CIDRs")
    nets = []
    for p in value:
        try:
            nets.append(ipaddress.ip_network(p, strict=False))
        except (ValueError, TypeError):
            raise attrs.invalid("prefixes", f"'{p}' is not a valid IP subnet") from None
    if len({n.version for n in nets}) != 1:
        raise attrs.invalid_op("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
    return list(ipaddress.collapse_addresses(nets))


def _lengths(doc: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for field in ("default_prefixlen", "min_prefixlen", "max_prefixlen"):
        n = attrs.integer(doc, field, low=0, high=128)
        if n is not None:
            out[field] = n
    quota = attrs.integer(doc, "default_quota", low=0)
    if quota is not None:
        out["default_quota"] = quota
    for field in ("name",):
        if (v := attrs.text(doc, field)) is not None:
            out[field] = v
    if (v := attrs.text(doc, "description", max_len=attrs.DESCRIPTION_MAX)) is not None:
        out["description"] = v
    if (v := attrs.boolean(doc, "is_default")) is not None:
        out["is_default"] = v
    if doc.get("prefixes") is not None:
        out["prefixes"] = _prefixes(doc["prefixes"])
    return out


def parse_create(doc: dict[str, Any]) -> dict[str, Any]:
    attrs.only(doc, CREATE_ATTRS)
    if doc.get("address_scope_id"):
        raise attrs.invalid_op("address scopes are not supported by this cloud.")
    out = _lengths(doc)
    if "prefixes" not in out:
        raise attrs.invalid_op("Failed to parse request. Required attribute 'prefixes' not specified")
    out["shared"] = attrs.boolean(doc, "shared", False)
    return out


def parse_update(doc: dict[str, Any]) -> dict[str, Any]:
    attrs.read_only(doc, ("id", "ip_version", "shared", "project_id", "tenant_id", "address_scope_id"))
    attrs.only(doc, UPDATE_ATTRS)
    return _lengths(doc)


def _bounds(version: int, spec: dict[str, Any], row: SubnetPool | None = None) -> dict:
    """min <= default <= max <= the address size (defaults: Neutron's 8/64, the size)."""
    lo = spec.get("min_prefixlen", row.min_prefixlen if row else MIN_DEFAULT[version])
    hi = spec.get("max_prefixlen", row.max_prefixlen if row else BITS[version])
    default_len = spec.get("default_prefixlen", row.default_prefixlen if row else lo)
    if not (0 <= lo <= default_len <= hi <= BITS[version]):
        raise attrs.invalid_op(f"Illegal prefix bounds: min_prefixlen {lo}, default_prefixlen {default_len}, "
                               f"max_prefixlen {hi} (need min <= default <= max <= {BITS[version]}).")
    return {"min_prefixlen": lo, "default_prefixlen": default_len, "max_prefixlen": hi}


def _one_default(db: Session, row: SubnetPool) -> None:
    other = db.scalar(select(SubnetPool.id).where(SubnetPool.is_default.is_(True), SubnetPool.id != row.id,
                                                  SubnetPool.ip_version == row.ip_version))
    if other:
        raise Conflict(f"Invalid input for operation: A default subnetpool for this IP family ({other}) "
                       "already exists. Only one default may exist per IP family.", type="InvalidInput")


def create(db: Session, project_id: str, spec: dict[str, Any]) -> SubnetPool:
    prefixes = spec["prefixes"]
    version = prefixes[0].version
    quotas.check(db, project_id, {"subnetpool": 1})
    row = SubnetPool(id=str(uuid.uuid4()), project_id=project_id, name=spec.get("name", ""),
                     description=spec.get("description", ""), ip_version=version,
                     prefixes=[str(p) for p in prefixes], default_quota=spec.get("default_quota"),
                     shared=spec.get("shared", False), is_default=spec.get("is_default", False),
                     revision_number=1, **_bounds(version, spec))
    db.add(row)
    db.flush()
    if row.is_default:
        _one_default(db, row)
    db.add(Allocation(consumer_id=row.id, project_id=project_id, resource="subnetpool", amount=1))
    db.flush()
    return row


def _subnets(db: Session, pool_id: str) -> list[Any]:
    return [ipaddress.ip_network(c) for c in db.scalars(select(Subnet.cidr).where(Subnet.subnetpool_id == pool_id))]


def update(db: Session, row: SubnetPool, spec: dict[str, Any]) -> None:
    prefixes = spec.get("prefixes") or [ipaddress.ip_network(p) for p in row.prefixes]
    if "prefixes" in spec:
        if {p.version for p in prefixes} != {row.ip_version}:
            raise attrs.invalid_op(f"The prefixes of subnet pool {row.id} must be IPv{row.ip_version}.")
        old = [ipaddress.ip_network(p) for p in row.prefixes]
        lost = [str(o) for o in old if not any(o.subnet_of(n) for n in prefixes)]
        if lost:
            raise attrs.invalid_op(f"Illegal update to prefixes: prefixes of a subnet pool can only be "
                                   f"extended; {lost[0]} would be removed.")
        row.prefixes = [str(p) for p in prefixes]
    bounds = _bounds(row.ip_version, spec, row)
    row.min_prefixlen, row.default_prefixlen, row.max_prefixlen = (
        bounds["min_prefixlen"], bounds["default_prefixlen"], bounds["max_prefixlen"])
    for field in ("name", "description", "default_quota", "is_default"):
        if field in spec:
            setattr(row, field, spec[field])
    if row.is_default:
        _one_default(db, row)
    attrs.touch(row)
    db.flush()


def delete(db: Session, row: SubnetPool) -> None:
    if db.scalar(select(Subnet.id).where(Subnet.subnetpool_id == row.id).limit(1)):
        raise Conflict(f"Unable to complete operation on subnet pool {row.id}. Subnet pool has existing "
                       "allocations.", type="SubnetPoolInUse")
    tags.clear(db, "subnetpools", row.id)
    quotas.release(db, row.id)
    db.delete(row)
    db.flush()


def _failed(reason: str) -> Conflict:
    return Conflict(f"Failed to allocate subnet: {reason}", type="SubnetAllocationError")


def allocate(db: Session, pool: SubnetPool, wanted, prefixlen: int | None):
    """The CIDR a subnet of ``pool`` gets (see the module docstring)."""
    write_lock(db, f"subnetpool:{pool.id}")
    prefixes = [ipaddress.ip_network(p) for p in pool.prefixes]
    taken = _subnets(db, pool.id)
    if wanted is not None:
        if wanted.version != pool.ip_version or not any(wanted.subnet_of(p) for p in prefixes):
            raise _failed(f"Cidr {wanted} is not within the prefixes of subnet pool {pool.id}.")
        length = wanted.prefixlen
    else:
        length = pool.default_prefixlen if prefixlen is None else prefixlen
    if not pool.min_prefixlen <= length <= pool.max_prefixlen:
        raise attrs.invalid_op(f"prefixlen {length} is outside the bounds of subnet pool {pool.id} "
                               f"({pool.min_prefixlen} to {pool.max_prefixlen}).")
    if wanted is not None:
        if any(wanted.overlaps(t) for t in taken):
            raise _failed(f"Cidr {wanted} overlaps a subnet already allocated from subnet pool {pool.id}.")
        return wanted
    for prefix in prefixes:
        if prefix.prefixlen > length:
            continue
        for candidate in prefix.subnets(new_prefix=length):
            if not any(candidate.overlaps(t) for t in taken):
                return candidate
    raise _failed("Insufficient prefix space to allocate subnet size "
                  f"/{length} from subnet pool {pool.id}.")


def view(db: Session, row: SubnetPool, *, tag_list: list[str] | None = None) -> dict[str, Any]:
    if tag_list is None:
        tag_list = tags.of(db, "subnetpools", row.id)
    return {"id": row.id, "name": row.name, "ip_version": row.ip_version, "prefixes": list(row.prefixes),
            "default_prefixlen": row.default_prefixlen, "min_prefixlen": row.min_prefixlen,
            "max_prefixlen": row.max_prefixlen, "default_quota": row.default_quota, "shared": row.shared,
            "is_default": row.is_default, "address_scope_id": row.address_scope_id,
            **attrs.standard(row, tag_list)}


def views(db: Session, rows: list[SubnetPool]):
    tag_map = tags.of_many(db, "subnetpools", [r.id for r in rows])
    return lambda r: view(db, r, tag_list=tag_map[r.id])
