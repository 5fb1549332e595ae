"""Every host is a machine of its own: its name, its init, its files."""

from __future__ import annotations

from conftest import inventory

testinfra_hosts = inventory().get_hosts("all")


def test_the_host_answers_with_its_name_and_its_own_init(host):
    assert host.check_output("hostname") == host.backend.get_hostname()
    assert "netns_init.py" in host.check_output("tr '\\0' ' ' < /proc/1/cmdline")


def test_the_host_has_its_own_etc_and_run(host):
    name = host.backend.get_hostname()
    assert host.file("/etc/hostname").content_string.strip() == name
    assert host.file("/run/sshd.pid").exists  # its own /run: sshd's pid file is there
