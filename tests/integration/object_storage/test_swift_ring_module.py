"""stratus.cloud.swift_ring through Ansible, as the role runs it: with the Swift venv's
python as the task's interpreter, into a scratch swift_dir. The ring it writes is read
back with swift.common.ring.Ring, as the proxy and the servers read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.ansible import VENV_BIN, run_module

pytestmark = [pytest.mark.object_storage, pytest.mark.slow]

SWIFT_PYTHON = {"ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python")}


def devices(*names: str, weight: float = 100) -> list[dict]:
    return [{"region": 1, "zone": i + 1, "ip": "127.0.0.1", "port": 6200, "device": name, "weight": weight}
            for i, name in enumerate(names)]


def ring_args(builder_dir: Path, devs: list[dict], **extra) -> dict:
    return {"ring": "object", "builder_dir": str(builder_dir), "part_power": 8, "replicas": 3,
            "min_part_hours": 1, "devices": devs, **extra}


def swift_ring(args: dict, **kwargs):
    return run_module("swift_ring", args, env=SWIFT_PYTHON, **kwargs)


@pytest.fixture
def swift_hash(monkeypatch):
    """Ring() insists on swift.conf's hash path settings; these stand in for /etc/swift/swift.conf."""
    from swift.common import utils

    monkeypatch.setattr(utils, "HASH_PATH_SUFFIX", b"stratus-test")
    monkeypatch.setattr(utils, "HASH_PATH_PREFIX", b"")


def test_ring_is_built_once_then_left_alone_and_changes_show_in_the_diff(tmp_path, swift_hash):
    from swift.common.ring import Ring

    swift_dir = tmp_path / "swift"
    args = ring_args(swift_dir, devices("d1", "d2", "d3"))

    planned = swift_ring(args, check=True)
    assert planned.changed and planned["rebalanced"], planned.msg
    assert not swift_dir.exists(), "check mode wrote files"

    built = swift_ring(args)
    assert built.changed and built["rebalanced"], built.msg
    assert built["ring_file"] == str(swift_dir / "object.ring.gz")
    assert [(d["id"], d["device"], d["parts"]) for d in built["devices"]] == [
        (0, "d1", 256), (1, "d2", 256), (2, "d3", 256)]
    assert built["diff"] == planned["diff"]
    ring = Ring(str(swift_dir), ring_name="object")
    assert ring.replica_count == 3 and ring.partition_count == 256
    assert sorted((d["device"], d["zone"], d["port"]) for d in ring.devs) == [
        ("d1", 1, 6200), ("d2", 2, 6200), ("d3", 3, 6200)]

    files = {p.name: p.stat().st_mtime_ns for p in swift_dir.iterdir() if p.is_file()}
    again = swift_ring(args)
    assert not again.changed and not again["rebalanced"], again["actions"]
    assert {p.name: p.stat().st_mtime_ns for p in swift_dir.iterdir() if p.is_file()} == files

    # d3 leaves, d4 joins, d2 gets half the weight: each shows as a line of the diff
    changed_devs = devices("d1", "d2", "d4")
    changed_devs[1]["weight"] = 50
    changed = ring_args(swift_dir, changed_devs)
    preview = swift_ring(changed, check=True)
    assert preview.changed
    assert {p.name: p.stat().st_mtime_ns for p in swift_dir.iterdir() if p.is_file()} == files
    moved = swift_ring(changed)
    assert moved.changed and moved["rebalanced"]
    before, after = moved["diff"]["before"]["devices"], moved["diff"]["after"]["devices"]
    assert "d2 r1z3-127.0.0.1:6200/d3 weight 100" in before
    assert "d2 r1z3-127.0.0.1:6200/d3 weight 100" not in after
    assert "d1 r1z2-127.0.0.1:6200/d2 weight 50" in after
    assert any(line.endswith("-127.0.0.1:6200/d4 weight 100") for line in after)
    ring = Ring(str(swift_dir), ring_name="object")
    assert sorted(d["device"] for d in ring.devs if d) == ["d1", "d2", "d4"]
    assert not swift_ring(changed).changed


def test_refusals_name_the_problem(tmp_path):
    dup = swift_ring(ring_args(tmp_path, devices("d1", "d2", "d1")))
    assert dup.failed and "devices[0] and devices[2] are both 127.0.0.1:6200/d1" in dup.msg
    without_swift = run_module("swift_ring", ring_args(tmp_path, devices("d1", "d2", "d3")),
                               env={"ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3"})
    assert without_swift.failed and "ansible_python_interpreter" in without_swift.msg
    assert list(tmp_path.iterdir()) == []
