"""Nova's scheduler filters, each a function ``(host, spec, view) -> bool`` over a
:class:`~stratus.scheduler.view.HostState` (pure code: no DB, no I/O). Capacity is not
a filter of Nova's list (Placement does it there); here :func:`has_room` always runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from stratus.scheduler import extra_specs_ops

if TYPE_CHECKING:  # the settings check imports this module: keep it free of the DB models
    from stratus.scheduler.spec import RequestSpec
    from stratus.scheduler.view import HostState, View

Filter = Callable[["HostState", "RequestSpec", "View"], bool]


def has_room(host: HostState, need: Mapping[str, int]) -> bool:
    """Capacity x allocation ratio minus allocations covers ``need`` (a host that
    reported none of a kind has none of it)."""
    return all(host.free(k) >= v for k, v in need.items())


def compute_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """ComputeFilter: the host's nova-compute service is enabled and not forced down."""
    return not host.disabled and not host.forced_down


def availability_zone_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """AvailabilityZoneFilter: the host is in the zone asked for (any when none is)."""
    return not spec.availability_zone or host.zone == spec.availability_zone


def _capability(caps: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(caps, Mapping) or part not in caps:
            return None
        caps = caps[part]
    return caps


def compute_capabilities_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """ComputeCapabilitiesFilter: extra specs ``capabilities:<name>[:<sub>]`` (and bare
    names the host has) match what the host is (``hypervisor_type``, ``cpu_info:arch``,
    ``free_ram_mb``, ...; the ``stats`` are what hypervisor_info reported)."""
    specs = spec.flavor.get("extra_specs") or {}
    if not specs:
        return True
    caps = None
    for key, wanted in specs.items():
        scope = key.split(":")
        if len(scope) > 1 and scope[0] != "capabilities":
            continue
        caps = caps if caps is not None else host.capabilities()
        if len(scope) == 1:
            if key not in caps and key not in caps["stats"]:
                continue  # a bare key the host does not have is not a capability
            value = caps.get(key, caps["stats"].get(key))
        else:
            value = _capability(caps, scope[1:])
        if value is None or not extra_specs_ops.match(str(value), wanted):
            return False
    return True


_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "i386": "i686", "i486": "i686", "i586": "i686",
                 "x86": "i686", "arm64": "aarch64", "ppc64el": "ppc64le"}
_VM_MODE_ALIASES = {"hv": "hvm", "baremetal": "hvm", "pv": "xen"}


def _canon(value: Any, aliases: Mapping[str, str]) -> str | None:
    if value in (None, ""):
        return None
    v = str(value).strip().lower()
    return aliases.get(v, v)


def image_properties_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """ImagePropertiesFilter: the image's ``hw_architecture``, ``img_hv_type``,
    ``hw_vm_mode`` and ``hw_machine_type`` against what the host reported (its CPU
    architecture, ``virt_type``, hvm for a libvirt QEMU/KVM host, its machine types).
    What a host does not report is not held against it."""
    props = spec.image_properties or {}
    rep = host.reported
    arch = _canon(props.get("hw_architecture") or props.get("architecture"), _ARCH_ALIASES)
    if arch and rep.get("cpu_model") and arch != _canon(rep["cpu_model"], _ARCH_ALIASES):
        return False
    hv = _canon(props.get("img_hv_type") or props.get("hypervisor_type"), {"xapi": "xen"})
    if hv and rep.get("virt_type") and hv not in ("qemu", str(rep["virt_type"]).lower()):
        return False  # a KVM host also runs plain QEMU (TCG) guests
    mode = _canon(props.get("hw_vm_mode") or props.get("vm_mode"), _VM_MODE_ALIASES)
    if mode and rep.get("virt_type") and mode != "hvm":
        return False
    machine = props.get("hw_machine_type")
    machines = rep.get("machine_types")
    # "pc" on the host also admits "pc-i440fx-7.2" asked for, and the reverse
    return not machine or not machines or any(
        str(machine) == m or str(machine).startswith(f"{m}-") or m.startswith(f"{machine}-") for m in machines)


AGGREGATE_SCOPE = "aggregate_instance_extra_specs"


def aggregate_instance_extra_specs_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """AggregateInstanceExtraSpecsFilter: each extra spec without a namespace or in
    ``aggregate_instance_extra_specs:`` needs an aggregate of the host whose metadata
    value for the key matches."""
    for key, wanted in (spec.flavor.get("extra_specs") or {}).items():
        scope = key.split(":", 1)
        if len(scope) > 1:
            if scope[0] != AGGREGATE_SCOPE:
                continue
            key = scope[1]
        values = host.aggregates.get(key)
        if not values or not any(extra_specs_ops.match(v, wanted) for v in values):
            return False
    return True


def server_group_anti_affinity_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """ServerGroupAntiAffinityFilter: fewer than ``max_server_per_host`` (rule, 1 by
    default) members of an anti-affinity group already on the host."""
    group = view.groups.get(spec.group_id) if spec.group_id else None
    if group is None or group.policy != "anti-affinity":
        return True
    return group.hosts[host.name] < int(group.rules.get("max_server_per_host", 1))


def server_group_affinity_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """ServerGroupAffinityFilter: members of an affinity group go where the others are."""
    group = view.groups.get(spec.group_id) if spec.group_id else None
    if group is None or group.policy != "affinity":
        return True
    placed = [h for h, n in group.hosts.items() if n > 0]
    return not placed or host.name in placed


def ignore_hosts_filter(host: HostState, spec: RequestSpec, view: View) -> bool:
    """IgnoreHostsFilter: not one of the hosts the request avoids (a move's source)."""
    return host.name not in spec.ignore_hosts


FILTERS: dict[str, Filter] = {
    "ComputeFilter": compute_filter,
    "AvailabilityZoneFilter": availability_zone_filter,
    "ComputeCapabilitiesFilter": compute_capabilities_filter,
    "ImagePropertiesFilter": image_properties_filter,
    "AggregateInstanceExtraSpecsFilter": aggregate_instance_extra_specs_filter,
    "ServerGroupAntiAffinityFilter": server_group_anti_affinity_filter,
    "ServerGroupAffinityFilter": server_group_affinity_filter,
    "IgnoreHostsFilter": ignore_hosts_filter,
}


def _group_policy(spec: RequestSpec, view: View) -> str | None:
    group = view.groups.get(spec.group_id) if spec.group_id else None
    return group.policy if group is not None else None


# When a filter can drop a host for this request at all; the others are not run (a
# request without a zone skips AvailabilityZoneFilter on every host).
APPLIES: dict[str, Callable[[RequestSpec, View], bool]] = {
    "AvailabilityZoneFilter": lambda spec, view: bool(spec.availability_zone),
    "ComputeCapabilitiesFilter": lambda spec, view: bool(spec.flavor.get("extra_specs")),
    "ImagePropertiesFilter": lambda spec, view: bool(spec.image_properties),
    "AggregateInstanceExtraSpecsFilter": lambda spec, view: bool(spec.flavor.get("extra_specs")),
    "ServerGroupAntiAffinityFilter": lambda spec, view: _group_policy(spec, view) == "anti-affinity",
    "ServerGroupAffinityFilter": lambda spec, view: _group_policy(spec, view) == "affinity",
    "IgnoreHostsFilter": lambda spec, view: bool(spec.ignore_hosts),
}


class UnknownFilter(ValueError):
    """scheduler_enabled_filters names a filter the scheduler does not have."""


def check_names(names: list[str] | tuple[str, ...]) -> None:
    """UnknownFilter naming what ``names`` lists that the scheduler does not have."""
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise UnknownFilter(f"scheduler_enabled_filters names {', '.join(unknown)}, which the scheduler "
                            f"does not have; use some of {', '.join(FILTERS)}")


def enabled(names: tuple[str, ...]) -> list[tuple[str, Filter]]:
    """The filters ``names`` lists, in order; UnknownFilter for a name it lacks."""
    check_names(names)
    return [(n, FILTERS[n]) for n in names]


def for_request(names: tuple[str, ...], spec: RequestSpec, view: View) -> list[tuple[str, Filter]]:
    """The enabled filters that can drop a host for ``spec``, in order."""
    return [(n, f) for n, f in enabled(names) if n not in APPLIES or APPLIES[n](spec, view)]
