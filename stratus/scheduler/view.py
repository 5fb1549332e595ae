"""What the scheduler sees of the cloud, read once per placement: every candidate host
with its capacity (the registry's cached view), what is allocated on it, its allocation
ratios, availability zone and aggregate metadata, its nova-compute service (disabled,
forced down), what it reported of itself, and the hosts of the server groups asked for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.compute import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeService,
    Server,
    ServerGroup,
    ServerGroupMember,
)
from stratus.db.models.quotas import Allocation

# Capacity kinds and the allocation ratio (setting / aggregate metadata key) for each.
RATIO_KEYS = {"vcpus": "cpu_allocation_ratio", "memory_mb": "ram_allocation_ratio",
              "disk_gb": "disk_allocation_ratio"}
WEIGHER_KEYS = ("ram_weight_multiplier", "cpu_weight_multiplier", "disk_weight_multiplier",
                "soft_affinity_weight_multiplier", "soft_anti_affinity_weight_multiplier")


@dataclass(frozen=True)
class Config:
    """The scheduler's settings (``stratus.config.Settings`` compute block)."""

    ratios: Mapping[str, float]
    multipliers: Mapping[str, float]
    enabled_filters: tuple[str, ...]
    default_zone: str

    @classmethod
    def from_settings(cls, settings: Any = None) -> Config:
        """From the controller's settings; None: the settings' defaults."""
        if settings is None:
            from stratus.config import Settings

            fields = Settings.model_fields

            def get(name: str) -> Any:
                f = fields[name]
                return f.default_factory() if f.default_factory is not None else f.default
        else:
            def get(name: str) -> Any:
                return getattr(settings, name)
        return cls(ratios={k: float(get(name)) for k, name in RATIO_KEYS.items()},
                   multipliers={name: float(get(name)) for name in WEIGHER_KEYS},
                   enabled_filters=tuple(get("scheduler_enabled_filters")),
                   default_zone=get("default_availability_zone"))


@dataclass
class GroupInfo:
    """A server group as the (anti-)affinity filters and weighers need it: its policy,
    rules and how many of its members are on each host (grows as a request places
    several servers of the group)."""

    id: str
    policy: str
    rules: dict[str, Any]
    hosts: Counter = field(default_factory=Counter)


@dataclass
class HostState:
    """One candidate host. ``capacity``: totals as reported; ``used``: what allocations
    hold; ``ratios``: allocation ratio per capacity kind (settings, or the lowest an
    aggregate of the host sets); ``aggregates``: metadata key → values over the host's
    aggregates; ``reported``: what ``hypervisor_info`` said of the host."""

    name: str
    capacity: Mapping[str, int]
    used: Mapping[str, int]
    ratios: Mapping[str, float]
    zone: str
    aggregates: Mapping[str, set[str]]
    disabled: bool = False
    forced_down: bool = False
    reported: Mapping[str, Any] = field(default_factory=dict)

    def limit(self, key: str) -> float:
        """What the host offers of ``key``: capacity x allocation ratio."""
        return self.capacity.get(key, 0) * self.ratios.get(key, 1.0)

    def free(self, key: str) -> float:
        """What is left to allocate of ``key`` (capacity x ratio - allocated)."""
        return self.limit(key) - self.used.get(key, 0)

    def multiplier(self, name: str, default: float) -> float:
        """A weigher multiplier: the lowest an aggregate of the host sets, else the setting."""
        return _lowest(self.aggregates.get(name), default)

    def capabilities(self) -> dict[str, Any]:
        """The host as ComputeCapabilitiesFilter reads it (Nova's HostState names)."""
        rep = self.reported
        return {
            "host": self.name, "hypervisor_hostname": rep.get("hostname", self.name),
            "hypervisor_type": "QEMU" if rep.get("virt_type") else None,
            "cpu_info": {"arch": rep.get("cpu_model")} if rep.get("cpu_model") else {},
            "vcpus": self.capacity.get("vcpus", 0), "vcpus_used": self.used.get("vcpus", 0),
            "memory_mb": self.capacity.get("memory_mb", 0),
            "free_ram_mb": self.capacity.get("memory_mb", 0) - self.used.get("memory_mb", 0),
            "total_usable_ram_mb": self.capacity.get("memory_mb", 0),
            "free_disk_mb": (self.capacity.get("disk_gb", 0) - self.used.get("disk_gb", 0)) * 1024,
            "total_usable_disk_gb": self.capacity.get("disk_gb", 0),
            "availability_zone": self.zone,
            "stats": {k: v for k, v in rep.items() if isinstance(v, str | int | float)},
        }


@dataclass
class View:
    """The candidate hosts of a placement by name, the configuration, and the groups
    read so far."""

    hosts: dict[str, HostState]
    config: Config
    groups: dict[str, GroupInfo] = field(default_factory=dict)

    def consume(self, host: str, need: Mapping[str, int], group_id: str | None) -> None:
        """Record a placement made in this request (the next resource sees it)."""
        state = self.hosts.get(host)
        if state is not None:
            state.used = Counter(state.used)
            state.used.update(need)
        if group_id in self.groups:
            self.groups[group_id].hosts[host] += 1


def _lowest(values: Iterable[str] | None, default: float) -> float:
    """Nova's rule for a setting several aggregates give: the lowest valid number."""
    nums = []
    for v in values or ():
        try:
            nums.append(float(v))
        except ValueError:
            continue
    return min(nums) if nums else default


def aggregate_metadata(db: Session) -> dict[str, dict[str, set[str]]]:
    """{host: {metadata key: values over its aggregates}}, with ``availability_zone``."""
    out: dict[str, dict[str, set[str]]] = {}
    rows = db.execute(select(AggregateHost.host, AggregateMetadata.key, AggregateMetadata.value)
                      .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id))
    for host, key, value in rows:
        out.setdefault(host, {}).setdefault(key, set()).add(value)
    for (host,) in db.execute(select(AggregateHost.host).join(Aggregate, Aggregate.id == AggregateHost.aggregate_id)):
        out.setdefault(host, {})
    return out


def compute_services(db: Session) -> dict[str, tuple[bool, bool]]:
    """{host: (disabled, forced_down)} of the nova-compute services."""
    rows = db.execute(select(ComputeService.host, ComputeService.disabled, ComputeService.forced_down)
                      .where(ComputeService.binary == "nova-compute"))
    return {host: (bool(d), bool(f)) for host, d, f in rows}


def read_group(db: Session, group_id: str, exclude: Iterable[str] = ()) -> GroupInfo | None:
    """The group, and on which hosts its members (other than ``exclude``) are: where
    they hold allocations (claims made, even before they run) or the host their server
    record names."""
    group = db.get(ServerGroup, group_id)
    if group is None:
        return None
    skip = set(exclude)
    members = [m for m in db.scalars(select(ServerGroupMember.server_id)
                                     .where(ServerGroupMember.group_id == group_id)) if m not in skip]
    where: dict[str, set[str]] = {m: set() for m in members}
    if members:
        for consumer, host in db.execute(select(Allocation.consumer_id, Allocation.host).distinct()
                                         .where(Allocation.consumer_id.in_(members), Allocation.host.is_not(None))):
            where[consumer].add(host)
        for sid, host in db.execute(select(Server.id, Server.host).where(
                Server.id.in_(members), Server.deleted.is_(False), Server.host.is_not(None))):
            where[sid].add(host)
    hosts = Counter(h for hs in where.values() for h in hs)
    return GroupInfo(group.id, group.policy, dict(group.rules or {}), hosts)


def build(db: Session, candidates: Iterable[Any], used: Mapping[str, Mapping[str, int]], config: Config) -> View:
    """The view over ``candidates`` (the registry's hosts of the group: name, capacity,
    reported) with ``used`` {host: {kind: allocated}}."""
    aggs = aggregate_metadata(db)
    services = compute_services(db)
    empty: dict[str, set[str]] = {}
    hosts = {}
    for c in candidates:
        meta = aggs.get(c.name, empty)
        ratios = config.ratios if not meta else {
            k: _lowest(meta.get(name), config.ratios[k]) for k, name in RATIO_KEYS.items()}
        zone = min(meta["availability_zone"]) if meta.get("availability_zone") else config.default_zone
        disabled, forced = services.get(c.name, (False, False))
        hosts[c.name] = HostState(c.name, c.capacity, used.get(c.name, {}), ratios, zone, meta,
                                  disabled, forced, c.reported)
    return View(hosts, config)
