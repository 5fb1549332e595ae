"""An attachment that spans two hosts, through the API and the pipeline: the storage host
``st1`` is a network namespace (its ``stratus_storage_netns``/``stratus_storage_ip``) that
exports a file volume over NBD, the compute host ``cp1`` is this machine.

What this proves, with no OS booted: the Cinder attachments API with a connector for a
server submits the attachment's job; its playbook runs ``volume_export`` delegated to the
storage host (the qemu-storage-daemon runs inside the namespace, listening on the
storage address, open to the compute host's address only) and ``volume_attachment`` on
the compute host, whose guest - started paused, so QEMU is running - opens the NBD disk
across the namespace boundary (a hot-plug that fails unless QEMU can connect). The
attachment ends ``attached`` with the export's ``nbd`` connection, the volume
``in-use``. Deleting the attachment removes the disk, then the export. And when the
compute side fails (the server's guest is not on its host), the block's rescue removes
the export it had made: no daemon, no state, no access rule left, the attachment gone,
the volume ``available``.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import yaml

from tests.api.compute.servers_db import ServerRows
from tests.api.volume.volume_helpers import Cinder, storage_cloud, wait_volume
from tests.integration.storage.conftest import storage_ns  # noqa: F401 - the namespace fixture

pytestmark = [pytest.mark.api, pytest.mark.block_storage]

V = "3.27"
EXPORT_STATE = "/run/stratus/exports"


def virsh(*argv: str, check: bool = True, stdin: str | None = None) -> str:
    proc = subprocess.run(["virsh", "-c", "qemu:///system", *argv], capture_output=True, text=True, input=stdin)
    assert proc.returncode == 0 or not check, proc.stderr
    return proc.stdout


@pytest.fixture
def two_hosts(module_factory, tmp_path, request, storage_ns, libvirt_daemon):  # noqa: F811
    ctl = storage_cloud(module_factory, tmp_path, request)
    st = {"ansible_connection": "local", "stratus_volume_dir": ctl.storage["dir"],
          "stratus_volume_vg": "stv-none-2h", "stratus_lvm_activation": "off",
          "stratus_storage_netns": storage_ns["ns"], "stratus_storage_ip": storage_ns["storage_ip"]}
    cp = {"ansible_connection": "local", "stratus_storage_ip": storage_ns["host_ip"]}
    inv = {"all": {"children": {"block_storage": {"hosts": {"st1": st}}, "compute": {"hosts": {"cp1": cp}}}}}
    (tmp_path / "two-hosts.yml").write_text(yaml.safe_dump(inv))
    ctl.stratus("host", "sync", "-i", str(tmp_path / "two-hosts.yml"))
    servers = ServerRows(ctl)
    request.addfinalizer(servers.close)
    return ctl, servers, storage_ns


def daemons_in(ns: str) -> list[str]:
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
    return [p for p in pids if "qemu-storage-daemon" in open(f"/proc/{p}/cmdline").read().replace("\0", " ")]


def nbd_rules(ns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "ruleset"], capture_output=True,
                          text=True).stdout


def job_log(ctl) -> str:
    """Every job event of the controller (for a failure's message)."""
    from sqlalchemy import select

    from stratus.db.models.jobs import JobEvent
    from stratus.db.session import Database

    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            return "\n".join(f"{e.attempt} {e.host} {e.task} {e.status}: {e.message[:300]}"
                             for e in s.scalars(select(JobEvent).order_by(JobEvent.id)))
    finally:
        db.dispose()


def wait_jobs(ctl, timeout: float = 120) -> None:
    """Until no job is queued or running (a failed task marks its resource at once; the
    job's rescue runs after that)."""
    from sqlalchemy import select

    from stratus.db.models.jobs import Job
    from stratus.db.session import Database

    db = Database(ctl.database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with db.session() as s:
                busy = [j.status for j in s.scalars(select(Job)) if j.status not in ("SUCCEEDED", "FAILED", "CANCELLED")]
            if not busy:
                return
            time.sleep(0.3)
    finally:
        db.dispose()
    raise AssertionError(f"jobs still running after {timeout}s: {job_log(ctl)}")


def wait_attachment(api: Cinder, att_id: str, status: str | None, timeout: float = 120) -> dict | None:
    """Until the attachment has ``status`` (None: until it is gone); the jobs' events in the failure."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = api("GET", f"/attachments/{att_id}")
        if r.status_code == 404 and status is None:
            return None
        if r.status_code == 404:  # gone while waited for: its job failed
            break
        last = r.json().get("attachment") if r.status_code == 200 else r.text
        if isinstance(last, dict) and last["status"] == status:
            return last
        time.sleep(0.3)
    raise AssertionError(f"attachment {att_id} not {status} after {timeout}s: {last}\n{job_log(api.ctl)}")


def test_nbd_attachment_across_two_hosts_and_rescue(two_hosts):
    ctl, servers, ns = two_hosts
    member = ctl.new_project_user()
    api = Cinder(ctl, member, V)
    vid = api.create(name="two-hosts")["id"]
    wait_volume(ctl, vid)
    good = servers.add(member.project_id, host="cp1", node="cp1")
    gone = servers.add(member.project_id, host="cp1", node="cp1")  # its guest is not on cp1
    domain = f"instance-{good}"  # a bare guest; ACPI, or pci.0 takes no hot-plugged disk
    xml = (f"<domain type='qemu'><name>{domain}</name><uuid>{good}</uuid><memory unit='MiB'>64</memory>"
           "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><features><acpi/></features>"
           "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>")
    virsh("define", "/dev/stdin", stdin=xml)
    try:
        virsh("start", "--paused", domain)
        connector = {"host": "cp1", "ip": ns["host_ip"]}

        # the compute side fails: the rescue takes the export away again
        r = api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "instance_uuid": gone,
                                                             "connector": connector}})
        assert r.status_code == 200, r.text
        failed = r.json()["attachment"]
        assert failed["status"] == "attaching"
        wait_attachment(api, failed["id"], None)
        wait_jobs(ctl)
        assert wait_volume(ctl, vid)["attachments"] == []
        assert daemons_in(ns["ns"]) == [] and f"-{failed['id']}" not in nbd_rules(ns["ns"]), job_log(ctl)

        # the real attach: export in the namespace, the guest's QEMU connects to it
        r = api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "instance_uuid": good,
                                                             "connector": connector}})
        assert r.status_code == 200, r.text
        att = wait_attachment(api, r.json()["attachment"]["id"], "attached")
        info = att["connection_info"]
        assert info["driver_volume_type"] == "nbd" and info["data"]["host"] == ns["storage_ip"]
        assert info["data"]["name"] == f"volume-{vid}-{att['id']}"
        assert wait_volume(ctl, vid, "in-use")["attachments"][0]["server_id"] == good
        assert len(daemons_in(ns["ns"])) == 1
        live = virsh("dumpxml", domain)
        assert f"<serial>{vid}</serial>" in live and f"name='{ns['storage_ip']}'" in live
        assert "protocol='nbd'" in live

        # the delete: the disk leaves the guest, then the export goes
        r = api("DELETE", f"/attachments/{att['id']}")
        assert r.status_code == 200 and r.json() == {"attachments": []}, r.text
        wait_attachment(api, att["id"], None)
        assert wait_volume(ctl, vid)["status"] == "available"
        assert f"<serial>{vid}</serial>" not in virsh("dumpxml", "--inactive", domain)
        assert daemons_in(ns["ns"]) == []
    finally:
        virsh("destroy", domain, check=False)
        virsh("undefine", domain, check=False)
