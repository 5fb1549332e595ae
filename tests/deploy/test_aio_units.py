"""Fast checks of the all-in-one's host-state checker and its progress output (no make aio)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.deploy]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


state = _load("aio_host_state", REPO / "tools/aio_host_state.py")
progress = _load("aio_progress", REPO / "plugins/callback/aio_progress.py")


def test_leftovers_are_what_after_holds_and_before_did_not():
    before = {"links": ["eth0", "brqaaa"], "sysctls": ["net.ipv4.ip_forward=0"], "users": []}
    after = {"links": ["eth0", "brqbbb", "brqaaa"], "sysctls": ["net.ipv4.ip_forward=1"], "users": [],
             "domains": ["instance-1"]}
    assert state.leftovers(before, after) == {
        "links": ["brqbbb"], "sysctls": ["net.ipv4.ip_forward=1"], "domains": ["instance-1"]}
    assert state.leftovers(after, after) == {}


def test_processes_of_ours_are_known_by_program_or_path():
    assert state._is_ours(["/usr/sbin/dnsmasq", "--pid-file=/tmp/x"])
    assert state._is_ours(["/work/.venv/bin/python", "-m", "stratus.cli.main", "serve", "--config", "/etc/stratus/stratus.yaml"])
    assert state._is_ours(["/opt/stratus/swift/bin/swift-object-server", "/etc/swift/object-server.conf"])
    assert not state._is_ours(["/usr/sbin/sshd", "-D"])
    assert not state._is_ours([])


def test_restore_only_removes_paths_of_the_roles():
    assert state._ours_path("/var/lib/stratus/stratus.db")
    assert state._ours_path("/etc/swift/")
    assert state._ours_path("/etc/systemd/system/stratus-controller.service")
    assert not state._ours_path("/etc/passwd")
    assert not state._ours_path("/var/lib/stratusx/file")


def test_snapshot_reads_this_host_without_changing_it(tmp_path):
    out = tmp_path / "before.json"
    run = [sys.executable, str(REPO / "tools/aio_host_state.py"), "snapshot", "--keep", "--out", str(out)]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    assert json.loads(first.stdout)["changed"] is True
    assert set(json.loads(out.read_text())) == set(state.KINDS)
    again = subprocess.run(run, capture_output=True, text=True, check=True)
    assert json.loads(again.stdout)["changed"] is False  # --keep: the first snapshot stays


def test_a_failed_task_shows_its_message_command_and_stderr():
    result = {"failed": True, "msg": "loop failed", "results": [
        {"item": "/", "failed": False, "rc": 0, "stdout": "ok"},
        {"item": "/nope", "failed": True, "msg": "non-zero return code", "cmd": ["ls", "/nope"], "rc": 2,
         "stderr": "ls: cannot access '/nope'"}]}
    lines = progress.failure_lines(result)
    assert "  item: /nope" in lines and "  cmd: ls /nope (rc 2)" in lines
    assert "    ls: cannot access '/nope'" in lines and not any(line.strip() == "item: /" for line in lines)


def test_debug_messages_are_one_line_each():
    assert progress.debug_lines({"msg": ["a", ["b", "c"]]}) == ["    a", "    b", "    c"]
    assert progress.debug_lines({"msg": "x\ny"}) == ["    x", "    y"]
    assert progress.duration(125.2) == "2m05s" and progress.duration(3.24) == "3.2s"


def test_restore_sweeps_only_the_host_objects_named_from_the_clouds_ids():
    names = state.cloud_names({"servers": ["s1"], "networks": ["0123456789abcdef"], "routers": ["r1"],
                               "ports": ["fedcba9876543210"], "segments": [1234]})
    assert names["domains"] == {"instance-s1"}
    assert names["namespaces"] == {"qdhcp-0123456789abcdef", "qrouter-r1"}
    assert {"brq0123456789a", "vxlan-1234", "tapfedcba98765", "qr-fedcba98765", "stratus-ex"} <= names["links"]
    assert state.cloud_names({})["links"] == {"stratus-ex", "stratus-exh"}


def test_remove_files_keeps_a_directory_another_mount_namespace_mounts_on(tmp_path):
    """A multi-host test's namespace "host" mounts its own tree on /var/lib/stratus: removing
    the machine's directory would unmount it there, so aio-clean leaves it."""
    mounted, plain = tmp_path / "mounted", tmp_path / "plain"
    mounted.mkdir()
    (plain / "sub").mkdir(parents=True)
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               f"mount -t tmpfs none {mounted} && echo up && exec sleep 60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "up"
        out = subprocess.run([sys.executable, str(REPO / "tools" / "aio_host_state.py"), "remove-files",
                              str(mounted), str(plain)], capture_output=True, text=True, check=True).stdout
    finally:
        holder.kill()
        holder.wait()
    assert json.loads(out)["done"] == [f"rm -rf --one-file-system {plain}"]
    assert mounted.is_dir() and not plain.exists()
