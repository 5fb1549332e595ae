"""The config drive driver: Nova's layout, network_data.json, real ISOs read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute import config_drive as cd
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    CommandFailed,
    InvalidInput,
)

UUID = "4b3e0a4c-6f4d-4a8e-9a51-8f1c2f0b7a10"
MD = cd.meta_data(UUID, "Web 1", public_keys={"k1": "ssh-ed25519 AAAA test@x"})

needs_iso_tools = pytest.mark.skipif(
    not (shutil.which("genisoimage") and shutil.which("isoinfo")), reason="genisoimage/isoinfo missing"
)


def test_meta_data_is_novas_shape():
    assert MD["uuid"] == UUID
    assert MD["hostname"] == "web-1"
    assert MD["public_keys"] == {"k1": "ssh-ed25519 AAAA test@x"}
    assert MD["keys"] == [{"name": "k1", "type": "ssh", "data": "ssh-ed25519 AAAA test@x"}]


def test_drive_files_follow_novas_versions():
    files = cd.drive_files(MD, "#!/bin/sh\necho hi\n", {"links": []}, {"a": 1})
    assert json.loads(files["openstack/latest/meta_data.json"])["uuid"] == UUID
    assert files["openstack/latest/user_data"] == b"#!/bin/sh\necho hi\n"
    assert json.loads(files["openstack/latest/vendor_data.json"]) == {"a": 1}
    assert "openstack/2012-08-10/meta_data.json" in files
    assert "openstack/2012-08-10/network_data.json" not in files
    assert "openstack/2012-08-10/vendor_data.json" not in files
    assert "openstack/2015-10-15/network_data.json" in files
    assert "openstack/2016-10-06/vendor_data2.json" in files
    assert "openstack/2015-10-15/vendor_data2.json" not in files
    # no user data: no user_data file anywhere (cloud-init then runs nothing)
    assert not any(p.endswith("user_data") for p in cd.drive_files(MD))


def test_drive_files_reject_meta_data_without_uuid():
    with pytest.raises(InvalidInput, match="uuid"):
        cd.drive_files({"name": "x"})


def test_content_hash_changes_with_any_byte():
    a = cd.content_hash(cd.drive_files(MD, "x"))
    assert a == cd.content_hash(cd.drive_files(dict(MD), b"x"))
    assert a != cd.content_hash(cd.drive_files(MD, "y"))
    assert a != cd.content_hash(cd.drive_files(MD, "x", {"links": []}))


def test_network_data_static_and_dhcp():
    nd = cd.network_data(
        [
            {
                "mac": "FA:16:3E:00:00:01",
                "ip": "10.0.0.5",
                "prefix": 24,
                "gateway": "10.0.0.1",
                "dns": ["10.0.0.2"],
                "routes": [{"cidr": "172.16.0.0/12", "gateway": "10.0.0.254"}],
                "port_id": "0123456789abcdef",
                "network_id": "net-1",
                "mtu": 1450,
            },
            {"mac": "fa:16:3e:00:00:02", "dhcp": True},
            {"mac": "fa:16:3e:00:00:03", "ip": "2001:db8::5/64", "gateway": "2001:db8::1"},
        ]
    )
    l0, l1, l2 = nd["links"]
    assert l0 == {
        "id": "tap0123456789a",
        "vif_id": "0123456789abcdef",
        "type": "bridge",
        "mtu": 1450,
        "ethernet_mac_address": "fa:16:3e:00:00:01",
    }
    assert l1["id"] == "interface1" and l2["id"] == "interface2"
    n0, n1, n2 = nd["networks"]
    assert n0["type"] == "ipv4" and n0["link"] == "tap0123456789a"
    assert (n0["ip_address"], n0["netmask"]) == ("10.0.0.5", "255.255.255.0")
    assert n0["routes"] == [
        {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"},
        {"network": "172.16.0.0", "netmask": "255.240.0.0", "gateway": "10.0.0.254"},
    ]
    assert n0["services"] == [{"type": "dns", "address": "10.0.0.2"}]
    assert n1 == {"id": "network1", "type": "ipv4_dhcp", "link": "interface1", "network_id": None}
    assert n2["type"] == "ipv6" and n2["netmask"] == "ffff:ffff:ffff:ffff::"
    assert n2["routes"][0] == {"network": "::", "netmask": "::", "gateway": "2001:db8::1"}
    assert nd["services"] == [{"type": "dns", "address": "10.0.0.2"}]


@pytest.mark.parametrize(
    ("nic", "message"),
    [
        ({"mac": "nope", "dhcp": True}, "not a MAC"),
        ({"mac": "fa:16:3e:00:00:01"}, "either dhcp"),
        ({"mac": "fa:16:3e:00:00:01", "ip": "10.0.0.5"}, "needs a prefix"),
        ({"mac": "fa:16:3e:00:00:01", "ip": "10.0.0.5/24", "gateway": "10.1.0.1"}, "not inside"),
        ({"mac": "fa:16:3e:00:00:01", "ip": "10.0.0.500/24"}, "10.0.0.500"),
    ],
)
def test_network_data_rejects_bad_nics(nic, message):
    with pytest.raises(InvalidInput, match=message):
        cd.network_data([nic])


def test_iso_argv_is_novas_genisoimage_call():
    argv = cd.ConfigDrive(run=lambda a: (0, "", ""), mkisofs=["genisoimage"]).iso_argv("/o.iso", "/src", "ab")
    assert argv[0] == "genisoimage"
    assert argv[argv.index("-V") + 1] == "config-2"
    assert argv[argv.index("-A") + 1] == "stratus-config-drive sha256:ab"
    assert {"-J", "-r", "-l"} <= set(argv)
    assert argv[-1] == "/src"


@needs_iso_tools
def test_real_iso_round_trip_and_idempotence(tmp_path):
    drive = cd.ConfigDrive()
    path = str(tmp_path / "disk.config")
    nd = cd.network_data([{"mac": "fa:16:3e:00:00:01", "dhcp": True}])
    args = (MD, "#!/bin/sh\necho hi\n", nd, None)

    changed, before, after = drive.ensure(path, *args, check=True)
    assert changed and before is None and not os.path.exists(path)

    changed, before, after = drive.ensure(path, *args)
    assert changed and before is None
    assert drive.current_hash(path) == after
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"  # it holds user_data
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".config-drive-")]

    rc, info, _ = drive.run(["isoinfo", "-d", "-i", path])
    assert "Volume id: config-2" in info
    names = drive.listing(path)
    assert "openstack/latest/meta_data.json" in names
    assert "openstack/2012-08-10/user_data" in names
    assert "openstack/2015-10-15/network_data.json" in names
    assert json.loads(drive.read(path, "openstack/latest/meta_data.json"))["uuid"] == UUID
    assert json.loads(drive.read(path, "openstack/latest/network_data.json")) == nd
    assert drive.read(path, "openstack/latest/user_data") == b"#!/bin/sh\necho hi\n"

    mtime = os.stat(path).st_mtime_ns
    changed, before, after2 = drive.ensure(path, *args)
    assert not changed and before == after == after2
    assert os.stat(path).st_mtime_ns == mtime

    changed, before, after3 = drive.ensure(path, MD, "#!/bin/sh\necho bye\n", nd, None)
    assert changed and before == after and after3 != after
    assert drive.read(path, "openstack/latest/user_data") == b"#!/bin/sh\necho bye\n"


@needs_iso_tools
def test_foreign_iso_is_not_current(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "x").write_text("x")
    path = str(tmp_path / "foreign.iso")
    subprocess.run(["genisoimage", "-quiet", "-o", path, "-V", "config-2", str(src)], check=True)
    drive = cd.ConfigDrive()
    assert drive.current_hash(path) is None
    assert not drive.is_current(path, cd.drive_files(MD))
    (tmp_path / "garbage").write_bytes(b"not an iso")
    assert drive.current_hash(str(tmp_path / "garbage")) is None


def test_failed_build_leaves_nothing(tmp_path):
    def failing(argv):
        return 1, "", "boom"

    drive = cd.ConfigDrive(run=failing, mkisofs=["genisoimage"])
    path = tmp_path / "disk.config"
    with pytest.raises(CommandFailed, match="boom"):
        drive.write(str(path), cd.drive_files(MD))
    assert list(tmp_path.iterdir()) == []


def test_write_into_missing_directory_says_so(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        cd.ConfigDrive().write(str(tmp_path / "nope" / "disk.config"), cd.drive_files(MD))
