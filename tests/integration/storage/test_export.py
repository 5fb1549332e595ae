"""NBD exports without a guest: a storage "host" in a network namespace, this namespace as
the compute host. Idempotence, allow-list changes without restart, a dead daemon brought
back, access refused to a client that is not on the list."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.helpers.ansible import run_module

pytestmark = pytest.mark.block_storage


def nbd_read(uri: str) -> subprocess.CompletedProcess:
    return subprocess.run(["timeout", "20", "qemu-io", "-f", "raw", "-r", "-c", "read -v 0 16", uri],
                          capture_output=True, text=True)


def process_gone(pid: int) -> bool:
    """No such process, or only its zombie (reaped by whatever PID 1 is, in its own time)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_export_lifecycle(volume_dir, storage_ns, tmp_path):
    vid = str(uuid.uuid4())
    assert run_module("volume", {"id": vid, "size": 1, "backend": "file", "directory": volume_dir}).changed
    with open(f"{volume_dir}/volume-{vid}", "r+b") as fh:
        fh.write(b"STORAGE-SIDE")
    exp = {"volume_id": vid, "attachment_id": "a1", "backend": "file", "directory": volume_dir,
           "host": storage_ns["storage_ip"], "allowed": [storage_ns["host_ip"]], "netns": storage_ns["ns"],
           "export_state_dir": str(tmp_path / "exports")}
    made = run_module("volume_export", exp)
    assert made.changed and made["diff"]["before"] == {}, made.msg
    uri, pid = made["export"]["uri"], made["export"]["pid"]
    assert "STORAGE.SIDE" in nbd_read(uri).stdout

    # a changed allow-list is applied without restarting the daemon; the host is now refused
    moved = run_module("volume_export", {**exp, "allowed": ["198.18.255.254"]})
    assert moved.changed and moved["export"]["pid"] == pid
    assert moved["diff"]["before"]["allowed"] == [storage_ns["host_ip"]]
    refused = nbd_read(uri)
    assert refused.returncode != 0 and "refused" in (refused.stdout + refused.stderr).lower()
    assert not run_module("volume_export", {**exp, "allowed": ["198.18.255.254"]}).changed

    # back on the list; a daemon that died is started again on the same port
    assert run_module("volume_export", exp).changed
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    check = run_module("volume_export", exp, check=True)
    assert check.changed
    revived = run_module("volume_export", exp)
    assert revived.changed and revived["export"]["pid"] != pid and revived["export"]["uri"] == uri
    assert "STORAGE.SIDE" in nbd_read(uri).stdout
    assert not run_module("volume_export", exp).changed

    gone = run_module("volume_export", {**exp, "state": "absent"})
    assert gone.changed and process_gone(revived["export"]["pid"])
    rules = subprocess.run(["ip", "netns", "exec", storage_ns["ns"], "nft", "list", "ruleset"],
                           capture_output=True, text=True).stdout
    assert "stratus_nbd" not in rules
