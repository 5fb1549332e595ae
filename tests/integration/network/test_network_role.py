"""roles/network: its nft base file matches the drivers, and the role runs (check mode)."""

import json
import subprocess
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import (
    port_security,
    security_groups,
)
from tests.helpers.ansible import REPO, VENV_BIN, ansible_env
from tests.integration.network.conftest import in_ns

pytestmark = pytest.mark.network

BASE = REPO / "roles/network/files/nftables-base.nft"


def test_base_file_is_the_drivers_base_script(netns):
    lines = [ln for ln in BASE.read_text().splitlines() if ln and not ln.startswith("#")]
    want = (port_security.base_script() + security_groups.base_script()).splitlines()
    assert lines == [ln for ln in want if ln]
    host = netns("host")
    in_ns(host, "nft", "-f", str(BASE))
    in_ns(host, "nft", "-f", str(BASE))  # applying twice is harmless
    tables = json.loads(in_ns(host, "nft", "-j", "list", "tables").stdout)["nftables"]
    assert {t["table"]["name"] for t in tables if "table" in t} == {"stratus_ports", "stratus_sg"}


def test_role_runs_in_check_mode(tmp_path: Path):
    play = tmp_path / "play.yml"
    play.write_text("- hosts: localhost\n  gather_facts: false\n  roles: [network]\n")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "--check",
         str(play)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
                        ANSIBLE_ROLES_PATH=str(REPO / "roles")))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "failed=0" in proc.stdout
