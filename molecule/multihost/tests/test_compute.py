"""The compute hosts: one libvirtd each (its own process, socket and host UUID), QEMU as
the virt type, what the host offers to the scheduler."""

from __future__ import annotations

import re

import testinfra
from conftest import inventory

testinfra_hosts = inventory().get_hosts("compute")


def test_libvirtd_and_virtlogd_run_on_this_host_only_once(host):
    assert len(host.process.filter(comm="libvirtd")) == 1
    assert len(host.process.filter(comm="virtlogd")) == 1
    assert host.socket("unix:///run/libvirt/libvirt-sock").is_listening


def test_each_compute_host_has_a_libvirt_host_uuid_of_its_own(host):
    def uuid_of(h) -> str:
        return re.search(r"<uuid>([^<]+)</uuid>", h.check_output("virsh -c qemu:///system capabilities")).group(1)

    others = [testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory().inventory_file)
              for name in inventory().get_hosts("compute") if name != host.backend.get_hostname()]
    assert others and uuid_of(host) not in {uuid_of(o) for o in others}


def test_the_host_runs_guests_with_qemu_and_offers_capacity(host):
    assert "virt_type = qemu" in host.file("/etc/stratus/compute.conf").content_string
    info = host.ansible("stratus.cloud.hypervisor_info", check=False)["hypervisor"]
    assert int(info["vcpus"]) > 0 and int(info["memory_mb"]) > 0
