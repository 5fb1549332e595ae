"""Nova's weighers: each gives every host that passed the filters a raw weight; the
weights of one weigher are normalised to 0..1 over those hosts (all equal: all 0), then
multiplied by the weigher's multiplier (the setting, or the lowest an aggregate of the
host sets) and summed. The highest total wins. A positive RAM/CPU/disk multiplier
spreads (most free first), a negative one packs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stratus.scheduler.spec import RequestSpec
from stratus.scheduler.view import HostState, View


@dataclass(frozen=True)
class Weigher:
    name: str
    multiplier: str  # the setting / aggregate metadata key
    weigh: Callable[[HostState, RequestSpec, View], float]


def _ram(host: HostState, spec: RequestSpec, view: View) -> float:
    """RAMWeigher: free RAM (capacity - allocated, as Nova's free_ram_mb)."""
    return host.capacity.get("memory_mb", 0) - host.used.get("memory_mb", 0)


def _cpu(host: HostState, spec: RequestSpec, view: View) -> float:
    """CPUWeigher: free vCPUs (capacity x cpu_allocation_ratio - allocated)."""
    return host.free("vcpus")


def _disk(host: HostState, spec: RequestSpec, view: View) -> float:
    """DiskWeigher: free disk (capacity - allocated)."""
    return host.capacity.get("disk_gb", 0) - host.used.get("disk_gb", 0)


def _members(host: HostState, spec: RequestSpec, view: View, policy: str) -> int:
    group = view.groups.get(spec.group_id) if spec.group_id else None
    return group.hosts[host.name] if group is not None and group.policy == policy else 0


def _soft_affinity(host: HostState, spec: RequestSpec, view: View) -> float:
    """ServerGroupSoftAffinityWeigher: more members of a soft-affinity group, heavier."""
    return _members(host, spec, view, "soft-affinity")


def _soft_anti_affinity(host: HostState, spec: RequestSpec, view: View) -> float:
    """ServerGroupSoftAntiAffinityWeigher: more members of a soft-anti-affinity group, lighter."""
    return -_members(host, spec, view, "soft-anti-affinity")


WEIGHERS: tuple[Weigher, ...] = (
    Weigher("RAMWeigher", "ram_weight_multiplier", _ram),
    Weigher("CPUWeigher", "cpu_weight_multiplier", _cpu),
    Weigher("DiskWeigher", "disk_weight_multiplier", _disk),
    Weigher("ServerGroupSoftAffinityWeigher", "soft_affinity_weight_multiplier", _soft_affinity),
    Weigher("ServerGroupSoftAntiAffinityWeigher", "soft_anti_affinity_weight_multiplier", _soft_anti_affinity),
)


def normalize(weights: Sequence[float]) -> list[float]:
    """Nova's normalisation: (w - min) / (max - min); all 0 when they are all equal."""
    if not weights:
        return []
    lo, hi = min(weights), max(weights)
    if lo == hi:
        return [0.0] * len(weights)
    span = hi - lo
    return [(w - lo) / span for w in weights]


def weigh(hosts: Sequence[HostState], spec: RequestSpec, view: View) -> list[tuple[float, HostState]]:
    """(weight, host) for ``hosts``, heaviest first (ties: by host name)."""
    totals = [0.0] * len(hosts)
    for w in WEIGHERS:
        default = view.config.multipliers[w.multiplier]
        raw = [w.weigh(h, spec, view) for h in hosts]
        for i, n in enumerate(normalize(raw)):
            if n:
                totals[i] += hosts[i].multiplier(w.multiplier, default) * n
    return sorted(zip(totals, hosts, strict=True), key=lambda t: (-t[0], t[1].name))
