"""The multi-host scenario (molecule/multihost, DESIGN.md there): four hosts made of
namespaces, each with its own sshd, converged by site.yml over SSH, converged again
without a change, verified host by host and across hosts (a tenant VXLAN network with a
server on each compute host, each reaching the other), then removed without a trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.netns_hosts import NetnsHostError, find_sshd

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.deploy, pytest.mark.slow]


def _ours() -> dict[str, list[str]]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout.split("\n")
    return {
        "netns": sorted(n.split()[0] for n in netns if n.startswith("smh-")),
        "links": sorted(ln.split()[0] for ln in links if ln.startswith("smh")),
        "dirs": sorted(str(p) for p in Path("/tmp").glob("stratus-netns-*")),
        "processes": sorted(p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _of_hosts(p)),
    }


def _of_hosts(proc: Path) -> bool:
    """A process of the hosts: its init or sshd (their command lines name the hosts' dir)."""
    try:
        return b"/tmp/stratus-netns-" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def test_site_converges_four_namespace_hosts_over_ssh(libvirt_daemon):
    # libvirt_daemon: the machine's libvirtd probes QEMU once, and every host's libvirtd
    # starts from a copy of that capabilities cache
    try:
        find_sshd()
    except NetnsHostError as e:
        pytest.skip(str(e))
    before = _ours()
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1")
    proc = subprocess.run([str(venv_bin / "molecule"), "test", "-s", "multihost"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=2400)
    assert proc.returncode == 0, f"molecule test -s multihost failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    assert _ours() == before
