"""Weighers: Nova's normalisation, spread and pack, aggregate multipliers, soft
(anti-)affinity."""

from __future__ import annotations

import pytest

from stratus.scheduler import weighers
from stratus.scheduler.spec import RequestSpec

from .fakes import group, host, view

pytestmark = pytest.mark.compute
S = RequestSpec(instance_uuid="i-1")


def order(v, s=S):
    return [h.name for _, h in weighers.weigh(list(v.hosts.values()), s, v)]


def test_normalize_as_nova():
    assert weighers.normalize([2, 4, 6]) == [0.0, 0.5, 1.0]
    assert weighers.normalize([3, 3]) == [0.0, 0.0]
    assert weighers.normalize([]) == []


def test_positive_multipliers_spread_and_negative_ones_pack():
    busy = host("busy", used={"memory_mb": 8192, "vcpus": 4, "disk_gb": 50})
    idle = host("idle")
    assert order(view(busy, idle)) == ["idle", "busy"]
    packed = view(busy, idle, ram_weight_multiplier=-1.0, cpu_weight_multiplier=-1.0,
                  disk_weight_multiplier=-1.0)
    assert order(packed) == ["busy", "idle"]


def test_weights_are_normalised_per_weigher_before_multiplying():
    # a: most free RAM by a little; b: most free CPU by a lot. Normalised, each weigher
    # counts 0..1 whatever its unit: with RAM x2 a wins, with CPU x2 b wins.
    a = host("a", used={"vcpus": 6, "memory_mb": 0})
    b = host("b", used={"vcpus": 0, "memory_mb": 1})
    assert order(view(a, b, ram_weight_multiplier=2.0, disk_weight_multiplier=0.0)) == ["a", "b"]
    assert order(view(a, b, cpu_weight_multiplier=2.0, disk_weight_multiplier=0.0)) == ["b", "a"]
    weights = dict((h.name, w) for w, h in weighers.weigh([a, b], S, view(a, b, disk_weight_multiplier=0.0)))
    assert weights == {"a": 1.0, "b": 1.0}  # 1 x 1.0 + 1 x 0.0 each


def test_cpu_weigher_counts_the_allocation_ratio():
    a = host("a", capacity={"vcpus": 4, "memory_mb": 1000, "disk_gb": 10}, ratios={"vcpus": 16.0})
    b = host("b", capacity={"vcpus": 8, "memory_mb": 1000, "disk_gb": 10})
    assert order(view(a, b)) == ["a", "b"]  # 64 schedulable vCPUs beat 8


def test_an_aggregate_multiplier_overrides_the_setting_for_its_hosts():
    busy = host("busy", used={"memory_mb": 8192}, aggregates={"ram_weight_multiplier": {"-5", "-1"}})
    idle = host("idle")
    assert busy.multiplier("ram_weight_multiplier", 1.0) == -5.0  # the lowest, as Nova
    assert order(view(busy, idle, cpu_weight_multiplier=0.0, disk_weight_multiplier=0.0)) == ["idle", "busy"]
    packer = host("busy", used={"memory_mb": 8192}, aggregates={"ram_weight_multiplier": {"-1"}})
    idle_packer = host("idle", aggregates={"ram_weight_multiplier": {"-1"}})
    assert order(view(packer, idle_packer, cpu_weight_multiplier=0.0, disk_weight_multiplier=0.0)) == ["busy", "idle"]


def test_soft_affinity_and_soft_anti_affinity():
    s = RequestSpec(instance_uuid="i-1", group_id="g")
    a, b = host("a"), host("b", used={"memory_mb": 1})  # b slightly busier: RAM says a (1.0)
    together = view(a, b, groups={"g": group("g", "soft-affinity", {"b": 2})})
    assert order(together, s) == ["a", "b"]  # 1.0 each at multiplier 1: the name decides
    together = view(a, b, groups={"g": group("g", "soft-affinity", {"b": 2})}, soft_affinity_weight_multiplier=2.0)
    assert order(together, s) == ["b", "a"]
    apart = view(host("a", used={"memory_mb": 1}), host("b"), groups={"g": group("g", "soft-anti-affinity", {"b": 2})},
                 soft_anti_affinity_weight_multiplier=2.0)
    assert order(apart, s) == ["a", "b"]
    off = view(a, b, groups={"g": group("g", "soft-affinity", {"b": 2})}, soft_affinity_weight_multiplier=0.0)
    assert order(off, s) == ["a", "b"]


def test_ties_go_by_host_name():
    assert order(view(host("c"), host("a"), host("b"))) == ["a", "b", "c"]
