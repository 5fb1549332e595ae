"""Networks: the records behind ``/v2.0/networks`` and ``OS::Neutron::Net``.

- ``parse_create(doc)`` / ``parse_update(doc)``: a request's attributes, validated;
  ``ADMIN_CREATE`` / ``ADMIN_UPDATE`` name those whose policy is admin-only;
- ``create(db, project_id, attrs, settings) -> Network``: the row, its segment
  (``segments``), its ``*`` RBAC policy when shared, its tags; ``ensure_row`` is the
  same for a Heat stack's resource (the id given);
- ``update(db, ctx, network, attrs, settings)``; ``delete(db, network) -> [subnet ids]``:
  409 NetworkInUse while ports other than DHCP's are on it; DHCP ports, subnets,
  segment, RBAC policies and tags go with it;
- ``view(db, network, ctx, *, admin, tags, subnets)``: Neutron's network document;
  ``views(db, rows, ctx, admin)`` for lists (one query per related table);
- ``COLUMNS``: list filters and sort keys (``query.run``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.network import IPAllocation, Network, Port, RBACPolicy, Subnet
from stratus.errors import Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import access, attrs, segments, tags
from stratus.quotas import release as release_quota

ZONES = ("nova",)
DHCP_OWNER = "network:dhcp"
PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
CREATE_ATTRS = {"name", "admin_state_up", "shared", "router:external", "mtu", "port_security_enabled",
                "availability_zone_hints", "description", "project_id", "tenant_id", "is_default",
                "dns_domain", "qos_policy_id", *PROVIDER}
UPDATE_ATTRS = {"name", "admin_state_up", "shared", "router:external", "mtu", "port_security_enabled",
                "description", "is_default", "dns_domain", "qos_policy_id"}
# attributes whose policy is Neutron's admin-only default
ADMIN_CREATE = ("shared", "router:external", "is_default", *PROVIDER)
ADMIN_UPDATE = ("router:external", "is_default", *PROVIDER)

register_defaults(
    [RuleDefault("create_network", "rule:admin_or_member", "Create a network"),
     RuleDefault("get_network", "rule:admin_or_reader",
                 "Show a network (checked on the caller's project; visibility is the service's)"),
     RuleDefault("update_network", "rule:admin_or_member", "Update a network"),
     RuleDefault("delete_network", "rule:admin_or_member", "Delete a network")]
    + [RuleDefault(f"create_network:{a}", "rule:admin_required", f"Set {a} on create") for a in ADMIN_CREATE]
    + [RuleDefault(f"update_network:{a}", "rule:admin_required", f"Change {a}") for a in ADMIN_UPDATE]
    + [RuleDefault("update_network:shared", "rule:admin_required", "Change shared")]
    + [RuleDefault(f"get_network:{a}", "rule:admin_required", f"See {a}") for a in PROVIDER])

COLUMNS = {
    "id": Network.id, "name": Network.name, "project_id": Network.project_id, "tenant_id": Network.project_id,
    "admin_state_up": Network.admin_state_up, "status": Network.status, "shared": Network.shared,
    "router:external": Network.external, "mtu": Network.mtu, "description": Network.description,
    "port_security_enabled": Network.port_security_enabled, "is_default": Network.is_default,
    "provider:network_type": Network.network_type, "provider:physical_network": Network.physical_network,
    "provider:segmentation_id": Network.segmentation_id, "revision_number": Network.revision_number,
    "created_at": Network.created_at, "updated_at": Network.updated_at,
    "dns_domain": Network.dns_domain,
}


def _zone_hints(doc: dict[str, Any]) -> list[str] | None:
    hints = attrs.string_list(doc, "availability_zone_hints")
    if hints is None:
        return None
    unknown = [h for h in hints if h not in ZONES]
    if unknown:
        raise NotFound(f"AvailabilityZone {unknown[0]} could not be found.", type="AvailabilityZoneNotFound")
    return sorted(set(hints))


def _common(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in (
        ("name", attrs.text(doc, "name")),
        ("description", attrs.text(doc, "description", max_len=attrs.DESCRIPTION_MAX)),
        ("dns_domain", attrs.text(doc, "dns_domain")),
        ("admin_state_up", attrs.boolean(doc, "admin_state_up")),
        ("shared", attrs.boolean(doc, "shared")),
        ("external", attrs.boolean(doc, "router:external")),
        ("port_security_enabled", attrs.boolean(doc, "port_security_enabled")),
        ("is_default", attrs.boolean(doc, "is_default")),
        ("mtu", attrs.integer(doc, "mtu", low=68)),
    ):
        if value is not None:
            out[field] = value
    if doc.get("qos_policy_id") is not None:
        raise attrs.invalid_op("QoS policies are not supported by this cloud.")
    return out


def parse_create(doc: dict[str, Any]) -> dict[str, Any]:
    attrs.only(doc, CREATE_ATTRS)
    out = _common(doc)
    hints = _zone_hints(doc)
    if hints is not None:
        out["availability_zone_hints"] = hints
    ntype = doc.get("provider:network_type")
    if ntype is not None and not isinstance(ntype, str):
        raise attrs.invalid("provider:network_type", f"'{ntype}' is not a valid string")
    physnet = attrs.text(doc, "provider:physical_network", max_len=64) or None
    seg = attrs.integer(doc, "provider:segmentation_id")
    out.update(network_type=ntype or None, physical_network=physnet, segmentation_id=seg)
    return out


def parse_update(doc: dict[str, Any]) -> dict[str, Any]:
    attrs.read_only(doc, ("id", "status", "subnets", "project_id", "tenant_id", *PROVIDER))
    attrs.only(doc, UPDATE_ATTRS)
    return _common(doc)


def create(db: Session, project_id: str, spec: dict[str, Any], settings, *, network_id: str | None = None,
           tag_list: list[str] | None = None) -> Network:
    row = Network(id=network_id or str(uuid.uuid4()), project_id=project_id, name=spec.get("name", ""),
                  description=spec.get("description", ""), admin_state_up=spec.get("admin_state_up", True),
                  shared=spec.get("shared", False), external=spec.get("external", False),
                  port_security_enabled=spec.get("port_security_enabled", True),
                  is_default=spec.get("is_default", False), dns_domain=spec.get("dns_domain", ""),
                  availability_zone_hints=spec.get("availability_zone_hints", []), status="ACTIVE",
                  revision_number=1)
    db.add(row)
    segments.reserve(db, row, settings, spec.get("network_type"), spec.get("physical_network"),
                     spec.get("segmentation_id"))
    top = segments.max_mtu(settings, row.network_type)
    mtu = spec.get("mtu")
    if mtu is not None and mtu > top:
        raise attrs.invalid_op(f"Requested MTU is too big, maximum is {top}.")
    row.mtu = mtu or top
    if row.is_default and not row.external:
        raise attrs.invalid_op("is_default can only be set on an external network (router:external).")
    if row.is_default:
        _one_default(db, row)
    if row.shared:
        _policy(db, row, access.SHARED)
    if row.external:
        _policy(db, row, access.EXTERNAL)
    if tag_list:
        tags.replace(db, "networks", row.id, tag_list)
    db.flush()
    return row


def _policy(db: Session, row: Network, action: str) -> None:
    exists = db.scalar(select(RBACPolicy.id).where(
        RBACPolicy.object_type == "network", RBACPolicy.object_id == row.id,
        RBACPolicy.action == action, RBACPolicy.target_tenant == "*"))
    if not exists:
        db.add(RBACPolicy(id=str(uuid.uuid4()), project_id=row.project_id, object_type="network",
                          object_id=row.id, target_tenant="*", action=action))


def _unshare(db: Session, row: Network, action: str) -> None:
    """Remove the ``*`` policy of ``action`` (409 while other projects use it)."""
    from stratus.network import rbac

    policy = db.scalar(select(RBACPolicy).where(
        RBACPolicy.object_type == "network", RBACPolicy.object_id == row.id,
        RBACPolicy.action == action, RBACPolicy.target_tenant == "*"))
    if policy is not None:
        rbac.delete(db, policy)


def _one_default(db: Session, row: Network) -> None:
    other = db.scalar(select(Network.id).where(Network.is_default.is_(True), Network.id != row.id))
    if other:
        raise Conflict(f"Unable to update default external network: {other} is already the default.",
                       type="DefaultExternalNetworkExists")


def update(db: Session, row: Network, spec: dict[str, Any], settings) -> None:
    for field in ("name", "description", "admin_state_up", "port_security_enabled", "dns_domain"):
        if field in spec:
            setattr(row, field, spec[field])
    if "mtu" in spec:
        top = segments.max_mtu(settings, row.network_type)
        if spec["mtu"] > top:
            raise attrs.invalid_op(f"Requested MTU is too big, maximum is {top}.")
        if spec["mtu"] < 1280 and db.scalar(select(Subnet.id).where(Subnet.network_id == row.id,
                                                                    Subnet.ip_version == 6)):
            raise attrs.invalid_op("IPv6 subnets need an MTU of at least 1280 on their network.")
        row.mtu = spec["mtu"]
    if "external" in spec and spec["external"] != row.external:
        if spec["external"]:
            _policy(db, row, access.EXTERNAL)
        else:
            if db.scalar(select(Port.id).where(Port.network_id == row.id,
                                               Port.device_owner.in_(("network:router_gateway",
                                                                      "network:floatingip")))):
                raise Conflict(f"Unable to complete operation on network {row.id}. There are one or "
                               "more ports still in use on the network.", type="NetworkInUse")
            _unshare(db, row, access.EXTERNAL)
            row.is_default = False
        row.external = spec["external"]
    if "is_default" in spec:
        if spec["is_default"] and not row.external:
            raise attrs.invalid_op("is_default can only be set on an external network (router:external).")
        row.is_default = spec["is_default"]
        if row.is_default:
            _one_default(db, row)
    if "shared" in spec and spec["shared"] != row.shared:
        if spec["shared"]:
            _policy(db, row, access.SHARED)
        else:
            _unshare(db, row, access.SHARED)
        row.shared = spec["shared"]
    attrs.touch(row)
    db.flush()


def in_use(db: Session, network_id: str) -> bool:
    return db.scalar(select(Port.id).where(Port.network_id == network_id, Port.device_owner != DHCP_OWNER)
                     .limit(1)) is not None


def delete(db: Session, row: Network) -> list[str]:
    """Delete the network and what hangs off it; the ids of its subnets (their resources
    go with the network's)."""
    if in_use(db, row.id):
        raise Conflict(f"Unable to complete operation on network {row.id}. There are one or more ports "
                       "still in use on the network.", type="NetworkInUse")
    dhcp = list(db.scalars(select(Port.id).where(Port.network_id == row.id, Port.device_owner == DHCP_OWNER)))
    if dhcp:
        db.execute(sql_delete(IPAllocation).where(IPAllocation.port_id.in_(dhcp)))
        db.execute(sql_delete(Port).where(Port.id.in_(dhcp)).execution_options(synchronize_session="fetch"))
        for pid in dhcp:
            tags.clear(db, "ports", pid)
    subnet_ids = list(db.scalars(select(Subnet.id).where(Subnet.network_id == row.id)))
    for sid in subnet_ids:
        tags.clear(db, "subnets", sid)
        release_quota(db, sid)
    db.execute(sql_delete(Subnet).where(Subnet.network_id == row.id).execution_options(synchronize_session="fetch"))
    for policy in db.scalars(select(RBACPolicy).where(RBACPolicy.object_type == "network",
                                                      RBACPolicy.object_id == row.id)):
        release_quota(db, policy.id)
        db.delete(policy)
    segments.release(db, row.id)
    tags.clear(db, "networks", row.id)
    release_quota(db, row.id)  # Neutron counts records: a new network may follow at once
    db.delete(row)
    db.flush()
    return subnet_ids


# --- views ------------------------------------------------------------------------------


def _subnets_of(db: Session, ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        for nid, sid in db.execute(select(Subnet.network_id, Subnet.id).where(
                Subnet.network_id.in_(ids[start:start + 500])).order_by(Subnet.created_at, Subnet.id)):
            out[nid].append(sid)
    return out


def _shared_to(db: Session, ctx, ids: list[str]) -> set[str]:
    if not ctx.project_id or not ids:
        return set()
    return set(db.scalars(select(RBACPolicy.object_id).where(
        RBACPolicy.object_type == "network", RBACPolicy.action == access.SHARED,
        RBACPolicy.target_tenant == ctx.project_id, RBACPolicy.object_id.in_(ids))))


def view(db: Session, row: Network, ctx, *, admin: bool, tag_list: list[str] | None = None,
         subnet_ids: list[str] | None = None, shared: bool | None = None) -> dict[str, Any]:
    if tag_list is None:
        tag_list = tags.of(db, "networks", row.id)
    if subnet_ids is None:
        subnet_ids = _subnets_of(db, [row.id])[row.id]
    if shared is None:
        shared = row.shared or row.id in _shared_to(db, ctx, [row.id])
    doc = {"id": row.id, "name": row.name, "admin_state_up": row.admin_state_up, "status": row.status,
           "subnets": subnet_ids, "shared": bool(shared), "router:external": row.external, "mtu": row.mtu,
           "port_security_enabled": row.port_security_enabled,
           "availability_zone_hints": list(row.availability_zone_hints or []),
           "availability_zones": list(ZONES) if subnet_ids else [],
           "is_default": row.is_default, "ipv4_address_scope": None, "ipv6_address_scope": None,
           "l2_adjacency": True, "dns_domain": row.dns_domain or "", "qos_policy_id": None,
           **attrs.standard(row, tag_list)}
    if admin:
        doc.update({"provider:network_type": row.network_type,
                    "provider:physical_network": row.physical_network,
                    "provider:segmentation_id": row.segmentation_id})
    return doc


def views(db: Session, rows: list[Network], ctx, *, admin: bool):
    """A view function for ``query.answer`` over ``rows`` (related rows read at once)."""
    ids = [r.id for r in rows]
    tag_map, subnet_map, shared = tags.of_many(db, "networks", ids), _subnets_of(db, ids), _shared_to(db, ctx, ids)
    return lambda r: view(db, r, ctx, admin=admin, tag_list=tag_map[r.id], subnet_ids=subnet_map[r.id],
                          shared=r.shared or r.id in shared)


def heat_spec(props: dict[str, Any]) -> dict[str, Any]:
    """A Heat ``OS::Neutron::Net``'s properties as a create request's attributes."""
    doc = {k: v for k, v in props.items() if k in CREATE_ATTRS and v is not None}
    for heat, neutron in (("network_type", "provider:network_type"),
                          ("physical_network", "provider:physical_network"),
                          ("segmentation_id", "provider:segmentation_id")):
        if props.get(heat) is not None:
            doc[neutron] = props[heat]
    if props.get("router_external") is not None:
        doc["router:external"] = props["router_external"]
    return parse_create(doc)
