"""select(): filters in order, forced hosts, the NoValidHost words and detail."""

from __future__ import annotations

import pytest

from stratus.scheduler import selection
from stratus.scheduler.spec import RequestSpec

from .fakes import group, host, view

pytestmark = pytest.mark.compute
NEED = {"vcpus": 2, "memory_mb": 2048}


def test_picks_the_weightiest_host_that_passes_every_filter():
    v = view(host("a", disabled=True), host("b", zone="az1", used={"memory_mb": 4096}), host("c", zone="az1"),
             host("d"))
    assert selection.select(RequestSpec("i", availability_zone="az1"), NEED, v) == "c"
    assert selection.select(RequestSpec("i"), NEED, v) == "c"  # c and d idle; name breaks the tie


def test_no_valid_host_in_novas_words_with_per_filter_detail():
    v = view(host("a", disabled=True, zone="az1"), host("b", capacity={"vcpus": 1, "memory_mb": 512}, zone="az1"),
             host("c"))
    with pytest.raises(selection.NoHostFits) as err:
        selection.select(RequestSpec("i-9", availability_zone="az1"), NEED, v)
    assert str(err.value) == "No valid host was found. There are not enough hosts available."
    assert err.value.detail == ("instance i-9: 3 candidate host(s) for vcpus=2, memory_mb=2048: capacity removed 1, "
                                "ComputeFilter removed 1, AvailabilityZoneFilter removed 1")


def test_forced_hosts_skip_filters_but_not_capacity():
    v = view(host("a", disabled=True, zone="az9"), host("b"), host("small", capacity={"vcpus": 1}))
    assert selection.select(RequestSpec("i", force_hosts=["a"], availability_zone="az1"), NEED, v) == "a"
    with pytest.raises(selection.NoHostFits, match="No valid host") as err:
        selection.select(RequestSpec("i", force_hosts=["small"]), NEED, v)
    assert err.value.detail == "instance i: forced host(s) small: capacity removed 1 for vcpus=2, memory_mb=2048"
    with pytest.raises(selection.NoHostFits) as err:
        selection.select(RequestSpec("i", force_hosts=["nowhere"]), NEED, v)
    assert "forced host(s) nowhere are not enabled compute hosts" in err.value.detail


def test_only_the_enabled_filters_run():
    v = view(host("off", disabled=True), filters=("AvailabilityZoneFilter",))
    assert selection.select(RequestSpec("i"), NEED, v) == "off"


def test_consume_moves_the_next_member_of_an_anti_affinity_group():
    v = view(host("a"), host("b"), groups={"g": group("g", "anti-affinity")})
    s = RequestSpec("i", group_id="g")
    first = selection.select(s, NEED, v)
    v.consume(first, NEED, "g")
    second = selection.select(s, NEED, v)
    v.consume(second, NEED, "g")
    assert {first, second} == {"a", "b"}
    with pytest.raises(selection.NoHostFits, match="No valid host"):
        selection.select(s, NEED, v)


def test_hosts_with_allocations_and_the_roomiest_fresh_ones_are_candidates():
    """As Nova's placement answers at most max_placement_results candidates: every host
    holding allocations is looked at, and fresh hosts only until that many passed."""
    busy = host("busy", used={"vcpus": 1})
    fresh = [host(f"f{i}") for i in range(5)]
    v = view(busy, *fresh, max_fresh=2, ram_weight_multiplier=-1.0, cpu_weight_multiplier=-1.0,
             disk_weight_multiplier=-1.0)
    assert [(h.name, is_fresh) for h, is_fresh in v.scan(("vcpus",))][:3] == [("busy", False), ("f0", True),
                                                                               ("f1", True)]
    assert selection.select(RequestSpec("i"), NEED, v) == "busy"  # packing finds the used host
    passed, removed, seen = selection._filtered(RequestSpec("i"), NEED, v)
    assert [h.name for h in passed] == ["busy", "f0", "f1"] and seen == 3
    off = view(*[host(f"d{i}", disabled=True) for i in range(3)], host("late"), max_fresh=1)
    assert selection.select(RequestSpec("i"), NEED, off) == "late"  # refused ones do not count


def test_hosts_of_other_zones_are_dropped_by_name_before_anything_else():
    made = []
    v = view(host("a", zone="az1"), host("b"))
    v.zone_of = {"a": "az1", "b": "nova"}.get
    real = v.hosts
    v.hosts, v.make, v.order = {}, lambda name: made.append(name) or real.get(name), lambda keys: ["b", "a"]
    assert selection.select(RequestSpec("i", availability_zone="az1"), NEED, v) == "a"
    assert made == ["a"]  # b's state was never made
