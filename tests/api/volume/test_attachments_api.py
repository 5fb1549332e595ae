"""Cinder's attachments API (3.27) and the legacy attach actions, as records on a real
storage host (this machine): reserve, connect (the storage host reaches the volume by
its local path; any other host is refused, saying how to attach instead), complete,
list/detail/show with Cinder's keys, delete; os-reserve ... os-detach; the type's
front-end QoS in connection_info; tenant isolation; every refusal leaves the records as
they were. No guest: a server's attachment (the job) is the two-host pipeline test's."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select

from stratus.db.models.volume import QosSpecs, VolumeAttachment, VolumeType
from stratus.db.session import Database
from tests.api.volume.volume_helpers import Cinder, fault, storage_cloud, wait_volume

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
