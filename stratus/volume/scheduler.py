"""The volume scheduler: which storage host and backend a new volume goes to, and the
pools as Cinder's ``scheduler-stats/get_pools`` reports them.

A pool is one backend of one enabled ``block_storage`` host of the registry, as its
``storage_info`` reported it (``stratus host refresh`` stores
``Host.reported["storage_backends"]``: total/free/provisioned GiB, thin_provisioning,
activation). Cinder's pool name is ``<host>@<backend>#<backend>``.

What is in use comes from two places, and the scheduler takes the tighter of them:
the host's report (what was there at the last refresh, including anything Stratus did
not make) and the records (Cinder's ``allocated_capacity_gb``: the sizes of the volume
rows on that host and backend, plus their snapshots' on LVM, where a snapshot takes
room in the volume group; volumes made since the last refresh are only here).

Filters, in Cinder's order and with its meaning:

- AvailabilityZoneFilter: a host's zone is its variable
  ``stratus_storage_availability_zone``, else ``volume_default_availability_zone``;
  a type's ``RESKEY:availability_zones`` extra spec (comma separated) narrows the zones;
- CapabilitiesFilter: a type's ``volume_backend_name`` extra spec (also spelled
  ``capabilities:volume_backend_name``) names the backend; a ``multiattach`` spec is met
  by every backend (both drivers can share a volume);
- a volume that needs data written at create time (from an image, a snapshot, a
  volume) cannot go to an LVM backend whose logical volumes cannot be activated;
- a disabled ``cinder-volume`` service (``os-services/disable``) takes no new volumes;
- CapacityFilter: thick backends need ``size`` GiB free after the reserved percentage;
  thin ones need the provisioned total plus ``size`` within ``total ×
  volume_max_over_subscription_ratio`` and some real room left.

The CapacityWeigher then prefers the most free (virtual, for thin) capacity; ties go
to the first host and backend by name, so the choice is deterministic.

:func:`choose` runs inside ``OS::Cinder::Volume.check``, under the planner's placement
lock, so two creates never both take the last gigabytes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.db.models.volume import Volume, VolumeSnapshot
from stratus.errors import BadRequest

GROUP = "block_storage"
ZONE_VAR = "stratus_storage_availability_zone"
BACKEND_SPECS = ("volume_backend_name", "capabilities:volume_backend_name")
ZONES_SPEC = "RESKEY:availability_zones"


class NoValidBackend(BadRequest):
    """No pool can take the volume (Cinder's "No valid backend was found."). The message
    says why each pool was passed over. As an API error it is a 400; a volume create
    catches it and records the volume in ``error`` with the message as its reason."""


def pool_name(host: str, backend: str) -> str:
    """Cinder's ``os-vol-host-attr:host`` / pool name of a backend of a host."""
    return f"{host}@{backend}#{backend}"


def service_host(host: str, backend: str) -> str:
    """The ``host`` of the ``cinder-volume`` service of a backend (``host@backend``)."""
    return f"{host}@{backend}"


def zone_of(host: Host, settings) -> str:
    """The availability zone of a storage host."""
    zone = (host.vars or {}).get(ZONE_VAR)
    return str(zone) if zone else settings.volume_default_availability_zone


@dataclass
class Pool:
    """One backend of one storage host, with what is free on it."""

    host: str
    backend: str
    zone: str
    report: dict[str, Any]
    allocated_gb: int
    ratio: float
    reserved_percentage: int
    disabled: bool = False

    @property
    def name(self) -> str:
        return pool_name(self.host, self.backend)

    @property
    def driver(self) -> str:
        return str(self.report.get("driver") or self.backend)

    @property
    def thin(self) -> bool:
        return bool(self.report.get("thin_provisioning"))

    @property
    def activation(self) -> bool:
        return bool(self.report.get("activation", True))

    def _gb(self, key: str) -> float:
        try:
            return float(self.report.get(key) or 0)
        except (TypeError, ValueError):
            return 0.0

    @property
    def total_gb(self) -> float:
        return self._gb("total_capacity_gb")

    @property
    def reserved_gb(self) -> int:
        return math.floor(self.total_gb * self.reserved_percentage / 100)

    @property
    def free_gb(self) -> float:
        """Real free space: the report's, less what the records hold beyond it."""
        return max(0.0, min(self._gb("free_capacity_gb"), self.total_gb - self._used_gb()))

    def _used_gb(self) -> float:
        # thin volumes take room only as they are written; thick ones all of it at once
        return 0.0 if self.thin else float(self.allocated_gb)

    @property
    def provisioned_gb(self) -> float:
        """What volumes were promised: the report's, or the records' when more."""
        return max(self._gb("provisioned_capacity_gb"), float(self.allocated_gb))

    @property
    def virtual_free_gb(self) -> float:
        """Cinder's ``calculate_virtual_free_capacity``: what the weigher ranks by."""
        if self.thin:
            return self.total_gb * self.ratio - self.provisioned_gb - self.reserved_gb
        return self.free_gb - self.reserved_gb

    def refusal(self, size_gb: int) -> str | None:
        """Why a volume of ``size_gb`` does not fit (None when it does)."""
        if self.total_gb <= 0:
            return "it reports no capacity (run `stratus host refresh`)"
        if self.thin:
            if self.free_gb - self.reserved_gb <= 0:
                return f"it has no free space left ({self.free_gb:g} GiB free, {self.reserved_gb} GiB reserved)"
            limit = self.total_gb * self.ratio
            if self.provisioned_gb + size_gb > limit:
                return (f"{self.provisioned_gb:g} GiB provisioned + {size_gb} GiB would exceed "
                        f"{limit:g} GiB ({self.total_gb:g} GiB × max_over_subscription_ratio {self.ratio:g})")
            return None
        room = self.free_gb - self.reserved_gb
        if room < size_gb:
            return f"{room:g} GiB free (after {self.reserved_gb} GiB reserved) < {size_gb} GiB asked"
        return None

    def capabilities(self) -> dict[str, Any]:
        """Cinder's get_pools ``capabilities`` of this pool."""
        return {
            "pool_name": self.backend,
            "volume_backend_name": self.backend,
            "total_capacity_gb": round(self.total_gb, 2),
            "free_capacity_gb": round(self.free_gb, 2),
            "allocated_capacity_gb": self.allocated_gb,
            "provisioned_capacity_gb": round(self.provisioned_gb, 2),
            "max_over_subscription_ratio": str(self.ratio),
            "reserved_percentage": self.reserved_percentage,
            "thin_provisioning_support": self.thin,
            "thick_provisioning_support": not self.thin,
            "multiattach": True,
            "QoS_support": False,
            "storage_protocol": "nbd" if self.driver == "file" else "lvm",
            "driver_version": "1.0",
            "vendor_name": "Stratus",
            "backend_state": "down" if self.disabled else "up",
            "location_info": f"{self.driver}:{self.host}:{self.report.get('vg') or self.backend}",
            "availability_zone": self.zone,
            "timestamp": None,
            "filter_function": None,
            "goodness_function": None,
        }


def allocated(db: Session) -> Counter:
    """GiB the records hold per (host, backend): volume sizes, and on LVM their snapshots'."""
    used: Counter = Counter()
    rows = db.execute(select(Volume.host, Volume.backend, func.sum(Volume.size))
                      .where(Volume.host.is_not(None)).group_by(Volume.host, Volume.backend))
    for host, backend, size in rows:
        used[(host, backend)] += int(size or 0)
    snaps = db.execute(select(Volume.host, Volume.backend, func.sum(VolumeSnapshot.size))
                       .join(Volume, Volume.id == VolumeSnapshot.volume_id)
                       .where(Volume.host.is_not(None)).group_by(Volume.host, Volume.backend))
    for host, backend, size in snaps:
        used[("snap", host, backend)] += int(size or 0)
    return used


def _disabled(db: Session) -> set[str]:
    """``host@backend`` of the disabled cinder-volume services."""
    from stratus.volume import services  # services names its hosts with this module's helpers

    return services.disabled_backends(db)


def all_pools(db: Session, settings) -> list[Pool]:
    """Every backend of every enabled storage host, by host then backend name."""
    used = allocated(db)
    disabled = _disabled(db)
    ratio = float(settings.volume_max_over_subscription_ratio)
    reserved = int(settings.volume_reserved_percentage)
    out: list[Pool] = []
    hosts = db.scalars(select(Host).where(Host.enabled.is_(True)).order_by(Host.name))
    for host in hosts:
        if GROUP not in (host.groups or ()):
            continue
        backends = (host.reported or {}).get("storage_backends") or {}
        for backend in sorted(backends):
            report = backends[backend] or {}
            if report.get("available") is False:
                continue
            gb = used[(host.name, backend)]
            if report.get("driver", backend) == "lvm":
                gb += used[("snap", host.name, backend)]
            out.append(Pool(host=host.name, backend=backend, zone=zone_of(host, settings), report=report,
                            allocated_gb=gb, ratio=ratio, reserved_percentage=reserved,
                            disabled=service_host(host.name, backend) in disabled))
    return out


def pools(db: Session, settings) -> list[dict[str, Any]]:
    """Cinder's get_pools entries (detail): ``{"name": "host@backend#pool", "capabilities": {...}}``."""
    return [{"name": p.name, "capabilities": p.capabilities()} for p in all_pools(db, settings)]


def _type_specs(db: Session, volume_type_id: str | None) -> dict[str, str]:
    from stratus.volume.records import extra_specs

    return extra_specs(db, volume_type_id)


def _wanted_zones(specs: dict[str, str], availability_zone: str | None) -> set[str] | None:
    zones = {z.strip() for z in (specs.get(ZONES_SPEC) or "").split(",") if z.strip()} or None
    if availability_zone:
        zones = {availability_zone} if zones is None else zones & {availability_zone}
    return zones


def _wanted_backend(specs: dict[str, str]) -> str | None:
    for key in BACKEND_SPECS:
        value = (specs.get(key) or "").strip()
        if value:
            # a capability spec may carry an operator: "<in> lvm" / "= lvm"
            for op in ("<in>", "<is>", "=="):
                if value.startswith(op):
                    value = value[len(op):].strip()
            return value.lstrip("= ").strip() or None
    return None


def choose(db: Session, settings, *, size_gb: int, volume_type_id: str | None,
           availability_zone: str | None, need_data: bool) -> tuple[str, str]:
    """The (host, backend) a new volume of ``size_gb`` GiB goes to; raises
    :class:`NoValidBackend` with every pool's reason when none fits."""
    specs = _type_specs(db, volume_type_id)
    zones = _wanted_zones(specs, availability_zone)
    backend = _wanted_backend(specs)
    candidates = all_pools(db, settings)
    if not candidates:
        raise NoValidBackend("No valid backend was found. There is no enabled block_storage host with a "
                             "reported backend (register one with `stratus host sync` and run "
                             "`stratus host refresh`).")
    fits: list[Pool] = []
    why: list[str] = []
    for pool in candidates:
        if zones is not None and pool.zone not in zones:
            why.append(f"{pool.name}: in availability zone {pool.zone!r}, not {' or '.join(sorted(zones))!r}")
        elif backend is not None and pool.backend != backend:
            why.append(f"{pool.name}: the volume type asks for volume_backend_name={backend!r}")
        elif pool.disabled:
            why.append(f"{pool.name}: its cinder-volume service is disabled")
        elif need_data and pool.driver == "lvm" and not pool.activation:
            why.append(f"{pool.name}: its logical volumes cannot be activated to write data into")
        elif (reason := pool.refusal(int(size_gb))) is not None:
            why.append(f"{pool.name}: {reason}")
        else:
            fits.append(pool)
    if not fits:
        raise NoValidBackend("No valid backend was found. " + "; ".join(why) + ".")
    # max() keeps the first of equals: pools come sorted by host, then backend
    best = max(fits, key=lambda p: p.virtual_free_gb)
    return best.host, best.backend
