"""A volume's I/O limits (Cinder front-end QoS -> libvirt ``<iotune>``) through the real
volume_attachment module on a real libvirt domain, without booting an OS.

What this proves: the limits land in the persistent definition of a shut-off guest on
attach (check mode changes nothing), a second run is idempotent, a change or a removal
rewrites them, a refused spec leaves the definition alone; and on a started (paused)
guest the change reaches the live QEMU too (``virsh blkdeviotune`` reads QEMU's throttle
values). The guest runs no OS: a paused domain is a QEMU process with the disk open,
which is all ``virDomainSetBlockIoTune`` needs.

Every step runs as a task of one playbook (one Ansible start instead of one per step);
the host's state between steps is read by ``virsh`` tasks in the same playbook."""

from __future__ import annotations

import subprocess
import uuid
import xml.etree.ElementTree as ET

import pytest

from tests.helpers.ansible import run_tasks

pytestmark = [pytest.mark.block_storage]


def virsh(*argv: str, check: bool = True) -> str:
    proc = subprocess.run(["virsh", "-c", "qemu:///system", *argv], capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"virsh {' '.join(argv)}: {proc.stderr}")
    return proc.stdout


@pytest.fixture
def bare_guest(libvirt_daemon):
    """A defined, shut-off domain with no disks (named as the instance module names them)."""
    name = f"instance-{uuid.uuid4()}"
    xml = (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
           "<os><type arch='x86_64'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
           "</devices></domain>")
    proc = subprocess.run(["virsh", "-c", "qemu:///system", "define", "/dev/stdin"], input=xml,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    yield name
    virsh("destroy", name, check=False)
    virsh("undefine", name, check=False)


def virsh_step(*argv: str) -> tuple[str, dict, bool]:
    return ("ansible.builtin.command", {"argv": ["virsh", "-c", "qemu:///system", *argv]}, False)


def iotune_in(xml: str, volume_id: str) -> dict:
    for disk in ET.fromstring(xml).findall("./devices/disk"):
        if disk.findtext("serial") == volume_id:
            tune = disk.find("iotune")
            return {} if tune is None else {c.tag: int(c.text) for c in tune}
    return {"absent": True}


def live_iotune(out: str) -> dict:
    """``virsh blkdeviotune --live``: QEMU's throttle values (0 = none). QEMU reports a
    burst length of 1 s for every *_max it has; the module sets no lengths."""
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {k.strip(): int(v) for k, v in pairs
            if v.strip().isdigit() and int(v) and not k.strip().endswith("_length")}


def test_iotune_on_a_defined_guest_then_live(bare_guest, volume_dir, tmp_path):
    base = {"backend": "file", "directory": volume_dir}
    vid = str(uuid.uuid4())
    att = {"instance": bare_guest, "volume_id": vid, **base}
    qos = {"read_iops_sec": "500", "write_iops_sec": 200, "total_bytes_sec": 1048576,
           "total_bytes_sec_max": 2097152}
    want = {"read_iops_sec": 500, "write_iops_sec": 200, "total_bytes_sec": 1048576,
            "total_bytes_sec_max": 2097152}
    new = {"read_bytes_sec": 4096, "write_bytes_sec": 8192}
    live = {"total_iops_sec": 300, "total_iops_sec_max": 600}
    dump = virsh_step("dumpxml", "--inactive", bare_guest)
    steps = {
        "volume": ("volume", {**base, "id": vid, "size": 1}, False),
        "plan": ("volume_attachment", {**att, "iotune": qos}, True),
        "xml_planned": dump,
        "made": ("volume_attachment", {**att, "iotune": qos}, False),
        "xml_made": dump,
        "again": ("volume_attachment", {**att, "iotune": qos}, False),
        "unset": ("volume_attachment", att, False),  # unset: limits left as they are
        "plan_change": ("volume_attachment", {**att, "iotune": new}, True),
        "xml_plan_change": dump,
        "change": ("volume_attachment", {**att, "iotune": new}, False),
        "bad": ("volume_attachment", {**att, "iotune": {"total_bytes_sec": 1, "read_bytes_sec": 1}}, False),
        "xml_changed": dump,
        # live: a started (paused) guest gets the change in QEMU and in its definition
        "start": virsh_step("start", "--paused", bare_guest),
        "live_started": virsh_step("blkdeviotune", bare_guest, "vdd", "--live"),
        "live": ("volume_attachment", {**att, "iotune": live}, False),
        "live_again": ("volume_attachment", {**att, "iotune": live}, False),
        "live_set": virsh_step("blkdeviotune", bare_guest, "vdd", "--live"),
        "xml_live": dump,
        "clear": ("volume_attachment", {**att, "iotune": {}}, False),  # {} removes every limit
        "live_cleared": virsh_step("blkdeviotune", bare_guest, "vdd", "--live"),
        "xml_cleared": dump,
    }
    r = dict(zip(steps, run_tasks(tmp_path, list(steps.values())), strict=True))
    # the domain and the volume file go with the fixtures (undefine; the directory)
    assert r["volume"].changed, r["volume"].msg
    assert r["plan"].changed and r["plan"]["diff"]["after"]["iotune"] == want
    assert iotune_in(r["xml_planned"]["stdout"], vid) == {"absent": True}

    made = r["made"]
    assert made.changed and made["attachment"]["target"] == "vdd", made.msg
    assert made["diff"] == {"before": {}, "after": made["attachment"]} and made["attachment"]["iotune"] == want
    assert iotune_in(r["xml_made"]["stdout"], vid) == want
    assert not r["again"].changed and not r["unset"].changed and not r["again"].failed

    plan = r["plan_change"]
    assert plan.changed and plan["diff"]["before"]["iotune"] == want and plan["diff"]["after"]["iotune"] == new
    assert iotune_in(r["xml_plan_change"]["stdout"], vid) == want
    assert r["change"].changed and r["change"]["attachment"]["iotune"] == new
    # refused before the guest is touched
    assert r["bad"].failed and "cannot be combined" in r["bad"].msg
    assert iotune_in(r["xml_changed"]["stdout"], vid) == new

    assert not r["start"].failed, r["start"].get("stderr")
    assert live_iotune(r["live_started"]["stdout"]) == new
    assert r["live"].changed and not r["live_again"].changed, r["live"].msg
    assert live_iotune(r["live_set"]["stdout"]) == live
    assert iotune_in(r["xml_live"]["stdout"], vid) == live
    assert r["clear"].changed and r["clear"]["attachment"]["iotune"] == {}
    assert live_iotune(r["live_cleared"]["stdout"]) == {}
    assert iotune_in(r["xml_cleared"]["stdout"], vid) == {}
