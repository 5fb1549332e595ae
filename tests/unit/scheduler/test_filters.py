"""Each of Nova's filters over a fake view: the host it keeps and the host it drops."""

from __future__ import annotations

import pytest

from stratus.scheduler import extra_specs_ops, filters
from stratus.scheduler.spec import RequestSpec

from .fakes import group, host, view

pytestmark = pytest.mark.compute


def spec(**kw) -> RequestSpec:
    return RequestSpec(instance_uuid="i-1", **kw)


def test_capacity_counts_allocations_and_allocation_ratios():
    full = host("a", capacity={"vcpus": 4, "memory_mb": 4096}, used={"vcpus": 4, "memory_mb": 1024})
    assert not filters.has_room(full, {"vcpus": 1, "memory_mb": 512})
    overcommit = host("b", capacity={"vcpus": 4, "memory_mb": 4096}, used={"vcpus": 4},
                      ratios={"vcpus": 4.0, "memory_mb": 1.0})
    assert filters.has_room(overcommit, {"vcpus": 12, "memory_mb": 4096})  # 4 x 4 - 4 = 12 left
    assert not filters.has_room(overcommit, {"vcpus": 13})
    assert not filters.has_room(overcommit, {"memory_mb": 4097})
    assert not filters.has_room(host("c", capacity={}), {"vcpus": 1})  # reported nothing: no room


def test_compute_filter_drops_disabled_and_forced_down_services():
    v = view()
    assert filters.compute_filter(host("up"), spec(), v)
    assert not filters.compute_filter(host("off", disabled=True), spec(), v)
    assert not filters.compute_filter(host("down", forced_down=True), spec(), v)


def test_availability_zone_filter():
    v = view()
    assert filters.availability_zone_filter(host("a", zone="az1"), spec(), v)  # no zone asked: any
    assert filters.availability_zone_filter(host("a", zone="az1"), spec(availability_zone="az1"), v)
    assert not filters.availability_zone_filter(host("b", zone="nova"), spec(availability_zone="az1"), v)


def test_compute_capabilities_filter_reads_scoped_and_bare_keys():
    h = host("a", reported={"cpu_model": "x86_64", "virt_type": "qemu", "numa_nodes": 2})
    v = view()

    def passes(**extra):
        return filters.compute_capabilities_filter(h, spec(flavor={"extra_specs": extra}), v)

    assert passes()
    assert passes(**{"capabilities:cpu_info:arch": "x86_64"})
    assert not passes(**{"capabilities:cpu_info:arch": "aarch64"})
    assert passes(**{"capabilities:hypervisor_type": "s== QEMU"})
    assert passes(**{"capabilities:vcpus": ">= 8"})
    assert not passes(**{"capabilities:vcpus": ">= 9"})
    assert not passes(**{"capabilities:no_such_thing": "1"})  # asked for, absent: dropped
    assert passes(free_ram_mb=">= 1024")  # a bare key the host has is checked ...
    assert not passes(free_ram_mb=">= 99999")
    assert passes(numa_nodes="2")  # ... also among what the host reported ...
    assert passes(unknown_key="whatever")  # ... one it lacks is not a capability
    assert passes(**{"hw:cpu_policy": "dedicated"})  # other namespaces are not its business


def test_image_properties_filter_checks_only_what_the_host_reports():
    x86 = host("a", reported={"cpu_model": "x86_64", "virt_type": "kvm", "machine_types": ["pc", "q35"]})
    silent = host("b")
    v = view()

    def passes(h, **props):
        return filters.image_properties_filter(h, spec(image_properties=props), v)

    assert passes(x86)
    assert passes(x86, hw_architecture="x86_64", img_hv_type="kvm", hw_vm_mode="hvm")
    assert passes(x86, hw_architecture="amd64")  # Nova's canonical name
    assert passes(x86, img_hv_type="qemu")  # a KVM host runs QEMU guests too
    assert not passes(x86, hw_architecture="aarch64")
    assert not passes(x86, img_hv_type="xen")
    assert not passes(x86, hw_vm_mode="xen")
    assert passes(x86, hw_machine_type="q35")
    assert passes(x86, hw_machine_type="pc-i440fx-7.2")
    assert not passes(x86, hw_machine_type="virt")
    assert passes(silent, hw_architecture="aarch64", hw_machine_type="virt")  # reports nothing: kept


def test_aggregate_instance_extra_specs_filter():
    ssd = host("a", aggregates={"ssd": {"true"}, "availability_zone": {"az1"}})
    plain = host("b")
    v = view()

    def passes(h, **extra):
        return filters.aggregate_instance_extra_specs_filter(h, spec(flavor={"extra_specs": extra}), v)

    assert passes(plain) and passes(ssd)
    assert passes(ssd, **{"aggregate_instance_extra_specs:ssd": "true"})
    assert not passes(plain, **{"aggregate_instance_extra_specs:ssd": "true"})
    assert passes(ssd, ssd="<or> false <or> true")  # bare keys need the aggregate too (Nova)
    assert not passes(plain, ssd="true")
    assert not passes(ssd, ssd="false")
    assert passes(plain, **{"hw:cpu_policy": "dedicated", "capabilities:vcpus": ">= 1"})  # other scopes


def test_anti_affinity_honours_max_server_per_host():
    s = spec(group_id="g")
    one = view(groups={"g": group("g", "anti-affinity", {"a": 1})})
    assert not filters.server_group_anti_affinity_filter(host("a"), s, one)
    assert filters.server_group_anti_affinity_filter(host("b"), s, one)
    two = view(groups={"g": group("g", "anti-affinity", {"a": 1, "b": 2}, max_server_per_host=2)})
    assert filters.server_group_anti_affinity_filter(host("a"), s, two)
    assert not filters.server_group_anti_affinity_filter(host("b"), s, two)
    soft = view(groups={"g": group("g", "soft-anti-affinity", {"a": 5})})
    assert filters.server_group_anti_affinity_filter(host("a"), s, soft)  # soft: a weigher's job
    assert filters.server_group_anti_affinity_filter(host("a"), spec(), one)  # not in the group


def test_affinity_follows_the_first_member():
    s = spec(group_id="g")
    empty = view(groups={"g": group("g", "affinity")})
    assert filters.server_group_affinity_filter(host("a"), s, empty)  # the first member goes anywhere
    placed = view(groups={"g": group("g", "affinity", {"b": 1})})
    assert not filters.server_group_affinity_filter(host("a"), s, placed)
    assert filters.server_group_affinity_filter(host("b"), s, placed)


def test_ignore_hosts_filter():
    s = spec(ignore_hosts=["src"])
    assert not filters.ignore_hosts_filter(host("src"), s, view())
    assert filters.ignore_hosts_filter(host("dst"), s, view())


def test_unknown_filter_name_is_refused_with_the_known_ones():
    with pytest.raises(filters.UnknownFilter, match="RamFilter.*use some of ComputeFilter"):
        filters.enabled(("ComputeFilter", "RamFilter"))


@pytest.mark.parametrize(("value", "req", "expected"), [
    ("4", "= 2", True), ("1", "= 2", False), ("2", "== 2", True), ("3", "!= 2", True),
    ("2", ">= 3", False), ("2", "<= 3", True), ("abc", ">= 3", False),
    ("avx avx2", "<in> avx2", True), ("sse", "<in> avx", False),
    ("avx avx2 sse", "<all-in> avx sse", True), ("avx", "<all-in> avx sse", False),
    ("b", "<or> a <or> b", True), ("c", "<or> a <or> b", False),
    ("abc", "s== abc", True), ("abc", "s!= abc", False), ("b", "s> a", True), ("b", "s< a", False),
    ("plain", "plain", True), ("plain", "other", False), (None, ">= 1", False),
])
def test_extra_specs_operators(value, req, expected):
    assert extra_specs_ops.match(value, req) is expected


def test_filters_that_cannot_drop_a_host_for_the_request_are_not_run():
    names = ("ComputeFilter", "AvailabilityZoneFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
             "AggregateInstanceExtraSpecsFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
             "IgnoreHostsFilter")
    v = view(groups={"g": group("g", "anti-affinity")})
    assert [n for n, _ in filters.for_request(names, spec(), v)] == ["ComputeFilter"]
    full = spec(availability_zone="az1", flavor={"extra_specs": {"a": "b"}}, image_properties={"hw_vm_mode": "hvm"},
                group_id="g", ignore_hosts=["x"])
    assert [n for n, _ in filters.for_request(names, full, v)] == [n for n in names if n != "ServerGroupAffinityFilter"]


def test_settings_refuse_a_filter_the_scheduler_does_not_have():
    from pydantic import ValidationError

    from stratus.config import Settings

    with pytest.raises(ValidationError, match="scheduler_enabled_filters names RamFilter, which the scheduler"):
        Settings(scheduler_enabled_filters=["ComputeFilter", "RamFilter"])
    assert Settings(scheduler_enabled_filters=["ComputeFilter"]).scheduler_enabled_filters == ["ComputeFilter"]
