"""Provider segments: VXLAN VNIs, VLAN ids and flat physical networks, each held by one
network (a row of ``network_segment_allocations``, unique per (type, physnet, id)).

Ranges come from the settings (ML2's): ``network_vni_ranges`` ("first:last"),
``network_vlan_ranges`` ("physnet:first:last", or "physnet" for provider VLANs only),
``network_flat_networks`` (physnets, "*" = any). A tenant network takes the first free
id of its type's ranges; an admin may name any valid id (``provider:segmentation_id``).
Two requests for one id: the unique constraint refuses the second (409 with Neutron's
words); a request without an id then picks again.

- ``reserve(db, network, settings, network_type, physical_network, segmentation_id)``
  fills the network's provider columns and writes the allocation row;
- ``release(db, network_id)`` removes it;
- ``default_mtu(settings, network_type)`` and ``max_mtu``: the underlay MTU, less the
  VXLAN overhead (50) for VXLAN.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.db.models.network import Network, SegmentAllocation
from stratus.errors import ApiError, BadRequest, Conflict

TYPES = ("local", "flat", "vlan", "vxlan")
VXLAN_OVERHEAD = 50
VNI_MAX = 2**24 - 1
VLAN_MAX = 4094
ATTEMPTS = 32


def _invalid(message: str) -> BadRequest:
    return BadRequest(f"Invalid input for operation: {message}", type="InvalidInput")


def vni_ranges(settings) -> list[tuple[int, int]]:
    out = []
    for text in settings.network_vni_ranges:
        first, _, last = text.partition(":")
        out.append((int(first), int(last or first)))
    return out


def vlan_ranges(settings) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for text in settings.network_vlan_ranges:
        parts = text.split(":")
        ranges = out.setdefault(parts[0], [])
        if len(parts) == 3:
            ranges.append((int(parts[1]), int(parts[2])))
    return out


def default_mtu(settings, network_type: str) -> int:
    return max_mtu(settings, network_type)


def max_mtu(settings, network_type: str) -> int:
    mtu = settings.network_global_mtu
    return mtu - VXLAN_OVERHEAD if network_type == "vxlan" else mtu


def _held(db: Session, network_type: str, physnet: str) -> set[int]:
    return set(db.scalars(select(SegmentAllocation.segmentation_id).where(
        SegmentAllocation.network_type == network_type, SegmentAllocation.physical_network == physnet)))


def _first_free(db: Session, network_type: str, physnet: str, ranges: list[tuple[int, int]]) -> int | None:
    held = _held(db, network_type, physnet)
    for first, last in ranges:
        n = first
        while n <= last:
            if n not in held:
                return n
            n += 1
    return None


def _insert(db: Session, network: Network, network_type: str, physnet: str, seg_id: int) -> bool:
    sp = db.begin_nested()
    try:
        db.add(SegmentAllocation(network_type=network_type, physical_network=physnet,
                                 segmentation_id=seg_id, network_id=network.id))
        db.flush()
    except IntegrityError:
        sp.rollback()
        return False
    sp.commit()
    return True


def _in_use(network_type: str, physnet: str, seg_id: int) -> ApiError:
    if network_type == "vlan":
        return Conflict(f"Unable to create the network. The VLAN {seg_id} on physical network "
                        f"{physnet} is in use.", type="VlanIdInUse")
    if network_type == "flat":
        return Conflict(f"Unable to create the flat network. Physical network {physnet} is in use.",
                        type="FlatNetworkInUse")
    return Conflict(f"Unable to create the network. The tunnel ID {seg_id} is in use.", type="TunnelIdInUse")


def _exhausted() -> ApiError:
    return ApiError("Unable to create the network. No tenant network is available for allocation.",
                    status=503, type="NoNetworkAvailable")


def validate(settings, network_type: str, physnet: str | None, seg_id: int | None) -> None:
    """Refuse provider attributes that do not fit the type (400 InvalidInput)."""
    if network_type not in TYPES:
        raise _invalid(f"network_type value '{network_type}' not supported; use one of {', '.join(TYPES)}.")
    if network_type in ("local", "vxlan") and physnet:
        raise _invalid(f"physical_network not allowed for {network_type} provider network.")
    if network_type in ("local", "flat") and seg_id is not None:
        raise _invalid(f"segmentation_id not allowed for {network_type} provider network.")
    if network_type == "flat":
        if not physnet:
            raise _invalid("physical_network required for flat provider network.")
        allowed = settings.network_flat_networks
        if "*" not in allowed and physnet not in allowed:
            raise _invalid(f"physical_network '{physnet}' unknown for flat provider network.")
    if network_type == "vlan":
        if seg_id is not None and not physnet:
            raise _invalid("segmentation_id requires physical_network for VLAN provider network.")
        if physnet and physnet not in vlan_ranges(settings):
            raise _invalid(f"physical_network '{physnet}' unknown for VLAN provider network.")
        if seg_id is not None and not 1 <= seg_id <= VLAN_MAX:
            raise _invalid(f"segmentation_id out of range (1 through {VLAN_MAX}).")
    if network_type == "vxlan" and seg_id is not None and not 1 <= seg_id <= VNI_MAX:
        raise _invalid(f"segmentation_id out of range (1 through {VNI_MAX}).")


def reserve(db: Session, network: Network, settings, network_type: str | None,
            physnet: str | None, seg_id: int | None) -> None:
    """Give ``network`` its segment (see the module docstring)."""
    network_type = network_type or settings.network_tenant_type
    validate(settings, network_type, physnet, seg_id)
    db.flush()  # the network row exists before its allocation references it
    if network_type == "vlan" and not physnet:  # a tenant VLAN: any physnet with a range
        for name, ranges in vlan_ranges(settings).items():
            if ranges and _first_free(db, "vlan", name, ranges) is not None:
                physnet = name
                break
        else:
            raise _exhausted()
    if network_type == "flat":
        seg_id = 0
    if network_type != "local":
        key = physnet or ""
        if seg_id is not None:
            if not _insert(db, network, network_type, key, seg_id):
                raise _in_use(network_type, key, seg_id)
        else:
            ranges = vni_ranges(settings) if network_type == "vxlan" else vlan_ranges(settings).get(key, [])
            for _ in range(ATTEMPTS):
                seg_id = _first_free(db, network_type, key, ranges)
                if seg_id is None:
                    raise _exhausted()
                if _insert(db, network, network_type, key, seg_id):
                    break
            else:
                raise _exhausted()
    network.network_type = network_type
    network.physical_network = physnet or None
    network.segmentation_id = seg_id if network_type in ("vlan", "vxlan") else None


def release(db: Session, network_id: str) -> None:
    db.execute(delete(SegmentAllocation).where(SegmentAllocation.network_id == network_id)
               .execution_options(synchronize_session="fetch"))
