"""roles/network: the all-in-one's "external" physical network interface (a veth whose
peer holds the host's address on it), made once and left alone on a second run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.ansible import REPO, VENV_BIN, ansible_env
from tests.integration.network.conftest import in_ns

pytestmark = pytest.mark.network


def run_external_tasks(tmp_path: Path, ns: str) -> str:
    wrapper = tmp_path / "py"
    wrapper.write_text(f"#!/bin/sh\nexec ip netns exec {ns} /usr/bin/python3 \"$@\"\n")
    wrapper.chmod(0o755)
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: network, tasks_from: external}\n"
        "      vars: {network_external_interface: stratus-ex}\n")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={wrapper}", str(play)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
                        ANSIBLE_ROLES_PATH=str(REPO / "roles")))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout


def test_external_veth_is_made_with_the_hosts_address_and_kept(netns, tmp_path):
    host = netns("host")
    first = run_external_tasks(tmp_path, host)
    assert "changed=3" in first  # made, up, addressed
    links = {ln["ifname"]: ln for ln in json.loads(in_ns(host, "ip", "-j", "link", "show").stdout)}
    assert "UP" in links["stratus-ex"]["flags"] and "UP" in links["stratus-exh"]["flags"]
    addrs = json.loads(in_ns(host, "ip", "-j", "addr", "show", "dev", "stratus-exh").stdout)
    assert {(a["local"], a["prefixlen"]) for a in addrs[0]["addr_info"]} >= {("172.24.4.1", 24)}
    assert "changed=0" in run_external_tasks(tmp_path, host)  # a second run changes nothing
