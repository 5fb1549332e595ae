"""common.image_format on images made by the real qemu-img (and genisoimage)."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.image_format import (
    UnsafeImage,
    check_safe,
    inspect,
)

MIB = 1024 * 1024


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


@pytest.fixture
def make(tmp_path):
    def _make(name: str, fmt: str, *opts: str, size: str = "64M"):
        path = tmp_path / name
        qemu_img("create", "-q", "-f", fmt, *opts, str(path), size)
        return path

    return _make


def test_plain_qcow2_and_raw_are_safe(make):
    q = inspect(make("good.qcow2", "qcow2"))
    assert (q.format, q.virtual_size, q.backing_file, q.data_file, q.safe) == ("qcow2", 64 * MIB, "", "", True)
    r = inspect(make("good.raw", "raw", size="1M"))
    assert (r.format, r.virtual_size, r.safe) == ("raw", MIB, True)
    assert check_safe(q, "qcow2") is q and check_safe(r, "raw") is r
    assert q.qemu_format == "qcow2" and r.qemu_format == "raw"


def test_qcow2_with_backing_file_is_refused(make):
    facts = inspect(make("bad.qcow2", "qcow2", "-b", "/etc/shadow", "-F", "raw"))
    assert facts.format == "qcow2" and facts.backing_file == "/etc/shadow" and not facts.safe
    with pytest.raises(UnsafeImage, match=r"backing file \(/etc/shadow\)"):
        check_safe(facts, "qcow2", what="image x")


def test_qcow2_with_data_file_is_refused(make, tmp_path):
    data = tmp_path / "data.raw"
    facts = inspect(make("df.qcow2", "qcow2", "-o", f"data_file={data}"))
    assert facts.data_file == str(data)
    with pytest.raises(UnsafeImage, match="external data file"):
        check_safe(facts, "qcow2")


def test_qcow2_data_file_bit_alone_is_refused(make):
    path = make("bit.qcow2", "qcow2")
    with open(path, "r+b") as f:  # incompatible feature bit 2 without the extension
        f.seek(72)
        (incompat,) = struct.unpack(">Q", f.read(8))
        f.seek(72)
        f.write(struct.pack(">Q", incompat | 4))
    assert "external data file" in " ".join(inspect(path).issues)


def test_unknown_incompatible_feature_and_encryption_are_refused(make):
    path = make("odd.qcow2", "qcow2")
    with open(path, "r+b") as f:
        f.seek(72)
        f.write(struct.pack(">Q", 1 << 40))
    assert "unknown incompatible" in " ".join(inspect(path).issues)
    enc = make("enc.qcow2", "qcow2")
    with open(enc, "r+b") as f:
        f.seek(32)
        f.write(struct.pack(">I", 1))
    assert "encrypted" in " ".join(inspect(enc).issues)


def test_declared_format_must_match(make):
    raw = inspect(make("r.img", "raw", size="1M"))
    with pytest.raises(UnsafeImage, match="declared qcow2 but its header is raw"):
        check_safe(raw, "qcow2")
    q = inspect(make("q.img", "qcow2"))
    with pytest.raises(UnsafeImage, match="declared raw but its header is qcow2"):
        check_safe(q, "raw")


@pytest.mark.parametrize(
    ("fmt", "opts", "name"),
    [
        ("vmdk", (), "vmdk"),
        ("vmdk", ("-o", "subformat=streamOptimized"), "vmdk"),
        ("vpc", (), "vhd"),
        ("vhdx", (), "vhdx"),
        ("vdi", (), "vdi"),
    ],
)
def test_other_formats_are_named_and_refused_unless_allowed(make, fmt, opts, name):
    facts = inspect(make(f"x.{fmt}", fmt, *opts))
    assert facts.format == name and facts.safe, facts
    with pytest.raises(UnsafeImage, match=f"is {name}, which this cloud does not accept"):
        check_safe(facts, name)
    assert check_safe(facts, name, allowed=("raw", "qcow2", name)) is facts


def test_vmdk_descriptor_naming_other_files_is_refused(make):
    facts = inspect(make("flat.vmdk", "vmdk", "-o", "subformat=monolithicFlat"))
    assert facts.format == "vmdk" and not facts.safe
    with pytest.raises(UnsafeImage, match="names other files"):
        check_safe(facts, "vmdk", allowed=("vmdk",))


@pytest.mark.skipif(not shutil.which("genisoimage"), reason="needs genisoimage")
def test_iso_is_named(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_text("hi")
    iso = tmp_path / "x.iso"
    subprocess.run(["genisoimage", "-quiet", "-o", str(iso), str(tmp_path / "d")], check=True)
    facts = inspect(iso)
    assert facts.format == "iso" and facts.qemu_format == "raw"


def test_polyglot_is_refused(make):
    path = make("poly.qcow2", "qcow2")
    with open(path, "r+b") as f:  # an ISO signature inside a qcow2
        f.seek(0x8001)
        f.write(b"CD001")
    facts = inspect(path)
    assert not facts.safe and "several formats" in facts.issues[0]
