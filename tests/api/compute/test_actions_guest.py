"""Server actions on ONE booted guest (module-scoped): stop/start, soft and hard reboot,
pause, suspend, console output, rescue/unrescue, rebuild — each through
``POST /compute/v2.1/servers/{id}/action`` on a live controller whose compute host
``c1`` is a private libvirtd; the domain on the host is checked after each, and the
instance actions list them with events from their jobs. Refused transitions leave the
domain as it was."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from pathlib import Path

import libvirt
import pytest
from sqlalchemy import select

from stratus.db.models.compute import InstanceAction, Server
from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova, add_flavors, start_controller
from tests.api.compute.test_servers_boot import upload_qcow2, wait_status
from tests.helpers.guest_console import GuestConsole
from tests.helpers.libvirt_node import libvirt_node1  # noqa: F401 - fixture
from tests.integration.pipeline.conftest import sync_hosts
from tests.integration.pipeline.test_server_on_placed_host import iso_file, uncache

pytestmark = [pytest.mark.api, pytest.mark.compute, pytest.mark.slow]

ACTION_TIMEOUT = 300
READY = "STRATUS-GUEST ready"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")


class Booted:
    """The shared server: its id, the controller, the host's libvirt URI."""

    def __init__(self, ctl, nova: Nova, uri: str, sid: str, image_id: str) -> None:
        self.ctl, self.nova, self.uri, self.id, self.image_id = ctl, nova, uri, sid, image_id
        self.db = Database(ctl.database_url)

    def act(self, body: dict, version: str = "2.1", expect: int = 202):
        r = self.nova("POST", f"/servers/{self.id}/action", version=version, json=body, timeout=200)
        assert r.status_code == expect, r.text
        return r

    def row(self) -> Server:
        with self.db.session() as s:
            row = s.get(Server, self.id)
            s.expunge(row)
            return row

    def settled(self, timeout: float = ACTION_TIMEOUT) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.row()
            if row.task_state is None:
                return row
            time.sleep(0.5)
        raise AssertionError(f"server {self.id} still in task {row.task_state} after {timeout}s")

    def domain(self) -> tuple[int, int, str]:
        """(libvirt state, domain id, XML) of the guest on its host."""
        conn = libvirt.open(self.uri)
        try:
            dom = conn.lookupByName(f"instance-{self.id}")
            return dom.state()[0], dom.ID(), dom.XMLDesc(0)
        finally:
            conn.close()

    def actions(self, version: str = "2.62") -> list[dict]:
        r = self.ctl.request("GET", f"/compute/v2.1/servers/{self.id}/os-instance-actions",
                             headers={"OpenStack-API-Version": f"compute {version}"})  # as admin
        assert r.status_code == 200, r.text
        return r.json()["instanceActions"]

    def console(self) -> GuestConsole:
        return GuestConsole(f"instance-{self.id}", self.uri)

    def job_results(self, action: str) -> str:
        """The module results recorded by the job of the server's latest ``action`` (JSON text)."""
        with self.db.session() as s:
            job_id = s.scalars(select(InstanceAction.job_id).where(
                InstanceAction.server_id == self.id, InstanceAction.action == action)
                .order_by(InstanceAction.id.desc())).first()
        assert job_id, f"no job recorded for {action}"
        r = self.ctl.request("GET", f"/stratus/v1/jobs/{job_id}/events")
        assert r.status_code == 200, r.text
        return json.dumps([e["data"] for e in r.json()["events"]])

    def action(self, request_id: str, version: str = "2.62") -> dict:
        r = self.ctl.request("GET", f"/compute/v2.1/servers/{self.id}/os-instance-actions/{request_id}",
                             headers={"OpenStack-API-Version": f"compute {version}"})
        assert r.status_code == 200, r.text
        return r.json()["instanceAction"]


@pytest.fixture(scope="module")
def booted(request, libvirt_node1, guest_image, tmp_path_factory):  # noqa: F811
    """One server created through ``POST /servers`` by a project member, ACTIVE on c1."""
    factory, ctl = start_controller(request, tmp_path_factory, compute_sync_timeout=120)
    try:
        sync_hosts(ctl, tmp_path_factory.mktemp("power"),
                   {"c1": {"ansible_connection": "local", "stratus_libvirt_uri": libvirt_node1.uri}}, ["compute"])
        ctl.stratus("host", "refresh")
        add_flavors(ctl)
        image_id = upload_qcow2(ctl, Path(guest_image["qcow2"]))
        member = ctl.new_project_user("member", prefix="power")
        nova = Nova(ctl, member, version="2.79")
        sid = nova.create(name="power-guest", imageRef=image_id, networks="none")["server"]["id"]
        wait_status(nova, sid, "ACTIVE")
        server = Booted(ctl, nova, libvirt_node1.uri, sid, image_id)
        yield server
        nova("DELETE", f"/servers/{sid}")
        wait_status(nova, sid, "gone")
        server.db.dispose()
        uncache(image_id)
    finally:
        factory.close()


def test_stop_then_start(booted):
    creds = booted.nova.creds
    booted.ctl.cli("server", "stop", booted.id, creds=creds)  # python-openstackclient
    row = booted.settled()
    assert (row.vm_state, row.power_state) == ("stopped", 4)
    assert booted.domain()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    # a stopped server cannot be paused: 409, the domain stays off
    r = booted.act({"pause": None}, expect=409)
    assert r.json()["conflictingRequest"]["message"] == \
        f"Cannot 'pause' instance {booted.id} while it is in vm_state stopped"
    assert booted.domain()[0] == libvirt.VIR_DOMAIN_SHUTOFF and booted.row().task_state is None
    (req,) = [a["request_id"] for a in booted.actions() if a["action"] == "stop"]
    stop = booted.action(req)
    assert stop["action"] == "stop" and stop["message"] is None
    (event,) = stop["events"]
    assert event["event"] == "compute_stop_instance" and event["result"] == "Success"
    assert event["host"] == "c1" and len(event["hostId"]) == 56 and event["finish_time"]
    booted.ctl.conn(creds).compute.start_server(booted.id)  # openstacksdk
    row = booted.settled()
    assert (row.vm_state, row.power_state) == ("active", 1)
    assert booted.domain()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert [a["action"] for a in booted.actions()[:2]] == ["start", "stop"]
    events = booted.ctl.cli("server", "event", "list", booted.id, "-f", "json", creds=creds)
    assert [e["Action"] for e in events][:2] == ["start", "stop"]


def test_soft_reboot_reaches_the_guest(booted):
    with booted.console() as con:
        con.wait_for(READY, timeout=240)
        token = f"MARK-{uuid.uuid4().hex[:8]}"
        rc, out = con.run(f"echo {token} > /tmp/mark; cat /tmp/mark")
        assert rc == 0 and token in out
    _, before, _ = booted.domain()
    booted.act({"reboot": {"type": "SOFT"}})
    assert booted.settled().vm_state == "active"
    state, after, _ = booted.domain()
    assert state == libvirt.VIR_DOMAIN_RUNNING and after != before  # a new QEMU process
    # the guest's acpid powered it off: no fallback to a hard reboot
    results = booted.job_results("reboot")
    assert '"method": "soft"' in results and "soft timed out" not in results, results
    with booted.console() as con:
        con.wait_for(READY, timeout=240)
        assert token not in con.read()  # the console log of a new boot
        rc, _ = con.run("test -e /tmp/mark")
        assert rc == 1  # the tmpfs of the old boot is gone


def test_hard_reboot_restarts_the_guest(booted):
    _, before, _ = booted.domain()
    booted.act({"reboot": {"type": "HARD"}})
    assert booted.row().task_state == "rebooting_hard"
    assert booted.settled().vm_state == "active"
    state, after, _ = booted.domain()
    assert state == libvirt.VIR_DOMAIN_RUNNING and after != before  # a new QEMU process


def test_pause_unpause_suspend_resume(booted):
    booted.act({"pause": None})
    row = booted.settled()
    assert (row.vm_state, row.power_state) == ("paused", 3)
    assert booted.domain()[0] == libvirt.VIR_DOMAIN_PAUSED
    booted.act({"unpause": None})
    assert booted.settled().vm_state == "active" and booted.domain()[0] == libvirt.VIR_DOMAIN_RUNNING
    booted.act({"suspend": None})
    row = booted.settled()
    assert (row.vm_state, row.power_state) == ("suspended", 7)
    assert booted.domain()[0] == libvirt.VIR_DOMAIN_SHUTOFF  # saved to disk (managed save)
    booted.act({"resume": None})
    assert booted.settled().vm_state == "active" and booted.domain()[0] == libvirt.VIR_DOMAIN_RUNNING


def test_console_output_is_the_log_tail(booted):
    log = Path(f"/var/lib/stratus/instances/{booted.id}/console.log")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(log.read_text(errors="replace").splitlines()) < 3:
        time.sleep(1)
    out = booted.ctl.conn(booted.nova.creds).compute.get_server_console_output(booted.id, length=3)["output"]
    lines = out.splitlines()
    assert 0 < len(lines) <= 3
    text = CONTROL.sub("", log.read_text(errors="replace"))  # Nova strips control characters
    assert all(line in text for line in lines)
    assert "\x1b" not in out
    full = booted.act({"os-getConsoleOutput": {}}, expect=200).json()["output"]
    assert len(full.splitlines()) >= len(lines) and lines[0] in full
    assert booted.row().task_state is None  # reading the console is not a task
    r = booted.act({"os-getConsoleOutput": {"length": "x"}}, expect=400)
    assert "length" in r.json()["badRequest"]["message"]


def test_rescue_then_unrescue(booted):
    _, _, xml = booted.domain()
    assert booted.act({"rescue": None}, expect=200).json() == {}
    row = booted.settled()
    assert row.vm_state == "rescued"
    _, _, rescued = booted.domain()
    assert rescued.count("<disk ") == xml.count("<disk ") + 1  # the own disk second
    with booted.console() as con:  # the rescue system sees the server's own disk second
        con.wait_for(READY, timeout=240)
        rc, out = con.run("cat /sys/block/vdb/size")
        assert rc == 0 and int(out.split()[0]) > 0
    booted.act({"os-start": None}, expect=409)
    booted.act({"unrescue": None})
    assert booted.settled().vm_state == "active"
    assert booted.domain()[2].count("<disk ") == xml.count("<disk ")
    with booted.console() as con:
        con.wait_for(READY, timeout=240)
        rc, _ = con.run("test -e /sys/block/vdb")
        assert rc == 1
    assert [a["action"] for a in booted.actions()[:2]] == ["unrescue", "rescue"]


def test_rebuild_on_another_image(booted, guest_image):
    other = upload_qcow2(booted.ctl, Path(guest_image["qcow2"]))
    try:
        r = booted.act({"rebuild": {"imageRef": other, "name": "rebuilt", "metadata": {"k": "v"}}}, "2.75")
        body = r.json()["server"]
        assert body["id"] == booted.id and body["status"] == "REBUILD" and body["name"] == "rebuilt"
        assert body["OS-EXT-STS:task_state"] == "rebuilding" and body["metadata"] == {"k": "v"}  # 2.75: whole
        row = booted.settled()
        assert (row.vm_state, row.image_id, row.name) == ("active", other, "rebuilt")
        state, _, xml = booted.domain()
        assert state == libvirt.VIR_DOMAIN_RUNNING and other in xml  # the image in the domain metadata
        missing = str(uuid.uuid4())
        r = booted.act({"rebuild": {"imageRef": missing}}, expect=400)
        assert r.json()["badRequest"]["message"] == f"Image {missing} could not be found."
        assert booted.row().image_id == other and booted.row().task_state is None
        # back on the first image at 2.57: new user data in the config drive, the older answer
        script = "#!/bin/sh\necho rebuilt\n"
        r = booted.act({"rebuild": {"imageRef": booted.image_id,
                                    "user_data": base64.b64encode(script.encode()).decode()}}, "2.57")
        body = r.json()["server"]
        assert body["status"] == "REBUILD" and body["user_data"] and "key_name" in body
        assert not [k for k in body if k.startswith("OS-EXT-STS:")]  # no extension keys before 2.75
        assert booted.settled().image_id == booted.image_id
        drive = Path(f"/var/lib/stratus/instances/{booted.id}/disk.config")
        assert iso_file(drive, "/openstack/latest/user_data") == script
        assert json.loads(iso_file(drive, "/openstack/latest/meta_data.json"))["meta"] == {"k": "v"}
    finally:
        uncache(other)
