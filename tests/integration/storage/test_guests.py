"""Volumes in real guests: hot-attach, data through the disk, detach, re-attach to another
guest, snapshots and extend seen by the guest, and a remote attach over NBD from a
"storage host" in its own network namespace with per-attachment access control.

Two tiny guests (stratus.cloud.instance) serve every test of this file. Inside a guest the
volume is found by its serial (the first 20 characters of the volume id), not by name:
the guest names disks in probe order, whatever the domain XML says (as with Nova)."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from tests.helpers.ansible import run_module
from tests.helpers.guest_console import GuestConsole
from tests.integration.storage.test_export import process_gone

# Defining a domain on a busy libvirtd can take minutes; the two guests are made once.
pytestmark = [pytest.mark.block_storage, pytest.mark.slow, pytest.mark.timeout(1800)]

GiB = 1024**3


@pytest.fixture(scope="module")
def consoles(guests):
    names = guests(2)
    cons = [GuestConsole(n) for n in names]
    for con in cons:
        con.__enter__()
    try:
        for con in cons:
            con.wait_for(r"STRATUS-GUEST ready", timeout=300)
        yield list(zip(names, cons, strict=True))
    finally:
        for con in cons:
            con.__exit__(None, None, None)


def find_dev(con: GuestConsole, volume_id: str, present: bool = True) -> str:
    """The guest's block device whose serial is the volume's ('' when absent)."""
    cmd = (f'for i in 1 2 3 4 5 6 7 8 9 10; do for d in /sys/block/vd*; do '
           f'[ "$(cat $d/serial 2>/dev/null)" = "{volume_id[:20]}" ] && echo DEV=${{d##*/}} && exit_now=1; done; '
           f'[ -n "$exit_now" ] && break; [ "{int(present)}" = 0 ] && break; sleep 1; done')
    rc, out = con.run(cmd, timeout=60)
    devs = [ln[4:] for ln in out.splitlines() if ln.startswith("DEV=")]
    return devs[0] if devs else ""


def write_marker(con: GuestConsole, dev: str, marker: str) -> None:
    rc, out = con.run(f"echo {marker} | dd of=/dev/{dev} bs=512 conv=fsync 2>/dev/null; sync", timeout=60)
    assert rc == 0, out


def read_marker(con: GuestConsole, dev: str) -> str:
    rc, out = con.run(f"dd if=/dev/{dev} bs=64 count=1 2>/dev/null | head -n 1", timeout=60)
    assert rc == 0, out
    return out.strip()


def attach(instance: str, vid: str, **extra) -> dict:
    res = run_module("volume_attachment", {"instance": instance, "volume_id": vid, **extra})
    assert not res.failed, res.msg
    return res


def detach(instance: str, vid: str) -> dict:
    res = run_module("volume_attachment", {"instance": instance, "volume_id": vid, "state": "absent"})
    assert not res.failed, res.msg
    return res


def test_volume_moves_between_guests_with_snapshot_and_extend(consoles, volume_dir):
    (g1, c1), (g2, c2) = consoles
    base = {"backend": "file", "directory": volume_dir}
    vid, sid, vid2 = (str(uuid.uuid4()) for _ in range(3))
    assert run_module("volume", {**base, "id": vid, "size": 1}).changed
    local = {**base}
    marker = f"MARK-{uuid.uuid4().hex[:8]}"
    try:
        # attach: check mode plans, the real run hot-plugs, the second run changes nothing
        planned = run_module("volume_attachment", {"instance": g1, "volume_id": vid, **local}, check=True)
        assert planned.changed and planned["device"] == "/dev/vdd"
        assert find_dev(c1, vid, present=False) == ""
        res = attach(g1, vid, **local)
        assert res.changed and res["device"] == "/dev/vdd" and res["diff"]["after"]["path"].endswith(vid)
        assert not attach(g1, vid, **local).changed
        dev = find_dev(c1, vid)
        assert dev, "the guest did not see the hot-plugged volume"
        write_marker(c1, dev, marker)

        # persistent: the disk is in the domain definition too
        xml = subprocess.run(["virsh", "dumpxml", "--inactive", g1], capture_output=True, text=True).stdout
        assert f"<serial>{vid}</serial>" in xml

        # in use: a second guest without multiattach, delete, extend, snapshot are refused
        second = run_module("volume_attachment", {"instance": g2, "volume_id": vid, **local})
        assert second.failed and g1 in second.msg and "multiattach" in second.msg
        assert find_dev(c2, vid, present=False) == ""
        busy = run_module("volume", {**base, "id": vid, "state": "absent"})
        assert busy.failed and "in use" in busy.msg and os.path.exists(f"{volume_dir}/volume-{vid}")
        grow = run_module("volume", {**base, "id": vid, "size": 2})
        assert grow.failed and "detach" in grow.msg
        snap = run_module("volume_snapshot", {**base, "id": sid, "volume_id": vid})
        assert snap.failed and "force" in snap.msg

        # detach (check mode first), then the second guest reads what the first wrote
        assert run_module("volume_attachment", {"instance": g1, "volume_id": vid, "state": "absent"}, check=True).changed
        assert find_dev(c1, vid)
        assert detach(g1, vid).changed
        assert not detach(g1, vid).changed
        assert find_dev(c1, vid, present=False) == ""
        attach(g2, vid, **local)
        dev2 = find_dev(c2, vid)
        assert read_marker(c2, dev2) == marker
        detach(g2, vid)

        # snapshot, overwrite the volume, a volume from the snapshot has the snapshot's data
        assert run_module("volume_snapshot", {**base, "id": sid, "volume_id": vid}).changed
        attach(g1, vid, **local)
        write_marker(c1, find_dev(c1, vid), "OVERWRITTEN")
        detach(g1, vid)
        assert run_module("volume", {**base, "id": vid2, "snapshot_id": sid}).changed
        attach(g2, vid2, **local)
        assert read_marker(c2, find_dev(c2, vid2)) == marker
        detach(g2, vid2)

        # extend while detached; the guest sees the new size after re-attach
        assert run_module("volume", {**base, "id": vid, "size": 2}).changed
        attach(g2, vid, **local)
        dev = find_dev(c2, vid)
        rc, out = c2.run(f"cat /sys/block/{dev}/size")
        assert int(out.strip()) * 512 == 2 * GiB
        assert read_marker(c2, dev) == "OVERWRITTEN"
        detach(g2, vid)
    finally:
        for g in (g1, g2):
            for v in (vid, vid2):
                run_module("volume_attachment", {"instance": g, "volume_id": v, "state": "absent"})


def test_multiattach_volume_in_two_guests(consoles, volume_dir):
    (g1, c1), (g2, c2) = consoles
    base = {"backend": "file", "directory": volume_dir}
    vid = str(uuid.uuid4())
    assert run_module("volume", {**base, "id": vid, "size": 1, "multiattach": True}).changed
    try:
        attach(g1, vid, **base)
        res = attach(g2, vid, **base)
        assert res["attachment"]["shareable"]
        write_marker(c1, find_dev(c1, vid), "SHARED")
        assert read_marker(c2, find_dev(c2, vid)) == "SHARED"
    finally:
        for g in (g1, g2):
            run_module("volume_attachment", {"instance": g, "volume_id": vid, "state": "absent"})


def nbd_info(uri: str) -> subprocess.CompletedProcess:
    return subprocess.run(["timeout", "20", "qemu-img", "info", uri], capture_output=True, text=True)


def test_remote_attach_over_nbd(consoles, volume_dir, storage_ns, tmp_path):
    (g1, c1), _ = consoles
    ns, host_ip, storage_ip = storage_ns["ns"], storage_ns["host_ip"], storage_ns["storage_ip"]
    state_dir = str(tmp_path / "exports")
    base = {"backend": "file", "directory": volume_dir}
    vid, other = str(uuid.uuid4()), str(uuid.uuid4())
    assert run_module("volume", {**base, "id": vid, "size": 1}).changed
    assert run_module("volume", {**base, "id": other, "size": 1}).changed
    path = f"{volume_dir}/volume-{vid}"
    with open(path, "r+b") as fh:  # written on the storage host, read by the guest later
        fh.seek(GiB // 2)
        fh.write(b"FROM-STORAGE\n")
    exp = {**base, "volume_id": vid, "attachment_id": "att-a", "host": storage_ip, "allowed": [host_ip],
           "netns": ns, "export_state_dir": state_dir}
    try:
        check = run_module("volume_export", exp, check=True)
        assert check.changed and not os.path.exists(state_dir)
        made = run_module("volume_export", exp)
        assert made.changed, made.msg
        conn = made["export"]["connection"]
        assert conn == {"driver_volume_type": "nbd", "host": storage_ip, "port": conn["port"],
                        "name": f"volume-{vid}-att-a", "format": "raw"}
        again = run_module("volume_export", exp)
        assert not again.changed and again["export"]["pid"] == made["export"]["pid"]

        # per-attachment access control: this host is allowed on att-a's port, not on the
        # port of an export whose allow-list names another initiator
        refused_exp = run_module("volume_export", {**exp, "volume_id": other, "attachment_id": "att-b",
                                                   "allowed": [f"{host_ip[:-1]}3"]})
        assert refused_exp.changed, refused_exp.msg
        assert nbd_info(made["export"]["uri"]).returncode == 0
        refused = nbd_info(refused_exp["export"]["uri"])
        assert refused.returncode != 0 and "refused" in refused.stderr.lower()
        # a second attachment of a volume that is not multiattach is refused
        twice = run_module("volume_export", {**exp, "attachment_id": "att-c"})
        assert twice.failed and "not multiattach" in twice.msg

        # the guest on the compute side attaches over NBD and sees the storage side's data
        res = attach(g1, vid, connection=conn)
        assert res.changed and res["attachment"]["kind"] == "network"
        dev = find_dev(c1, vid)
        rc, out = c1.run(f"dd if=/dev/{dev} bs=512 skip={GiB // 2 // 512} count=1 2>/dev/null | head -n 1")
        assert out.strip() == "FROM-STORAGE"
        write_marker(c1, dev, "FROM-GUEST")
        with open(path, "rb") as fh:  # ... and what it writes lands in the storage host's file
            assert fh.read(10) == b"FROM-GUEST"

        # the storage side will not delete an exported volume
        busy = run_module("volume", {**base, "id": vid, "state": "absent", "export_state_dir": state_dir})
        assert busy.failed and "export" in busy.msg

        # detach, then unexport: the daemon is gone and the port closed
        detach(g1, vid)
        gone = run_module("volume_export", {**exp, "state": "absent"})
        assert gone.changed and process_gone(made["export"]["pid"])
        assert not run_module("volume_export", {**exp, "state": "absent"}).changed
        assert nbd_info(made["export"]["uri"]).returncode != 0
    finally:
        run_module("volume_attachment", {"instance": g1, "volume_id": vid, "state": "absent"})
        for v, a in ((vid, "att-a"), (other, "att-b")):
            run_module("volume_export", {**exp, "volume_id": v, "attachment_id": a, "state": "absent"})
