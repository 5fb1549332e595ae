"""The multi-host scenario (molecule/multihost, DESIGN.md there): four hosts made of
namespaces, each with its own sshd, converged by site.yml over SSH, converged again
without a change, verified host by host and across hosts (a tenant VXLAN network with a
server on each compute host, each reaching the other), then removed without a trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.netns_hosts import PRIVATE_DIRS, NetnsHostError, find_sshd

REPO = Path(__file__).resolve().parents[2]

MOLECULE_TIMEOUT = 1500  # about 6 min here; the rest of pytest's timeout is for destroying the hosts

pytestmark = [pytest.mark.deploy, pytest.mark.slow, pytest.mark.timeout(MOLECULE_TIMEOUT + 400)]


def _ours() -> dict[str, list[str]]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout.split("\n")
    return {
        "netns": sorted(n.split()[0] for n in netns if n.startswith("smh-")),
        "links": sorted(ln.split()[0] for ln in links if ln.startswith("smh")),
        "dirs": sorted(str(p) for p in Path("/tmp").glob("stratus-netns-*")),
        "processes": sorted(p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _of_hosts(p)),
        "mounts": sorted(ln for ln in Path("/proc/self/mounts").read_text().splitlines() if "stratus-netns-" in ln),
        "orphan_loops": _orphan_loops(),
    }


def _orphan_loops() -> list[str]:
    """Loop devices whose backing file is nowhere on this machine: deleted, or shown by a
    path of a mount namespace that is gone (sto1's volume file, when down() missed it)."""
    out = subprocess.run(["losetup", "--list", "--json", "--output", "NAME,BACK-FILE"],
                         capture_output=True, text=True).stdout
    loops = json.loads(out or '{"loopdevices": []}')["loopdevices"]
    files = {d["name"]: d.get("back-file") or "" for d in loops}
    return sorted(f"{name} {f}" for name, f in files.items()
                  if f and (f.endswith(" (deleted)") or not Path(f).is_file()))


def _empty_mount_points() -> list[str]:
    """The hosts' private dirs that exist on the machine and are empty (down() removes
    those it made)."""
    return sorted(d for d in PRIVATE_DIRS if Path(d).is_dir() and not any(Path(d).iterdir()))


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
    missing_before = [d for d in PRIVATE_DIRS if not Path(d).exists()]
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1")
    molecule = str(venv_bin / "molecule")
    try:
        proc = subprocess.run([molecule, "test", "-s", "multihost"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=MOLECULE_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        # molecule was killed before its own destroy: the hosts are still up
        subprocess.run([molecule, "destroy", "-s", "multihost"], cwd=REPO, env=env, capture_output=True, timeout=300)
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        pytest.fail(f"molecule test -s multihost ran more than {MOLECULE_TIMEOUT} s (hosts destroyed since):\n"
                    f"{out[-8000:]}")
    assert proc.returncode == 0, f"molecule test -s multihost failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    assert _ours() == before
    assert not [d for d in _empty_mount_points() if d in missing_before], "mount points made for the hosts were left"
