"""``instance``'s ``root_volume`` (boot from volume) without libvirt: the root disk it
makes, what it refuses, and that a running guest's root disk is never swapped."""

from __future__ import annotations

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import Disk
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    Conflict,
    InvalidInput,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance import (
    InstanceFiles,
    InstanceSpec,
    build_guest,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance_driver import (
    _check_root,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import InstancePaths

UUID = "0d4a1c52-8b1e-4c3a-9f7e-5a2b1c0d9e8f"
VID = "5b0f6c2e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"


def spec(tmp_path, connection, serial=VID):
    return InstanceSpec.from_params(
        {"uuid": UUID, "vcpus": 1, "memory_mb": 128,
         "root_volume": {"serial": serial, "connection": connection}}, (str(tmp_path),))


def test_local_root_volume_is_vda_and_needs_no_image(tmp_path):
    vol = tmp_path / f"volume-{VID}"
    vol.write_bytes(b"\0" * 512)
    s = spec(tmp_path, {"driver_volume_type": "local", "path": str(vol), "format": "raw"})
    paths = InstancePaths.for_uuid(UUID, tmp_path / "instances")
    guest = build_guest(s, "qemu", paths)
    assert guest.disks[0] == Disk(target="vda", source=str(vol), format="raw", serial=VID)
    files = InstanceFiles(s, paths, tmp_path / "images", qemu_img=None)
    assert files.check_image() == {} and str(paths.disk) not in files.missing()
    assert files.root_grow(0) == 0


def test_nbd_root_volume_is_a_network_disk(tmp_path):
    s = spec(tmp_path, {"driver_volume_type": "nbd", "host": "198.18.0.2", "port": 10809, "name": "vol-x"})
    assert s.root_volume.source_type == "network" and s.root_volume.host == "198.18.0.2"


@pytest.mark.parametrize("connection, serial, words", [
    ({"driver_volume_type": "local", "path": "/etc/passwd", "format": "raw"}, VID, "not a volume of this host"),
    ({"driver_volume_type": "local", "path": "{dir}/../x", "format": "raw"}, VID, "not a volume of this host"),
    ({"driver_volume_type": "local", "path": "{dir}/v", "format": "vmdk"}, VID, "format"),
    ({"driver_volume_type": "local", "path": "{dir}/v", "format": "raw"}, "../x", "volume id"),
    ({"driver_volume_type": "nbd", "host": "storage.example", "port": 10809, "name": "v"}, VID, "host"),
    ({"driver_volume_type": "nbd", "host": "198.18.0.2", "port": 70000, "name": "v"}, VID, "port"),
    ({"driver_volume_type": "iscsi", "path": "{dir}/x"}, VID, "not local or nbd"),
])
def test_refusals(tmp_path, connection, serial, words):
    conn = {k: (v.format(dir=tmp_path) if isinstance(v, str) else v) for k, v in connection.items()}
    with pytest.raises(InvalidInput, match=words):
        spec(tmp_path, conn, serial)


def test_missing_local_volume_is_refused_before_anything_is_made(tmp_path):
    s = spec(tmp_path, {"driver_volume_type": "local", "path": str(tmp_path / "gone"), "format": "raw"})
    files = InstanceFiles(s, InstancePaths.for_uuid(UUID, tmp_path / "i"), tmp_path, qemu_img=None)
    with pytest.raises(InvalidInput, match="does not exist"):
        files.check_image()


def test_running_guest_root_disk_is_never_swapped(tmp_path):
    paths = InstancePaths.for_uuid(UUID, tmp_path)
    a = build_guest(spec(tmp_path, {"driver_volume_type": "nbd", "host": "198.18.0.2", "port": 1,
                                    "name": "a"}), "qemu", paths)
    b = build_guest(spec(tmp_path, {"driver_volume_type": "nbd", "host": "198.18.0.2", "port": 2,
                                    "name": "a"}), "qemu", paths)
    _check_root(a, a, "running")
    _check_root(a, b, "stopped")
    with pytest.raises(Conflict, match="stop it first"):
        _check_root(a, b, "running")


def test_without_image_or_root_volume_is_refused(tmp_path):
    s = InstanceSpec.from_params({"uuid": UUID, "vcpus": 1, "memory_mb": 128})
    files = InstanceFiles(s, InstancePaths.for_uuid(UUID, tmp_path), tmp_path, qemu_img=None)
    with pytest.raises(InvalidInput, match="root_volume"):
        files.check_image()
