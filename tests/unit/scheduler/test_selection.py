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
    v = view(host("a", disabled=True), host("b", capacity={"vcpus": 1, "memory_mb": 512}), host("c"))
    with pytest.raises(selection.NoHostFits) as err:
        selection.select(RequestSpec("i-9", availability_zone="az1"), NEED, v)
    assert str(err.value) == "No valid host was found. There are not enough hosts available."
    assert err.value.detail == ("instance i-9: 3 candidate host(s) for vcpus=2, memory_mb=2048: capacity returned "
                                "2 host(s), ComputeFilter returned 1 host(s), AvailabilityZoneFilter returned "
                                "0 host(s)")


def test_forced_hosts_skip_filters_but_not_capacity():
    v = view(host("a", disabled=True, zone="az9"), host("b"), host("small", capacity={"vcpus": 1}))
    assert selection.select(RequestSpec("i", force_hosts=["a"], availability_zone="az1"), NEED, v) == "a"
    with pytest.raises(selection.NoHostFits, match="No valid host") as err:
        selection.select(RequestSpec("i", force_hosts=["small"]), NEED, v)
    assert "capacity returned 0" in err.value.detail
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
