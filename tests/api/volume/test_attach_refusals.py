"""Nova's ``os-volume_attachments`` refusals, without booting a guest: one controller
whose host ``c1`` is a real storage host (file backend); servers are rows put in a state
(``set_state``), so an attach that passes the API runs its job against a guest that does
not exist - which shows the job's rescue: the failure leaves neither the disk nor the
record, and the volume is ``available`` again.

Every refusal checks nothing changed: the volume's status, its attachments, the server's
attachment list."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tests.api.compute.servers_helpers import Nova, add_flavors, fault, set_state, upload_raw_image
from tests.api.volume.volume_helpers import Cinder, storage_cloud, wait_volume

pytestmark = [pytest.mark.api, pytest.mark.block_storage, pytest.mark.compute]


class World:
    def __init__(self, ctl) -> None:
        self.ctl = ctl
        self.member = ctl.new_project_user("member", prefix="attref")
        self.other = ctl.new_project_user("member", prefix="attother")
        self.nova = Nova(ctl, self.member, version="2.79")
        self.cinder = Cinder(ctl, self.member, version="3.27")
        self.image_id = upload_raw_image(ctl)

    def server(self, *, active_on: str | None = None, creds=None) -> str:
        """A server of the project; no compute host exists, so it lands in ERROR at once
        (NoValidHost); ``active_on``: then put ACTIVE on that host (no guest there)."""
        nova = Nova(self.ctl, creds, version="2.79") if creds else self.nova
        sid = nova.create(imageRef=self.image_id, networks="none")["server"]["id"]
        deadline = time.monotonic() + 60
        while nova.show(sid)["status"] != "ERROR":
            assert time.monotonic() < deadline, nova.show(sid)
            time.sleep(0.2)
        if active_on:
            set_state(self.ctl, sid, "active", None, host=active_on, node=active_on, launched_at=None)
        return sid

    def volume(self, creds=None, **body) -> str:
        cinder = Cinder(self.ctl, creds, version="3.27") if creds else self.cinder
        vid = cinder.create(**body)["id"]
        wait_volume(self.ctl, vid, "available", token=cinder.token)
        return vid

    def attach(self, sid: str, vid: str, version: str = "2.79", **extra):
        return self.nova("POST", f"/servers/{sid}/os-volume_attachments", version=version,
                         json={"volumeAttachment": {"volumeId": vid, **extra}})

    def unchanged(self, sid: str, vid: str, status: str = "available") -> None:
        vol = self.cinder.show(vid)
        assert vol["status"] == status and vol["attachments"] == [], vol
        r = self.nova("GET", f"/servers/{sid}/os-volume_attachments")
        assert r.status_code == 200 and r.json()["volumeAttachments"] == [], r.text


@pytest.fixture(scope="module")
def world(module_factory, tmp_path_factory, request):
    """The shared controller: SQLite, or PostgreSQL when STRATUS_TEST_BACKENDS names only
    it (one backend per run keeps the module's time; the attach's lock and reads are the
    same code on both)."""
    backend = "postgresql" if os.environ.get("STRATUS_TEST_BACKENDS") == "postgresql" else "sqlite"
    ctl = storage_cloud(module_factory, tmp_path_factory.mktemp("attref"), request, host="c1", backend=backend)
    add_flavors(ctl)
    return World(ctl)


def test_attach_is_refused_in_nova_words_and_nothing_changes(world):
    w = world
    sid = w.server()
    vid = w.volume()
    # a server in ERROR takes no volume (Nova's check_instance_state: 409)
    msg = fault(w.attach(sid, vid), 409)
    assert msg == f"Cannot 'attach_volume' instance {sid} while it is in vm_state error"
    w.unchanged(sid, vid)
    # another project's volume and server do not exist for the caller
    foreign = w.volume(w.other)
    assert fault(w.attach(sid, foreign), 404) == f"Volume {foreign} could not be found."
    foreign_server = w.server(creds=w.other)
    r = w.nova("POST", f"/servers/{foreign_server}/os-volume_attachments",
               json={"volumeAttachment": {"volumeId": vid}})
    assert fault(r, 404) == f"Instance {foreign_server} could not be found."
    # the body as Nova's schema has it: tag from 2.49, a device path, a uuid
    set_state(w.ctl, sid, "active", None, host="c1", node="c1")
    assert "Additional properties are not allowed ('tag' was unexpected)" in fault(
        w.attach(sid, vid, version="2.48", tag="data"), 400)
    assert "Invalid input for field/attribute device" in fault(w.attach(sid, vid, device="/dev/../x"), 400)
    assert "Invalid input for field/attribute volumeId" in fault(w.attach(sid, "not-a-uuid"), 400)
    # a multiattach volume needs 2.60
    multi = w.volume(multiattach=True)
    assert fault(w.attach(sid, multi, version="2.59"), 400) == (
        "Multiattach volumes are only supported starting with compute API version 2.60.")
    # a detach of a volume that is not attached
    assert fault(w.nova("DELETE", f"/servers/{sid}/os-volume_attachments/{vid}"), 404) == (
        f"Instance {sid} is not attached to volume {vid}")
    # swap: admins only, and only for a volume Cinder migrates
    r = w.nova("PUT", f"/servers/{sid}/os-volume_attachments/{vid}", json={"volumeAttachment": {"volumeId": multi}})
    assert r.status_code == 403, r.text
    admin = Nova(w.ctl, None, version="2.79")
    r = admin("PUT", f"/servers/{sid}/os-volume_attachments/{vid}", json={"volumeAttachment": {"volumeId": multi}})
    assert fault(r, 409) == f"volume {vid} is not migrating; this API should only be called by Cinder"
    for v in (vid, multi):
        w.unchanged(sid, v)


def test_a_failed_attach_leaves_neither_half_and_twice_is_refused_meanwhile(world):
    w = world
    a, b = w.server(active_on="c1"), w.server(active_on="c1")
    vid = w.volume()
    r = w.attach(a, vid, tag="data")
    assert r.status_code == 200, r.text
    assert r.json()["volumeAttachment"] == {"id": vid, "serverId": a, "volumeId": vid, "device": "/dev/vdb",
                                            "tag": "data", "delete_on_termination": False}
    # while it is being attached: the volume is taken (Nova's words), and cannot be deleted (Cinder's)
    assert fault(w.attach(b, vid), 400) == f"Invalid volume: volume {vid} is already attached to instances: {a}"
    assert fault(w.attach(a, vid), 400) == f"Invalid volume: volume {vid} is already attached to instances: {a}"
    r = w.cinder("DELETE", f"/volumes/{vid}")
    assert fault(r, 400).startswith("Invalid volume: Volume status must be available")
    assert w.nova.show(a)["os-extended-volumes:volumes_attached"] == [{"id": vid, "delete_on_termination": False}]
    # the guest does not exist: the job fails, its rescue removes both halves, the
    # record goes and the volume is available again
    wait_volume(w.ctl, vid, "available", token=w.cinder.token, timeout=120)
    w.unchanged(a, vid)
    assert w.nova.show(b)["os-extended-volumes:volumes_attached"] == []
    r = w.ctl.request("GET", f"/stratus/v1/resources/{_attachment_resource(w, vid)}")
    events = w.ctl.request("GET", f"/stratus/v1/jobs/{r.json()['resource']['last_job_id']}/events").json()["events"]
    failed = [e for e in events if e.get("status") == "failed"]
    assert any("failed, both halves removed" in (e.get("task") or "") and "is not defined on this host"
               in (e.get("message") or "") for e in failed), [(e["task"], e["message"]) for e in events]
    # the volume can be attached again (here to B, whose guest is as absent)
    assert w.attach(b, vid).status_code == 200
    wait_volume(w.ctl, vid, "available", token=w.cinder.token, timeout=120)


def _attachment_resource(w: World, vid: str) -> str:
    from sqlalchemy import select

    from stratus.db.models.jobs import Resource
    from stratus.db.session import Database

    db = Database(w.ctl.database_url)
    try:
        with db.session() as s:
            rows = [r for r in s.scalars(select(Resource).where(Resource.type == "OS::Cinder::VolumeAttachment"))
                    if r.properties.get("volume_id") == vid]
            assert rows, "no attachment resource"
            return rows[-1].id
    finally:
        db.dispose()


def test_unknown_ids(world):
    w = world
    sid = w.server()
    missing = str(uuid.uuid4())
    assert fault(w.nova("GET", f"/servers/{sid}/os-volume_attachments/{missing}"), 404) == (
        f"Instance {sid} is not attached to volume {missing}")
    assert fault(w.nova("DELETE", f"/servers/{sid}/os-volume_attachments/{missing}"), 404) == (
        f"Volume {missing} could not be found.")


def test_a_template_attachment_writes_its_record_and_its_failure_removes_it(world):
    """``OS::Cinder::VolumeAttachment`` in a template (an admin's job): ``check`` writes
    the attachment's record (device chosen as the API would), refuses another project's
    volume with Cinder's 404, and the failed job's rescue removes the record again."""
    w = world
    admin_nova, admin_cinder = Nova(w.ctl, None, version="2.79"), Cinder(w.ctl, None, version="3.27")
    sid = admin_nova.create(imageRef=w.image_id, networks="none")["server"]["id"]
    deadline = time.monotonic() + 60
    while admin_nova.show(sid)["status"] != "ERROR":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    set_state(w.ctl, sid, "active", None, host="c1", node="c1")
    vid = admin_cinder.create()["id"]
    wait_volume(w.ctl, vid, "available")
    foreign = w.volume()

    def template(volume_id: str) -> dict:
        return {"template": {"heat_template_version": "2018-08-31", "resources": {"att": {
            "type": "OS::Cinder::VolumeAttachment", "properties": {"volume_id": volume_id, "instance_uuid": sid}}}}}

    r = w.ctl.request("POST", "/stratus/v1/jobs", json=template(foreign))
    assert r.status_code == 404 and f"Volume {foreign} could not be found." in r.text, r.text
    assert w.cinder.show(foreign)["status"] == "available"
    assert admin_nova("GET", f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"] == []
    r = w.ctl.request("POST", "/stratus/v1/jobs", json=template(vid))
    assert r.status_code == 202, r.text
    listed = admin_nova("GET", f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"]
    assert [(a["volumeId"], a["device"]) for a in listed] == [(vid, "/dev/vdb")]
    assert admin_cinder.show(vid)["status"] in ("attaching", "available")
    wait_volume(w.ctl, vid, "available", timeout=120)
    assert admin_nova("GET", f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"] == []
