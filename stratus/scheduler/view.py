"""What the scheduler sees of the cloud, read once per placement: every candidate host
with its capacity (the registry's cached view), what is allocated on it, its allocation
ratios, availability zone and aggregate metadata, its nova-compute service (disabled,
forced down), what it reported of itself, and the hosts of the server groups asked for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from stratus.db.models.compute import (
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
    max_fresh: int = 1000

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
                   default_zone=get("default_availability_zone"),
                   max_fresh=int(get("scheduler_max_placement_results")))


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
        return self.capacity.get(key, 0) * self.ratios.get(key, 1.0) - self.used.get(key, 0)

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
    """The candidate hosts of one placement. ``hosts`` holds the states made so far
    (``state`` makes the others on first use, so a placement over 10,000 hosts looks
    closely only at the ones it considers); ``used`` is placement's {host: allocated}
    (shared: :meth:`consume` adds this request's claims to it); ``order(keys)`` gives
    the candidate names, most capacity of ``keys`` first."""

    config: Config
    hosts: dict[str, HostState]
    used: dict[str, Counter]
    groups: dict[str, GroupInfo] = field(default_factory=dict)
    make: Callable[[str], HostState | None] | None = None
    order: Callable[[tuple[str, ...]], Iterable[str]] | None = None
    zone_of: Callable[[str], str] | None = None  # a host's zone without making its state

    def state(self, name: str) -> HostState | None:
        """The host's state, None when it is not a candidate."""
        got = self.hosts.get(name)
        if got is None and self.make is not None:
            got = self.make(name)
            if got is not None:
                self.hosts[name] = got
        return got

    def zone(self, name: str) -> str | None:
        """The host's availability zone (None: not a candidate)."""
        if self.zone_of is not None:
            return self.zone_of(name)
        state = self.state(name)
        return state.zone if state is not None else None

    def scan(self, keys: tuple[str, ...], keep: Callable[[str], bool] | None = None,
             ) -> Iterator[tuple[HostState, bool]]:
        """(host, fresh) for every candidate ``keep`` (a cheap test by name) accepts:
        first those with allocations (by name), then the fresh ones (nothing
        allocated), most capacity of ``keys`` first."""
        for name in sorted(self.used):
            if self.used[name] and (keep is None or keep(name)) and (h := self.state(name)) is not None:
                yield h, False
        names = self.order(keys) if self.order is not None else list(self.hosts)
        for name in names:
            if not self.used.get(name) and (keep is None or keep(name)) and (h := self.state(name)) is not None:
                yield h, True

    def consume(self, host: str, need: Mapping[str, int], group_id: str | None) -> None:
        """Record a placement made in this request (the next resource sees it)."""
        counter = self.used.setdefault(host, Counter())
        counter.update(need)
        state = self.hosts.get(host)
        if state is not None:
            state.used = counter
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


@dataclass(frozen=True)
class Aggregates:
    """Which aggregates each host is in and each aggregate's metadata."""

    of_host: Mapping[str, tuple[int, ...]]
    metadata: Mapping[int, Mapping[str, str]]

    def zone(self, host: str, default: str) -> str:
        """The host's availability zone: its aggregates' (the lowest name if they
        disagree, which the aggregates API refuses), else ``default``."""
        zones = [z for agg in self.of_host.get(host, ()) if (z := self.metadata.get(agg, {}).get("availability_zone"))]
        return min(zones) if zones else default

    def merged(self, host: str) -> dict[str, set[str]]:
        """{key: values} over the host's aggregates (``availability_zone`` included)."""
        out: dict[str, set[str]] = {}
        for agg in self.of_host.get(host, ()):
            for key, value in self.metadata.get(agg, {}).items():
                out.setdefault(key, set()).add(value)
        return out


def read_aggregates(db: Session) -> Aggregates:
    """Every aggregate's hosts and metadata (two plain reads; aggregates are few)."""
    of_host: dict[str, list[int]] = {}
    for agg, host in db.execute(select(AggregateHost.aggregate_id, AggregateHost.host)):
        of_host.setdefault(host, []).append(agg)
    metadata: dict[int, dict[str, str]] = {}
    for agg, key, value in db.execute(select(AggregateMetadata.aggregate_id, AggregateMetadata.key,
                                             AggregateMetadata.value)):
        metadata.setdefault(agg, {})[key] = value
    return Aggregates({h: tuple(a) for h, a in of_host.items()}, metadata)


def services_down(db: Session) -> dict[str, tuple[bool, bool]]:
    """{host: (disabled, forced_down)} of the nova-compute services that are either."""
    rows = db.execute(select(ComputeService.host, ComputeService.disabled, ComputeService.forced_down)
                      .where(ComputeService.binary == "nova-compute",
                             or_(ComputeService.disabled.is_(True), ComputeService.forced_down.is_(True))))
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


def build(db: Session, members: Mapping[str, Any], order: Callable[[tuple[str, ...]], Iterable[str]],
          used: dict[str, Counter], config: Config) -> View:
    """The view over ``members`` ({name: registry host with ``capacity`` and
    ``reported``}) in ``order``, with placement's ``used``. Aggregates and services are
    read here, once; a host's state is made when the scheduler first looks at it."""
    aggs = read_aggregates(db)
    down = services_down(db)

    def make(name: str) -> HostState | None:
        c = members.get(name)
        if c is None:
            return None
        meta = aggs.merged(name)
        ratios = config.ratios if not meta else {
            k: _lowest(meta.get(key), config.ratios[k]) for k, key in RATIO_KEYS.items()}
        disabled, forced = down.get(name, (False, False))
        return HostState(name, c.capacity, used.get(name, Counter()), ratios, zone_of(name), meta, disabled,
                         forced, c.reported)

    zones = {h: z for h in aggs.of_host if (z := aggs.zone(h, ""))}

    def zone_of(name: str) -> str:
        return zones.get(name) or config.default_zone

    return View(config, {}, used, make=make, order=order, zone_of=zone_of)
