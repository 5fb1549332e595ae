"""A controller installed from the project's own files, not run from the checkout: the
controller role (controller_install_from: package) builds a wheel of `stratus` and the
collection's archive from this checkout, installs both into a venv of their own with
constraints.txt's pins, and runs the controller from there. The registry's capacity is
read by that controller's job runner through the installed collection's modules, so a
controller that still needed the checkout would fail here. A second run changes nothing
(the wheel is built reproducibly; the same bytes are not copied or installed again).

The "remote" controller is this host (local connection) with every path in a temp
directory; its pip reads the same package index as this machine's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.api.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

PLAYBOOK = """- name: Controller
  hosts: controller
  gather_facts: true
  roles:
    - role: controller

- name: Register the hosts and read their capacity
  hosts: controller
  gather_facts: false
  tasks:
    - name: Register the hosts and read their capacity
      ansible.builtin.include_role:
        name: controller
        tasks_from: hosts
"""


@pytest.fixture
def packaged(tmp_path, libvirt_daemon):
    # libvirt_daemon: the capacity refresh reads the compute host's hypervisor
    root = tmp_path
    hostvars = {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
        "controller_install_from": "package", "controller_source_dir": str(REPO),
        "controller_build_dir": str(root / "build"), "controller_package_dir": str(root / "dist"),
        "controller_package_venv": str(root / "venv"),
        "controller_port": free_port(),
        "controller_config_file": str(root / "etc" / "stratus.yaml"),
        "controller_state_dir": str(root / "state"),
        "controller_fernet_key_repository": str(root / "etc" / "fernet-keys"),
        "controller_credential_key_repository": str(root / "etc" / "credential-keys"),
        "controller_admin_password_file": str(root / "etc" / "admin-password"),
        "controller_demo_password_file": str(root / "etc" / "demo-password"),
        "controller_log_file": str(root / "log" / "controller.log"),
        "controller_pid_file": str(root / "run" / "controller.pid"),
        "controller_clouds_yaml": str(root / "client" / "clouds.yaml"),
    }
    inventory = {"all": {"hosts": {"localhost": hostvars},
                         "children": {"controller": {"hosts": {"localhost": None}},
                                      "compute": {"hosts": {"localhost": None}}}}}
    (root / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (root / "site.yml").write_text(PLAYBOOK)
    yield root
    subprocess.run(["start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/15/KILL/5", "--remove-pidfile",
                    "--pidfile", hostvars["controller_pid_file"]], capture_output=True)
    shutil.rmtree(root / "venv", ignore_errors=True)


def _changed_tasks(output: str) -> list[str]:
    """The names of the tasks that reported a change in a playbook's output."""
    tasks, current = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            current = line[6:].split("]")[0]
        elif line.startswith("changed:"):
            tasks.append(current)
    return tasks


def _converge(root: Path) -> tuple[dict[str, int], list[str]]:
    """Run the playbook; {host: changed count} from the recap and the changed tasks."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_ROLES_PATH=str(REPO / "roles"),
               ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"), NO_COLOR="1",
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(root / "inventory.yml"), str(root / "site.yml")],
                       capture_output=True, text=True, env=env, cwd=root, timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    recap = r.stdout.split("PLAY RECAP", 1)[1]
    return ({line.split()[0]: int(line.split("changed=")[1].split()[0])
             for line in recap.strip().splitlines() if "changed=" in line}, _changed_tasks(r.stdout))


def test_controller_runs_from_its_installed_wheel_and_collection(packaged):
    root = packaged
    venv = root / "venv"
    assert _converge(root)[0]["localhost"] > 0

    # the package and the collection the controller uses are the installed ones
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import json, stratus, stratus.collection as c; "
         "print(json.dumps([stratus.__file__, str(c.root()), c.from_checkout()]))"],
        capture_output=True, text=True, cwd=root, check=True)
    package_file, collection_root, from_checkout = json.loads(probe.stdout)
    assert package_file.startswith(str(venv / "lib")) and not from_checkout
    assert collection_root == str(venv / "share" / "stratus" / "collections" / "ansible_collections" / "stratus" / "cloud")
    assert (Path(collection_root) / "plugins" / "modules" / "hypervisor_info.py").is_file()
    pid = (root / "run" / "controller.pid").read_text().strip()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert str(venv / "bin" / "stratus").encode() in cmdline, cmdline

    # its job runner read the hypervisor through the installed collection
    hosts = json.loads(subprocess.run(
        [str(venv / "bin" / "stratus"), "host", "list", "-f", "json", "--config", str(root / "etc" / "stratus.yaml")],
        capture_output=True, text=True, check=True, cwd=root).stdout)
    assert [h["name"] for h in hosts] == ["localhost"]
    assert hosts[0]["capacity"].get("vcpus", 0) > 0, hosts

    again, changed = _converge(root)
    assert again == {"localhost": 0}, f"the second run changed: {changed}"
