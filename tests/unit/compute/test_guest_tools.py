"""Pieces of the test guest and its console helper that run without a VM.

The guest parses JSON with ``tools/guest/jsonflat.awk`` under busybox awk; here the same
awk runs under the host's busybox on what ``config_drive`` writes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute import config_drive as cd
from tests.helpers.guest_console import console_paths, strip_ansi

AWK = Path(__file__).resolve().parents[3] / "tools/guest/jsonflat.awk"


def flatten(doc: str) -> dict[str, str]:
    out = subprocess.run(
        ["busybox", "awk", "-f", str(AWK)], input=doc, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


pytestmark = pytest.mark.skipif(not shutil.which("busybox"), reason="busybox missing")


def test_jsonflat_reads_what_the_config_drive_writes():
    md = cd.meta_data("u-1", "vm", hostname="vm.novalocal", public_keys={"k": "ssh-rsa AAA a@b"},
                      meta={"hostname": "not-this-one", "q": 'a "quoted" \\ value'})  # fmt: skip
    flat = flatten(cd.drive_files(md)["openstack/latest/meta_data.json"].decode())
    assert flat[".hostname"] == "vm.novalocal"
    assert flat[".meta.hostname"] == "not-this-one"
    assert flat[".meta.q"] == 'a "quoted" \\ value'
    assert flat[".uuid"] == "u-1"
    assert flat[".public_keys.k"] == "ssh-rsa AAA a@b"
    assert flat[".launch_index"] == "0"
    assert flat[".project_id"] == ""  # null

    nd = cd.network_data(
        [{"mac": "fa:16:3e:00:00:01", "dhcp": True},
         {"mac": "fa:16:3e:00:00:02", "ip": "10.0.0.5/24", "gateway": "10.0.0.1", "dns": ["10.0.0.2"]}]
    )  # fmt: skip
    flat = flatten(json.dumps(nd, indent=2))  # pretty-printed JSON parses the same
    assert flat[".networks[0].type"] == "ipv4_dhcp"
    assert flat[".links[1].ethernet_mac_address"] == "fa:16:3e:00:00:02"
    assert flat[".networks[1].routes[0].gateway"] == "10.0.0.1"
    assert flat[".networks[1].netmask"] == "255.255.255.0"
    assert flat[".services[0].address"] == "10.0.0.2"


def test_console_paths_from_live_xml():
    xml = """<domain type='qemu'><devices>
      <serial type='pty'><source path='/dev/pts/7'/><log file='/x/console.log' append='off'/>
        <target port='0'/></serial>
      <console type='pty' tty='/dev/pts/7'><target type='serial' port='0'/></console>
    </devices></domain>"""
    assert console_paths(xml) == ("/x/console.log", "/dev/pts/7")
    with pytest.raises(ValueError, match="no <log"):
        console_paths("<domain><devices><serial type='pty'/></devices></domain>")


def test_strip_ansi():
    assert strip_ansi("vm:~# \x1b[6nhello\r\n\x1b[1;32mok\x1b[0m") == "vm:~# hello\nok"


def test_console_run_ignores_the_echo_of_the_typed_line(tmp_path):
    """A stand-in serial line: what is typed into the pty is echoed into the log (as a
    shell's line editor does), then run by sh, its output appended to the log."""
    import os
    import threading

    from tests.helpers.guest_console import GuestConsole

    master, slave = os.openpty()
    log = tmp_path / "console.log"
    log.write_text("boot noise\r\n")
    stop = threading.Event()

    def serial_line():
        buf = b""
        while not stop.is_set():
            try:
                buf += os.read(master, 4096)
            except OSError:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out = subprocess.run(["sh", "-c", line.decode()], capture_output=True).stdout
                with open(log, "ab") as f:
                    f.write(b"guest:~# " + line + b"\r\n" + out.replace(b"\n", b"\r\n"))

    threading.Thread(target=serial_line, daemon=True).start()
    with GuestConsole("fake", log_path=str(log), pty_path=os.ttyname(slave)) as con:
        assert con.run("echo hello; echo world >&1; false", timeout=10) == (1, "hello\nworld\n")
        assert con.run("true", timeout=10) == (0, "")
        with pytest.raises(ValueError, match="one line"):
            con.run("a\nb")
    stop.set()
    os.close(slave)
    os.close(master)
