"""The swift_ring driver on Swift's own RingBuilder: a ring of exactly the wanted devices,
rebalanced only when placement changes, written atomically, and nothing written in
check mode. The rings are read back with swift.common.ring.Ring, as the servers do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.object_store.ring import (
    InvalidRing,
    RingError,
    ensure_ring,
    parse_spec,
)

pytestmark = [pytest.mark.object_storage]


def dev(n: int, zone: int | None = None, weight: float = 100, **extra) -> dict:
    return {"region": 1, "zone": zone or n, "ip": "127.0.0.1", "port": 6200, "device": f"d{n}",
            "weight": weight, **extra}


def spec(builder_dir: Path, devices: list[dict], *, ring: str = "object", part_power: int = 6,
         replicas: float = 3, min_part_hours: int = 1):
    return parse_spec(ring=ring, builder_dir=str(builder_dir), part_power=part_power,
                      replicas=replicas, min_part_hours=min_part_hours, devices=devices)


@pytest.fixture
def swift_hash(monkeypatch):
    """Ring() insists on swift.conf's hash path settings; these stand in for /etc/swift/swift.conf."""
    from swift.common import utils

    monkeypatch.setattr(utils, "HASH_PATH_SUFFIX", b"stratus-test")
    monkeypatch.setattr(utils, "HASH_PATH_PREFIX", b"")


def read_ring(builder_dir: Path, name: str = "object"):
    from swift.common.ring import Ring

    return Ring(str(builder_dir), ring_name=name)


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_new_ring_is_built_rebalanced_and_readable_by_swift(tmp_path, swift_hash):
    d = tmp_path / "swift"
    result = ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    assert result.outcome.changed
    facts = result.facts
    assert facts["rebalanced"] and facts["balance"] == 0
    assert facts["ring_file"] == str(d / "object.ring.gz")
    assert facts["builder_file"] == str(d / "object.builder")
    assert [(x["id"], x["device"], x["zone"], x["parts"]) for x in facts["devices"]] == [
        (0, "d1", 1, 64), (1, "d2", 2, 64), (2, "d3", 3, 64)]
    assert result.outcome.before == {}
    assert result.outcome.after["devices"] == [
        "d0 r1z1-127.0.0.1:6200/d1 weight 100",
        "d1 r1z2-127.0.0.1:6200/d2 weight 100",
        "d2 r1z3-127.0.0.1:6200/d3 weight 100",
    ]
    ring = read_ring(d)
    assert ring.replica_count == 3 and ring.partition_count == 64
    assert sorted(x["device"] for x in ring.devs) == ["d1", "d2", "d3"]
    # three replicas of each partition on three distinct zones
    assert {n["zone"] for n in ring.get_part_nodes(17)} == {1, 2, 3}
    assert list((d / "backups").glob("*.object.builder"))


def test_second_run_changes_nothing_and_writes_nothing(tmp_path):
    d = tmp_path / "swift"
    wanted = spec(d, [dev(1), dev(2), dev(3)])
    ensure_ring(wanted)
    files = snapshot(d)
    again = ensure_ring(wanted)
    assert not again.outcome.changed and again.outcome.actions == []
    assert not again.facts["rebalanced"]
    assert again.outcome.before == again.outcome.after
    assert snapshot(d) == files


def test_check_mode_reports_the_real_result_and_writes_nothing(tmp_path):
    d = tmp_path / "swift"
    planned = ensure_ring(spec(d, [dev(1), dev(2), dev(3)]), check=True)
    assert planned.outcome.changed and planned.facts["rebalanced"]
    assert not d.exists()
    done = ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    assert planned.outcome.actions == done.outcome.actions
    assert planned.outcome.after == done.outcome.after
    files = snapshot(d)
    # a change in check mode: computed, reported, not written
    weighed = ensure_ring(spec(d, [dev(1), dev(2), dev(3, weight=50)]), check=True)
    assert weighed.outcome.changed and weighed.facts["rebalanced"]
    assert "d2 r1z3-127.0.0.1:6200/d3 weight 50" in weighed.outcome.after["devices"]
    assert snapshot(d) == files


def test_missing_or_foreign_ring_file_is_rewritten_from_the_builder_without_rebalance(tmp_path, swift_hash):
    d = tmp_path / "swift"
    wanted = spec(d, [dev(1), dev(2), dev(3)])
    ensure_ring(wanted)
    ring_bytes = (d / "object.ring.gz").read_bytes()
    builder_bytes = (d / "object.builder").read_bytes()
    (d / "object.ring.gz").unlink()
    result = ensure_ring(wanted)
    assert result.outcome.changed and not result.facts["rebalanced"]
    assert result.outcome.actions == [f"write {d / 'object.ring.gz'}"]
    assert (d / "object.ring.gz").read_bytes() == ring_bytes
    assert (d / "object.builder").read_bytes() == builder_bytes
    (d / "object.ring.gz").write_bytes(b"not a ring")
    assert ensure_ring(wanted).outcome.changed
    assert (d / "object.ring.gz").read_bytes() == ring_bytes
    assert not ensure_ring(wanted).outcome.changed


def test_removing_a_device_moves_its_partitions_and_the_diff_shows_it(tmp_path, swift_hash):
    d = tmp_path / "swift"
    ensure_ring(spec(d, [dev(1), dev(2), dev(3), dev(4)]))
    result = ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    assert result.outcome.changed and result.facts["rebalanced"]
    assert "remove d3 127.0.0.1:6200/d4" in result.outcome.actions
    assert "d3 r1z4-127.0.0.1:6200/d4 weight 100" in result.outcome.before["devices"]
    assert len(result.outcome.after["devices"]) == 3
    assert [x["device"] for x in result.facts["devices"]] == ["d1", "d2", "d3"]
    ring = read_ring(d)
    assert sorted(x["device"] for x in ring.devs if x) == ["d1", "d2", "d3"]
    assert all(len(ring.get_part_nodes(p)) == 3 for p in range(ring.partition_count))
    assert not ensure_ring(spec(d, [dev(1), dev(2), dev(3)])).outcome.changed


def test_weight_zone_and_region_changes_rebalance(tmp_path):
    d = tmp_path / "swift"
    ensure_ring(spec(d, [dev(1), dev(2), dev(3), dev(4, zone=3)], min_part_hours=0))
    result = ensure_ring(spec(d, [dev(1), dev(2), dev(3, weight=200), dev(4, zone=4, region=2)],
                              min_part_hours=0))
    assert result.facts["rebalanced"]
    assert result.outcome.actions[:3] == [
        "set d2 127.0.0.1:6200/d3 weight 100 -> 200",
        "set d3 127.0.0.1:6200/d4 region 1 -> 2",
        "set d3 127.0.0.1:6200/d4 zone 3 -> 4",
    ]
    assert "d3 r2z4-127.0.0.1:6200/d4 weight 100" in result.outcome.after["devices"]
    by_name = {x["device"]: x for x in result.facts["devices"]}
    assert by_name["d3"]["weight"] == 200 and by_name["d4"]["region"] == 2


def test_replicas_change_reshapes_the_ring(tmp_path, swift_hash):
    d = tmp_path / "swift"
    ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    result = ensure_ring(spec(d, [dev(1), dev(2), dev(3)], replicas=2))
    assert result.facts["rebalanced"] and result.facts["replicas"] == 2
    assert "set replicas 3 -> 2" in result.outcome.actions
    assert read_ring(d).replica_count == 2


def test_replication_address_and_meta_rewrite_the_ring_without_moving_partitions(tmp_path, swift_hash):
    d = tmp_path / "swift"
    ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    before = [read_ring(d).get_part_nodes(p)[0]["id"] for p in range(64)]
    result = ensure_ring(spec(d, [dev(1, replication_ip="10.0.0.1", replication_port=6300, meta="rack 4"),
                                  dev(2), dev(3)]))
    assert result.outcome.changed and not result.facts["rebalanced"]
    assert result.outcome.after["devices"][0] == (
        "d0 r1z1-127.0.0.1:6200/d1 weight 100 replication 10.0.0.1:6300 meta 'rack 4'")
    ring = read_ring(d)
    assert [ring.get_part_nodes(p)[0]["id"] for p in range(64)] == before
    assert ring.devs[0]["replication_ip"] == "10.0.0.1" and ring.devs[0]["meta"] == "rack 4"


def test_min_part_hours_change_keeps_the_ring_file(tmp_path):
    d = tmp_path / "swift"
    ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    ring_bytes = (d / "object.ring.gz").read_bytes()
    result = ensure_ring(spec(d, [dev(1), dev(2), dev(3)], min_part_hours=24))
    assert result.outcome.actions == ["set min_part_hours 1 -> 24"]
    assert result.facts["min_part_hours"] == 24 and not result.facts["rebalanced"]
    assert (d / "object.ring.gz").read_bytes() == ring_bytes


def test_an_unfinished_rebalance_is_finished_once_min_part_hours_passed(tmp_path):
    from swift.common.ring import RingBuilder

    d = tmp_path / "swift"
    ensure_ring(spec(d, [dev(1), dev(2), dev(3)], replicas=1))
    grown = spec(d, [dev(1), dev(2), dev(3), dev(4)], replicas=1)
    first = ensure_ring(grown)
    # partitions placed a moment ago may not move yet: d4 gets little or nothing
    assert first.facts["rebalanced"] and first.facts["balance"] > 5
    assert "cannot move again yet; push this ring, then run the task again in" in first.warnings[0]
    assert not ensure_ring(grown).outcome.changed
    builder = RingBuilder.load(str(d / "object.builder"))
    builder.pretend_min_part_hours_passed()
    builder.save(str(d / "object.builder"))
    later = ensure_ring(grown)
    assert later.outcome.changed and later.facts["rebalanced"]
    assert later.facts["balance"] < first.facts["balance"]
    assert not ensure_ring(grown).outcome.changed


def test_policy_rings_and_account_rings_live_side_by_side(tmp_path):
    d = tmp_path / "swift"
    for name in ("account", "container", "object", "object-1"):
        ensure_ring(spec(d, [dev(1), dev(2), dev(3)], ring=name))
    assert sorted(p.name for p in d.glob("*.ring.gz")) == [
        "account.ring.gz", "container.ring.gz", "object-1.ring.gz", "object.ring.gz"]


@pytest.mark.parametrize(
    ("devices", "kwargs", "message"),
    [
        ([dev(1), dev(2), dev(1, zone=3)], {}, "devices[0] and devices[2] are both 127.0.0.1:6200/d1"),
        ([dev(1), dev(2), dev(3, zone=-1)], {}, "devices[2].zone -1 is out of range"),
        ([dev(1), dev(2), dev(3, weight=-5)], {}, "devices[2].weight -5 is out of range"),
        ([dev(1), dev(2), dev(3, port=70000)], {}, "devices[2].port 70000 is out of range"),
        ([dev(1), dev(2), dev(3, ip="not an address")], {}, "devices[2].ip 'not an address' is not"),
        ([dev(1), dev(2), {**dev(3), "device": "../etc"}], {}, "devices[2].device"),
        ([dev(1), dev(2), {**dev(3), "meta": "a\nb"}], {}, "devices[2].meta"),
        ([dev(1), {"ip": "127.0.0.1", "device": "d2"}], {}, "devices[1] lacks zone, port, weight"),
        ([dev(1), dev(2)], {}, "3 replicas need at least 3 devices with a weight above 0, and 2"),
        ([dev(1), dev(2), dev(3, weight=0)], {}, "and 2 are given"),
        ([dev(1)], {"replicas": 0}, "replicas 0 is out of range"),
        ([dev(1)], {"ring": "objects", "replicas": 1}, "ring 'objects' is not a Swift ring name"),
        ([dev(1)], {"ring": "object-0", "replicas": 1}, "is not a Swift ring name"),
        ([dev(1)], {"part_power": 33, "replicas": 1}, "part_power 33 is out of range"),
    ],
)
def test_bad_input_is_refused_with_what_to_fix(tmp_path, devices, kwargs, message):
    with pytest.raises(InvalidRing) as err:
        spec(tmp_path, devices, **kwargs)
    assert message in str(err.value)


def test_relative_builder_dir_is_refused():
    with pytest.raises(InvalidRing, match="must be an absolute path"):
        parse_spec(ring="object", builder_dir="swift", part_power=6, replicas=1, min_part_hours=1,
                   devices=[dev(1)])


def test_part_power_of_an_existing_builder_is_fixed(tmp_path):
    d = tmp_path / "swift"
    ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    with pytest.raises(RingError, match="has part_power 6, not 8; a ring's partition power is fixed"):
        ensure_ring(spec(d, [dev(1), dev(2), dev(3)], part_power=8))


def test_a_builder_that_is_not_one_is_refused_and_kept(tmp_path):
    d = tmp_path / "swift"
    d.mkdir()
    (d / "object.builder").write_bytes(b"garbage")
    with pytest.raises(RingError, match="cannot read the ring builder .*object.builder"):
        ensure_ring(spec(d, [dev(1), dev(2), dev(3)]))
    assert (d / "object.builder").read_bytes() == b"garbage"


def test_addresses_are_normalised_as_swift_stores_them(tmp_path):
    result = ensure_ring(spec(tmp_path / "swift", [dev(1, ip="FE80::1"), dev(2), dev(3)]), check=True)
    assert result.facts["devices"][0]["ip"] == "fe80::1"
    assert os.listdir(tmp_path) == []
