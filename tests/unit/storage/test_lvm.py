"""LVM driver at the argv level: what is run, with activation on and off, and the errors."""

from __future__ import annotations

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    InUse,
    InvalidRequest,
    NoSpace,
    NotFound,
    Unsupported,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.lvm import LVM, LVMBackend
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import GiB, Source
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import (
    resolve_activation,
)

VG = {"report": [{"vg": [{"vg_name": "vg0", "vg_size": str(10 * GiB), "vg_free": str(4 * GiB),
                          "vg_extent_size": str(4 * 1024 * 1024), "lv_count": "2"}]}]}


def lvs(*rows):
    return {"report": [{"lv": [
        {"lv_name": n, "lv_size": str(s), "lv_path": f"/dev/vg0/{n}", "lv_tags": t, "origin": o, "lv_attr": "-wi-a-----"}
        for n, s, t, o in rows
    ]}]}


def backend(run, activation=True):
    return LVMBackend(LVM(run.checked(CommandFailed), activation),
                      QemuImg(run, error=CommandFailed, invalid=InvalidRequest), "vg0")


@pytest.fixture
def run(fake_run):
    fake_run.on(("vgs",), out=VG)
    fake_run.on(("lvs",), out=lvs(("volume-a", 2 * GiB, "", ""), ("_snapshot-s1", 2 * GiB, "", "volume-a")))
    return fake_run


def test_reports_use_json_with_byte_units(run):
    vol = backend(run).get_volume("a")
    assert vol.size == 2 * GiB and vol.snapshots == ("s1",) and vol.path == "/dev/vg0/volume-a"
    argv = run.commands("lvs")[0]
    assert argv[:7] == ["lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o"]
    assert argv[-1] == "vg0"


def test_activation_off_adds_driverloaded_and_inactive_unzeroed_create(run):
    run.on(("lvs",), out=lvs(("volume-b", GiB, "stratus.multiattach", "")))
    assert backend(run, activation=False).create_volume("b", GiB, multiattach=True).multiattach
    create = run.commands("lvcreate")[0]
    assert create[:3] == ["lvcreate", "--driverloaded", "n"]
    assert create[3:] == ["-y", "-n", "volume-b", "-L", f"{GiB}b", "--addtag", "stratus.multiattach", "-an", "-Zn", "vg0"]
    assert all(c[1:3] == ["--driverloaded", "n"] for c in run.calls)


def test_activation_on_creates_plainly_and_copies_an_image(run, tmp_path):
    image = tmp_path / "img.qcow2"
    image.touch()
    run.on(("qemu-img", "info"), out={"format": "qcow2", "virtual-size": GiB})
    run.on(("lvs",), out=lvs(("volume-c", 2 * GiB, "", "")))
    assert backend(run).create_volume("c", 2 * GiB, source=Source("image", str(image), "qcow2")).size == 2 * GiB
    assert run.commands("lvcreate")[0] == ["lvcreate", "-y", "-n", "volume-c", "-L", f"{2 * GiB}b", "vg0"]
    # the recorded format is given to qemu-img (-f), never probed from the bytes
    assert run.commands("qemu-img")[0] == ["qemu-img", "info", "--output=json", "-U", "-f", "qcow2", str(image)]
    assert run.commands("qemu-img")[-1] == [
        "qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", "-n", str(image), "/dev/vg0/volume-c"
    ]


def test_image_without_a_recorded_format_is_refused(run, tmp_path):
    image = tmp_path / "img"
    image.touch()
    with pytest.raises(InvalidRequest, match="no recorded format.*image_format"):
        backend(run).create_volume("c", GiB, source=Source("image", str(image)))
    assert not run.commands("qemu-img") and not run.commands("lvcreate")
    # the image cache's record beside the image is the recorded format
    (tmp_path / ".meta").mkdir()
    (tmp_path / ".meta" / "img.json").write_text('{"format": "raw"}')
    run.on(("qemu-img", "info"), out={"format": "raw", "virtual-size": GiB})
    run.on(("lvs",), out=lvs(("volume-c", GiB, "", "")))
    backend(run).create_volume("c", GiB, source=Source("image", str(image)))
    assert run.commands("qemu-img")[-1][3:6] == ["-f", "raw", "-O"]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc", "a/b", "x y", "a\nb", ""])
def test_ids_that_would_leave_the_vg_are_refused(run, bad):
    b = backend(run)
    with pytest.raises(InvalidRequest, match="volume id"):
        b.create_volume(bad, GiB)
    with pytest.raises(InvalidRequest, match="volume id"):
        b.delete_volume(bad)
    with pytest.raises(InvalidRequest, match="snapshot id"):
        b.delete_snapshot(bad)
    assert not run.commands("lvcreate") and not run.commands("lvremove")


def test_connection_paths_must_be_lvs_of_the_vg(run):
    b = backend(run)
    assert b.check_path("/dev/vg0/volume-a") == "/dev/vg0/volume-a"
    for bad in ("/dev/vg0/../sda", "/dev/vg1/volume-a", "/etc/shadow", "/dev/vg0/a/b", "/dev/vg0/"):
        with pytest.raises(InvalidRequest, match="vg0"):
            b.check_path(bad)


def test_failed_copy_removes_the_new_lv(run, tmp_path):
    image = tmp_path / "img"
    image.touch()
    run.on(("qemu-img", "info"), out={"format": "raw", "virtual-size": GiB})
    run.on(("qemu-img", "convert"), rc=1, err="boom")
    with pytest.raises(CommandFailed):
        backend(run).create_volume("d", GiB, source=Source("image", str(image), "raw"))
    assert run.commands("lvremove")[-1] == ["lvremove", "-y", "vg0/volume-d"]


def test_copies_and_snapshots_need_activation(run):
    with pytest.raises(Unsupported, match="device-mapper"):
        backend(run, activation=False).create_volume("e", GiB, source=Source("volume", "a"))
    with pytest.raises(Unsupported, match="device-mapper"):
        backend(run, activation=False).create_snapshot("s2", "a")
    assert not run.commands("lvcreate")


def test_snapshot_is_a_cow_lv_of_the_origins_size(run):
    backend(run).create_snapshot("s1", "a")
    assert run.commands("lvcreate")[0] == ["lvcreate", "-y", "-s", "-n", "_snapshot-s1", "-L", f"{2 * GiB}b", "vg0/volume-a"]


def test_full_vg_is_no_space_before_any_lvcreate(run):
    with pytest.raises(NoSpace, match="vg0"):
        backend(run).create_volume("f", 5 * GiB)
    assert not run.commands("lvcreate")


def test_unknown_vg_is_not_found(fake_run):
    fake_run.on(("vgs",), rc=5, err='  Volume group "vg0" not found')
    fake_run.on(("lvs",), rc=5, err='  Volume group "vg0" not found')
    with pytest.raises(NotFound, match="'vg0' does not exist"):
        backend(fake_run).get_volume("a")


def test_extend_grows_and_refuses_to_shrink(run):
    b = backend(run)
    with pytest.raises(InvalidRequest, match="cannot shrink"):
        b.extend_volume("a", GiB)
    b.extend_volume("a", 3 * GiB)
    assert run.commands("lvextend")[0] == ["lvextend", "-L", f"{3 * GiB}b", "vg0/volume-a"]


def test_delete_with_snapshots_needs_cascade(run):
    with pytest.raises(InUse, match="s1"):
        backend(run).delete_volume("a")
    backend(run).delete_volume("a", cascade=True)
    assert run.commands("lvremove") == [["lvremove", "-y", "vg0/_snapshot-s1"], ["lvremove", "-y", "vg0/volume-a"]]


@pytest.mark.parametrize(("setting", "dm_ok", "want"), [("on", False, True), ("off", True, False)])
def test_activation_setting_forces(fake_run, setting, dm_ok, want):
    assert resolve_activation(setting, fake_run.checked(CommandFailed)) is want
    assert not fake_run.calls


def test_auto_probes_dmsetup(fake_run, tmp_path, monkeypatch):
    from ansible_collections.stratus.cloud.plugins.module_utils.storage import runner

    control = tmp_path / "control"
    control.touch()
    fake_run.on(("dmsetup",), rc=1, err="Failure to communicate with kernel device-mapper driver.")
    assert runner.device_mapper_available(fake_run.checked(CommandFailed), str(control)) is False
    fake_run.on(("dmsetup",), out="Driver version: 4.48.0")
    assert runner.device_mapper_available(fake_run.checked(CommandFailed), str(control)) is True
    assert runner.device_mapper_available(fake_run.checked(CommandFailed), str(tmp_path / "missing")) is False
