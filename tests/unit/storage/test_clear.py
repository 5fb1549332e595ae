"""volume_clear: file volumes zeroed in place (their data extents), LVs zeroed with dd
before lvremove, at the argv level."""

from __future__ import annotations

import os

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.storage.clear import (
    VolumeClear,
    zero_data,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    InvalidRequest,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.lvm import LVM, LVMBackend
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import GiB, MiB
from tests.unit.storage.test_lvm import VG, lvs

MARK = b"TENANT-A-SECRET"


def sparse_with_marks(path, size=8 * MiB, at=(3 * MiB + 100, 7 * MiB)):
    with open(path, "wb") as fh:
        fh.truncate(size)
        for off in at:
            fh.seek(off)
            fh.write(MARK)


def test_zero_data_overwrites_every_data_extent_in_place(tmp_path):
    path = tmp_path / "volume-a"
    sparse_with_marks(path)
    inode = os.stat(path).st_ino
    with open(path, "rb") as view:  # a reader of the same inode sees what the blocks hold now
        written = zero_data(str(path), 8 * MiB)
        assert MARK not in view.read()
    assert 2 * len(MARK) <= written < 8 * MiB  # the data extents, not the holes
    assert os.stat(path).st_size == 8 * MiB and os.stat(path).st_ino == inode


def test_volume_clear_size_limits_the_clear(tmp_path):
    path = tmp_path / "volume-a"
    sparse_with_marks(path)
    VolumeClear("zero", 4).clear_file(str(path), run=None)
    data = path.read_bytes()
    assert data[3 * MiB + 100 : 3 * MiB + 100 + len(MARK)] == bytes(len(MARK))
    assert data[7 * MiB : 7 * MiB + len(MARK)] == MARK


def test_device_argv():
    assert VolumeClear().device_argv("/dev/vg0/volume-a", GiB) == [
        "dd", "if=/dev/zero", "of=/dev/vg0/volume-a", "bs=1M", f"count={GiB}", "iflag=count_bytes",
        "oflag=direct", "conv=fdatasync"]
    assert VolumeClear("zero", 100).device_argv("/dev/x", GiB)[4] == f"count={100 * MiB}"
    assert VolumeClear("shred").device_argv("/dev/x", GiB) == ["shred", "-n", "3", "-s", str(GiB), "/dev/x"]
    with pytest.raises(InvalidRequest, match="volume_clear 'wipe'"):
        VolumeClear("wipe")
    with pytest.raises(InvalidRequest, match="volume_clear_size"):
        VolumeClear("zero", -1)


def lvm_backend(run, activation, clear=None):
    return LVMBackend(LVM(run.checked(CommandFailed), activation),
                      QemuImg(run, error=CommandFailed, invalid=InvalidRequest), "vg0", clear=clear)


@pytest.fixture
def run(fake_run):
    fake_run.on(("vgs",), out=VG)
    fake_run.on(("lvs",), out=lvs(("volume-a", 2 * GiB, "", ""), ("_snapshot-s1", GiB, "", "volume-a")))
    return fake_run


def test_lvm_zeroes_the_lv_and_the_snapshot_cow_before_lvremove(run):
    actions = lvm_backend(run, True).delete_volume("a", cascade=True)
    writes = [c for c in run.calls if c[0] in ("dd", "lvremove")]
    assert writes == [
        ["dd", "if=/dev/zero", "of=/dev/mapper/vg0-_snapshot--s1-cow", "bs=1M", f"count={GiB}",
         "iflag=count_bytes", "oflag=direct", "conv=fdatasync"],
        ["lvremove", "-y", "vg0/_snapshot-s1"],
        ["dd", "if=/dev/zero", "of=/dev/vg0/volume-a", "bs=1M", f"count={2 * GiB}", "iflag=count_bytes",
         "oflag=direct", "conv=fdatasync"],
        ["lvremove", "-y", "vg0/volume-a"],
    ]
    assert actions[-2] == f"cleared {2 * GiB} bytes of /dev/vg0/volume-a (zero)"


def test_lvm_failed_clear_keeps_the_lv(run):
    run.on(("dd",), rc=1, err="dd: error writing")
    with pytest.raises(CommandFailed, match="dd"):
        lvm_backend(run, True).delete_snapshot("s1")
    assert not run.commands("lvremove")


def test_lvm_without_activation_or_with_none_removes_only(run):
    actions = lvm_backend(run, False).delete_volume("a", cascade=True)
    assert not run.commands("dd") and len(run.commands("lvremove")) == 2
    assert "activation is off" in actions[0]
    run.calls.clear()
    lvm_backend(run, True, VolumeClear("none")).delete_volume("a", cascade=True)
    assert not run.commands("dd") and len(run.commands("lvremove")) == 2
