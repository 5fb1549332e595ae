"""The pure parts of tests/helpers/netns_hosts.py: what a host's /etc copy leaves out,
the underlay subnet, device names, sshd's settings, the init's mounts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.helpers.netns_hosts import (
    PRIVATE_DIRS,
    NetnsHostError,
    NetnsHosts,
    check_base,
    init_spec,
    names_for,
    not_copied,
    pick_subnet,
    sshd_config,
)

pytestmark = [pytest.mark.deploy]


@pytest.mark.parametrize("rel", [
    "stratus", "stratus/compute.conf", "sysctl.d/60-stratus-network.conf",
    "modules-load.d/stratus-network.conf", "swift", "swift/swift.conf",
    "libvirt/qemu/instance-1234.xml", "libvirt/qemu/autostart", "libvirt/qemu/autostart/x.xml",
    "libvirt/qemu/networks/default.xml", "libvirt/storage/pool.xml",
])
def test_a_host_starts_without_stratus_swift_and_libvirt_objects_of_the_machine(rel):
    assert not_copied(rel)


@pytest.mark.parametrize("rel", [
    "passwd", "libvirt", "libvirt/qemu.conf", "libvirt/libvirtd.conf", "libvirt/qemu",
    "libvirt/nwfilter/clean-traffic.xml", "sysctl.d", "ssh/ssh_config", "lvm/lvm.conf",
])
def test_a_host_keeps_the_machines_base_configuration(rel):
    assert not not_copied(rel)


def test_the_underlay_overlaps_no_route_of_the_machine():
    taken = [f"10.{a}.0.0/16" for a in range(200, 250) if a != 231] + ["default", "fe80::/64"]
    net = pick_subnet(taken, random.Random(1))
    assert str(net).startswith("10.231.") and net.prefixlen == 24


def test_no_free_underlay_is_an_error_that_says_so():
    with pytest.raises(NetnsHostError, match="overlaps a route"):
        pick_subnet(["10.0.0.0/8"], random.Random(1))


def test_device_names_fit_the_kernels_15_characters():
    netns, veth = names_for("abcdef", 12, "cmp1")
    assert netns == "smh-abcdef-cmp1" and veth == "smhabcdefv12" and len(veth) <= 15
    assert len(f"{veth}p") <= 15  # the peer before it is renamed eth0 in the host


def test_sshd_takes_root_by_key_only_without_pam():
    conf = sshd_config(2222, Path("/b/ssh/host"), Path("/b/ssh/authorized_keys")).splitlines()
    for line in ("Port 2222", "HostKey /b/ssh/host", "AuthorizedKeysFile /b/ssh/authorized_keys",
                 "PermitRootLogin prohibit-password", "PasswordAuthentication no", "UsePAM no",
                 "Subsystem sftp internal-sftp", "PidFile /run/sshd.pid"):
        assert line in conf


def test_the_init_binds_every_private_dir_from_the_hosts_tree_and_runs_sshd():
    spec = init_spec("cmp1", Path("/b/cmp1/fs"), "/usr/sbin/sshd", Path("/b/ssh/sshd_config"), Path("/b/l"))
    assert spec["binds"][0] == ["/b/cmp1/fs/etc", "/etc"]
    assert [dst for _src, dst in spec["binds"]] == list(PRIVATE_DIRS)
    assert spec["tmpfs"] == ["/run"] and ["/run/sshd", "0755"] in spec["dirs"]
    assert spec["command"] == ["/usr/sbin/sshd", "-D", "-e", "-f", "/b/ssh/sshd_config"]


def test_host_paths_map_private_trees_into_the_hosts_dir_and_leave_the_rest():
    hosts = NetnsHosts("/b", ["cmp1"])
    assert hosts.host_path("cmp1", "/var/lib/stratus/instances/x") == Path("/b/cmp1/fs/var/lib/stratus/instances/x")
    assert hosts.host_path("cmp1", "/etc") == Path("/b/cmp1/fs/etc")
    assert hosts.host_path("cmp1", "/var/lib/stratusx") == Path("/var/lib/stratusx")
    assert hosts.host_path("cmp1", "/usr/bin/ssh") == Path("/usr/bin/ssh")


def test_a_base_the_hosts_could_not_see_is_refused():
    with pytest.raises(NetnsHostError, match="under /root, which every host replaces"):
        check_base(Path("/root/.ansible/tmp/molecule.x/hosts"))
    check_base(Path("/tmp/stratus-netns-x"))
