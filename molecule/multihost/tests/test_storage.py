"""The storage host: the scenario's volume group on its loop device, Swift's servers
and rsync listening, running as the swift user."""

from __future__ import annotations

from conftest import inventory

testinfra_hosts = sorted(set(inventory().get_hosts("block_storage")) | set(inventory().get_hosts("object_storage")))


def test_the_volume_group_is_there(host):
    if host.backend.get_hostname() not in inventory().get_hosts("block_storage"):
        return
    vg = host.ansible.get_variables()["block_storage_vg"]
    assert host.check_output(f"vgs --driverloaded n --noheadings -o vg_name {vg}").strip() == vg


def test_swift_servers_and_rsync_listen_and_run_as_swift(host):
    if host.backend.get_hostname() not in inventory().get_hosts("object_storage"):
        return
    for port in (6200, 6201, 6202, 873):
        assert host.socket(f"tcp://0.0.0.0:{port}").is_listening, port
    servers = host.process.filter(user="swift")
    assert {"swift-object-se", "swift-container", "swift-account-s"} & {p.comm for p in servers}
