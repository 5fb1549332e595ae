"""tests/helpers/netns_hosts.py for real: two namespace hosts, reached over SSH, are apart
where the roles need them apart, and ``down()`` leaves nothing behind (about 4 s)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.netns_hosts import NetnsHostError, NetnsHosts, find_sshd

pytestmark = [pytest.mark.deploy]


@pytest.fixture
def two_hosts(tmp_path):
    try:
        find_sshd()
    except NetnsHostError as e:
        pytest.skip(str(e))
    hosts = NetnsHosts(tmp_path / "hosts", ["h1", "h2"], port=2222).up()
    yield hosts
    hosts.down()


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_namespace_hosts_are_apart_and_leave_nothing(two_hosts, tmp_path):
    h1, h2 = two_hosts.host("h1"), two_hosts.host("h2")
    # each answers on its own address with its own name; they reach each other
    assert _ok(two_hosts.ssh("h1", f"hostname; ping -c1 -W2 {h2.address} >/dev/null && echo reached")).split() \
        == ["h1", "reached"]
    # /etc, /run and the state dirs are each host's own; /run/netns too
    loop = _ok(two_hosts.ssh("h1", "mkdir -p /etc/stratus /var/lib/stratus && echo one > /etc/stratus/mark"
                                   " && ip netns add qdhcp-mark && truncate -s 16M /var/lib/stratus/pv.img"
                                   " && losetup --find --show /var/lib/stratus/pv.img")).strip()
    assert _ok(two_hosts.ssh("h2", "cat /etc/stratus/mark 2>/dev/null; ip netns list")).strip() == ""
    assert two_hosts.host_path("h1", "/etc/stratus/mark").read_text() == "one\n"
    assert not Path("/etc/stratus/mark").exists()
    # a daemon started over SSH belongs to the host: PID 1 there is the host's init
    _ok(two_hosts.ssh("h1", "start-stop-daemon --start --background --make-pidfile --pidfile /run/d.pid"
                            " --exec /bin/sleep -- 600"))
    inner = int(_ok(two_hosts.ssh("h1", "cat /run/d.pid")))
    assert _ok(two_hosts.ssh("h1", f"ps -o ppid= -p {inner}")).strip() == "1"
    assert _ok(two_hosts.ssh("h2", "ps -e -o comm=")).split().count("sleep") == 0
    outer = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == h1.pid
             and _comm(int(p)) == "sleep"]
    assert len(outer) == 1
    base = two_hosts.base

    two_hosts.down()

    assert not os.path.exists(f"/proc/{outer[0]}") and not os.path.exists(f"/proc/{h1.pid}")
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert h1.netns not in netns and h2.netns not in netns and "qdhcp-mark" not in netns
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    assert f"smh{two_hosts.tag}" not in links
    assert loop.startswith("/dev/loop") and loop not in _loop_devices()
    assert not base.exists()


def _loop_devices() -> list[str]:
    out = subprocess.run(["losetup", "--list", "--json"], capture_output=True, text=True).stdout
    return [d["name"] for d in json.loads(out or '{"loopdevices": []}')["loopdevices"]]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
