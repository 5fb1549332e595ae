"""Cinder's attachments API (3.27) and the legacy attach actions, as records on a real
storage host (this machine): reserve, connect (the storage host reaches the volume by
its local path; any other host is refused, saying how to attach instead), complete,
list/detail/show with Cinder's keys, delete; os-reserve ... os-detach; the type's
front-end QoS in connection_info; tenant isolation; every refusal leaves the records as
they were.

The last test is an attachment that spans two hosts, through the API and the pipeline: the
storage host ``st1`` is a network namespace (its ``stratus_storage_netns``/``stratus_storage_ip``) that
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

The module's tests share one controller and storage host."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
import yaml
from sqlalchemy import select

from stratus.db.models.volume import QosSpecs, VolumeAttachment, VolumeType
from stratus.db.session import Database
from tests.api.compute.servers_db import ServerRows
from tests.api.volume.volume_helpers import Cinder, fault, storage_cloud, wait_volume
from tests.integration.storage.conftest import storage_ns  # noqa: F401 - the namespace fixture

pytestmark = [pytest.mark.api, pytest.mark.block_storage]

V = "3.27"


# SQLite always; PostgreSQL too when STRATUS_TEST_BACKENDS names it explicitly (the
# records are the same code on both; CI time is spent once)
BACKENDS = ["sqlite"] + (["postgresql"] if "postgresql" in os.environ.get("STRATUS_TEST_BACKENDS", "") else [])


@pytest.fixture(scope="module", params=BACKENDS)
def cloud(module_factory, tmp_path_factory, request):
    return storage_cloud(module_factory, tmp_path_factory.mktemp("att"), request, backend=request.param)


def rows(ctl, volume_id: str) -> list[tuple[str, str]]:
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            return sorted((r.id, r.attach_status) for r in s.scalars(
                select(VolumeAttachment).where(VolumeAttachment.volume_id == volume_id)))
    finally:
        db.dispose()


def with_front_end_qos(ctl, specs: dict[str, str]) -> str:
    """A volume type associated with a front-end QoS (written as the QoS API would)."""
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            qos = QosSpecs(id=str(uuid.uuid4()), name=f"q-{uuid.uuid4().hex[:6]}", consumer="front-end", specs=specs)
            vt = VolumeType(id=str(uuid.uuid4()), name=f"t-{uuid.uuid4().hex[:6]}", qos_specs_id=qos.id)
            s.add_all([qos, vt])
            return vt.name
    finally:
        db.dispose()


def test_attachments_api_reserve_connect_complete_delete(cloud):
    member, other = cloud.new_project_user(), cloud.new_project_user()
    api, them = Cinder(cloud, member, V), Cinder(cloud, other, V)
    vtype = with_front_end_qos(cloud, {"read_iops_sec": "500", "total_bytes_sec": "1048576", "maxIOPS": "9"})
    vol = api.create(volume_type=vtype)
    wait_volume(cloud, vol["id"])
    vid, server = vol["id"], str(uuid.uuid4())

    # below 3.27 the API is not there (Cinder's 404)
    assert fault(api("GET", "/attachments", version="3.26"), 404) == "The resource could not be found."
    assert api("GET", "/attachments").json() == {"attachments": []}

    # refusals first: nothing changes
    assert "volume_uuid" in fault(api("POST", "/attachments", json={"attachment": {}}), 400)
    assert "unexpected" in fault(api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "x": 1}}), 400)
    assert fault(them("POST", "/attachments", json={"attachment": {"volume_uuid": vid}}), 404) == \
        f"Volume {vid} could not be found."
    assert rows(cloud, vid) == [] and api.show(vid)["status"] == "available"

    # reserve
    r = api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "instance_uuid": server}})
    assert r.status_code == 200, r.text
    att = r.json()["attachment"]
    assert set(att) == {"id", "status", "instance", "volume_id", "attached_at", "detached_at", "attach_mode",
                        "connection_info"}
    assert (att["status"], att["instance"], att["volume_id"], att["connection_info"]) == ("reserved", server, vid, {})
    assert api.show(vid)["status"] == "reserved"
    # a second attachment of a volume that is not multiattach
    again = api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "instance_uuid": str(uuid.uuid4())}})
    assert "already attached" in fault(again, 400)
    assert rows(cloud, vid) == [(att["id"], "reserved")]

    # connect: a host that cannot reach it is refused (with how to attach), the storage host gets the path
    far = api("PUT", f"/attachments/{att['id']}", json={"attachment": {"connector": {"host": "elsewhere"}}})
    assert "instance_uuid" in fault(far, 400)
    assert rows(cloud, vid) == [(att["id"], "reserved")]
    assert fault(them("PUT", f"/attachments/{att['id']}", json={"attachment": {"connector": {"host": "st1"}}}), 404)
    r = api("PUT", f"/attachments/{att['id']}",
            json={"attachment": {"connector": {"host": cloud.storage["host"], "mountpoint": "/dev/vdb"}}})
    assert r.status_code == 200, r.text
    got = r.json()["attachment"]
    info = got["connection_info"]
    assert got["status"] == "attaching" and info["driver_volume_type"] == "local"
    assert info["data"]["path"] == f"{cloud.storage['dir']}/volume-{vid}" and info["data"]["access_mode"] == "rw"
    assert info["data"]["qos_specs"] == {"read_iops_sec": "500", "total_bytes_sec": "1048576", "maxIOPS": "9"}
    assert api.show(vid)["status"] == "attaching"

    # complete
    r = api("POST", f"/attachments/{att['id']}/action", json={"os-complete": None})
    assert r.status_code == 204, r.text
    shown = api.show(vid)
    assert shown["status"] == "in-use" and shown["attachments"][0]["attachment_id"] == att["id"]
    assert shown["attachments"][0]["device"] == "/dev/vdb"

    # list, detail, show, filters; another project sees none of it
    assert api("GET", "/attachments").json() == {"attachments": [
        {"id": att["id"], "status": "attached", "instance": server, "volume_id": vid}]}
    detail = api("GET", "/attachments/detail", params={"volume_id": vid}).json()["attachments"]
    assert detail[0]["attached_at"] and detail[0]["connection_info"]["data"]["volume_id"] == vid
    assert api("GET", "/attachments", params={"instance_id": str(uuid.uuid4())}).json()["attachments"] == []
    assert api("GET", f"/attachments/{att['id']}").json()["attachment"]["status"] == "attached"
    assert them("GET", "/attachments").json()["attachments"] == []
    assert fault(them("GET", f"/attachments/{att['id']}"), 404)
    assert fault(them("DELETE", f"/attachments/{att['id']}"), 404)
    # the CLI reads the same list
    listed = cloud.cli("--os-volume-api-version", V, "volume", "attachment", "list", "-f", "json", creds=member)
    assert [(a["ID"], a["Status"]) for a in listed] == [(att["id"], "attached")]

    # delete: the volume is available again, the answer lists the volume's other attachments
    r = api("DELETE", f"/attachments/{att['id']}")
    assert r.status_code == 200 and r.json() == {"attachments": []}, r.text
    assert rows(cloud, vid) == [] and api.show(vid)["status"] == "available"


def test_legacy_attach_actions(cloud):
    member = cloud.new_project_user()
    api = Cinder(cloud, member, "3.0")
    vid = api.create()["id"]
    wait_volume(cloud, vid)

    def act(name, args=None, expect=202):
        r = api("POST", f"/volumes/{vid}/action", json={name: args})
        assert r.status_code == expect, r.text
        return r

    act("os-reserve")
    assert api.show(vid)["status"] == "attaching"
    assert "must be available" in fault(act("os-reserve", expect=400), 400)
    act("os-unreserve")
    assert api.show(vid)["status"] == "available"

    # initialize_connection: the storage host's local path; another host is refused
    info = act("os-initialize_connection", {"connector": {"host": cloud.storage["host"]}}, 200).json()
    assert info["connection_info"]["driver_volume_type"] == "local"
    assert info["connection_info"]["data"]["path"].endswith(f"volume-{vid}")
    assert "cannot reach" in fault(act("os-initialize_connection", {"connector": {"host": "h2"}}, 400), 400)
    assert "connector" in fault(act("os-initialize_connection", {"connector": "h2"}, 400), 400)

    # refusals leave the records alone
    assert "mountpoint" in fault(act("os-attach", {"instance_uuid": str(uuid.uuid4())}, 400), 400)
    assert "mode" in fault(act("os-attach", {"instance_uuid": "x", "mountpoint": "/dev/vdb", "mode": "xx"}, 400), 400)
    assert "must be 'in-use'" in fault(act("os-begin_detaching", expect=400), 400)
    assert "not attached" in fault(act("os-detach", {}, 400), 400)
    assert rows(cloud, vid) == [] and api.show(vid)["status"] == "available"

    # reserve, attach (a record), begin/roll detaching, detach
    server = str(uuid.uuid4())
    act("os-reserve")
    act("os-attach", {"instance_uuid": server, "mountpoint": "/dev/vdc", "mode": "rw"})
    shown = api.show(vid)
    assert shown["status"] == "in-use" and shown["attachments"][0]["server_id"] == server
    assert shown["attachments"][0]["device"] == "/dev/vdc"
    act("os-begin_detaching")
    assert api.show(vid)["status"] == "detaching"
    act("os-roll_detaching")
    assert api.show(vid)["status"] == "in-use"
    act("os-begin_detaching")
    act("os-detach", {"attachment_id": shown["attachments"][0]["attachment_id"]})
    act("os-terminate_connection", {"connector": {"host": cloud.storage["host"]}})
    assert rows(cloud, vid) == [] and api.show(vid)["status"] == "available"


# -- two hosts --------------------------------------------------------------------------------


def virsh(*argv: str, check: bool = True, stdin: str | None = None) -> str:
    proc = subprocess.run(["virsh", "-c", "qemu:///system", *argv], capture_output=True, text=True, input=stdin)
    assert proc.returncode == 0 or not check, proc.stderr
    return proc.stdout


@pytest.fixture
def two_hosts(cloud, tmp_path, storage_ns, libvirt_daemon):  # noqa: F811
    """The module's storage host ``st1`` moved into a network namespace (its export
    address inside), and a compute host ``cp1`` (this machine); ``st1`` as it was after."""
    st = {"ansible_connection": "local", "stratus_volume_dir": cloud.storage["dir"],
          "stratus_volume_vg": "stv-none-2h", "stratus_lvm_activation": "off"}
    cp = {"ansible_connection": "local", "stratus_storage_ip": storage_ns["host_ip"]}

    def sync(st_vars: dict) -> None:
        inv = {"all": {"children": {"block_storage": {"hosts": {"st1": st_vars}}, "compute": {"hosts": {"cp1": cp}}}}}
        (tmp_path / "two-hosts.yml").write_text(yaml.safe_dump(inv))
        cloud.stratus("host", "sync", "-i", str(tmp_path / "two-hosts.yml"))

    sync({**st, "stratus_storage_netns": storage_ns["ns"], "stratus_storage_ip": storage_ns["storage_ip"]})
    servers = ServerRows(cloud)
    yield cloud, servers, storage_ns
    servers.close()
    sync(st)


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
        # the export's daemon listens on the storage address inside the namespace
        listening = subprocess.run(["ip", "netns", "exec", ns["ns"], "ss", "-Hltn"], capture_output=True,
                                   text=True).stdout
        assert f"{ns['storage_ip']}:{info['data']['port']}" in listening, (
            listening, subprocess.run(["pgrep", "-af", "qemu-storage-daemon"], capture_output=True, text=True).stdout,
            job_log(ctl))
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
