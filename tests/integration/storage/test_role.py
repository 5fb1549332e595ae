"""roles/block_storage on this host: a loop-file PV and VG, the file-backend and export
directories, the lvm.conf for hosts without device-mapper; a second run changes nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from tests.helpers.ansible import run_module, run_playbook

pytestmark = [pytest.mark.block_storage, pytest.mark.deploy]


def recap_changed(stdout: str) -> int:
    m = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", stdout)
    assert m, stdout[-3000:]
    return int(m.group(1))


def test_role_prepares_an_all_in_one_storage_host(tmp_path):
    tag = uuid.uuid4().hex[:8]
    root = f"/var/tmp/stratus-role-{tag}"
    vg = f"stv-role-{tag}"
    loop_file = f"{root}/pv.img"
    os.makedirs(root)
    role_vars = {
        "block_storage_vg": vg,
        "block_storage_loop_file": loop_file,
        "block_storage_loop_size": "2G",
        "block_storage_lvm_activation": "off",
        "block_storage_lvm_system_dir": f"{root}/lvm",
        "block_storage_volume_dir": f"{root}/volumes",
        "block_storage_export_state_dir": f"{root}/exports",
    }
    playbook = tmp_path / "storage.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Block storage host", "hosts": "localhost",
                                         "gather_facts": False, "roles": ["block_storage"], "vars": role_vars}]))
    try:
        first = run_playbook(playbook)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        assert recap_changed(first.stdout) > 0
        second = run_playbook(playbook)
        assert second.returncode == 0 and recap_changed(second.stdout) == 0, second.stdout[-3000:]

        loops = subprocess.run(["losetup", "-j", loop_file], capture_output=True, text=True).stdout
        assert loops.count("\n") == 1  # attached once, not again on the second run
        assert "activation = 0" in Path(f"{root}/lvm/lvm.conf").read_text()
        assert oct(os.stat(f"{root}/exports").st_mode & 0o777) == "0o700"

        # the modules use what the role made, through its lvm.conf (LVM_SYSTEM_DIR), with
        # the role's activation setting (off: also right on a host with device-mapper)
        vid = str(uuid.uuid4())
        res = run_module("volume", {"id": vid, "size": 1, "backend": "lvm", "vg": vg,
                                    "lvm_system_dir": f"{root}/lvm",
                                    "lvm_activation": role_vars["block_storage_lvm_activation"]})
        assert res.changed, res.msg
        info = run_module("storage_info", {"backends": [{"name": "lvm", "driver": "lvm", "vg": vg},
                                                        {"name": "file", "driver": "file", "directory": f"{root}/volumes"}]})
        assert info["backends"]["lvm"]["volumes"] == 1 and info["backends"]["file"]["available"]
    finally:
        env = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}
        subprocess.run(["vgremove", "--driverloaded", "n", "-f", "-y", vg], capture_output=True, env=env)
        for dev in subprocess.run(["losetup", "-n", "-O", "NAME", "-j", loop_file], capture_output=True,
                                  text=True).stdout.split():
            subprocess.run(["pvremove", "--driverloaded", "n", "-q", "-y", dev], capture_output=True, env=env)
            subprocess.run(["losetup", "-d", dev], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
