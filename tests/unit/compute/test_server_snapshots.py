"""createImage, shelve and unshelve through their handlers on SQLite: the queued image
with Nova's properties, the host tasks (upload with a ticket; the guest removed), the
2.45 body against the older Location header, a failed upload killing the image,
host capacity released by shelve and placed again by unshelve from the snapshot."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stratus.compute.states import status
from stratus.db.models.compute import Server
from stratus.db.models.images import Image, ImageProperty
from stratus.db.models.jobs import Resource
from stratus.errors import BadRequest, Conflict
from stratus.image import tickets
from tests.unit.compute.moves_world import ADMIN, held, make_world
from tests.unit.compute.test_server_moves import NANO, _args


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    yield w
    w.db.dispose()


def test_create_image_queues_the_snapshot_and_uploads_it(world):
    w = world
    with w.db.session() as s, s.no_autoflush:
        base = s.get(Image, w.image_id)
        base.properties.append(ImageProperty(name="hw_machine_type", value="q35"))
        base.properties.append(ImageProperty(name="img_signature", value="sig"))
    with w.db.session() as s:
        got = w.call(s, "createImage", {"name": "snap1", "metadata": {"purpose": "test"}})
        assert got.status == 202 and set(got.body) == {"image_id"}
        image = s.get(Image, got.body["image_id"])
        props = {p.name: p.value for p in image.properties}
        assert (image.status, image.name, image.disk_format, image.container_format) == (
            "queued", "snap1", "qcow2", "bare")
        assert (image.owner, image.visibility, image.min_disk, image.min_ram) == ("p1", "private", 1, 64)
        assert props["image_type"] == "snapshot" and props["instance_uuid"] == w.server_id
        assert props["base_image_ref"] == w.image_id and props["user_id"] == "u1"
        assert props["purpose"] == "test" and props["hw_machine_type"] == "q35"
        assert "img_signature" not in props
        job = w.last_job(s)
        args = _args(job, "stratus.cloud.image_upload")
        assert args["image_id"] == image.id and job.playbook[0]["hosts"] == "cmp1"
        assert tickets.verify(w.plan.keys, image.id, tickets.UPLOAD, args["headers"][tickets.HEADER])
        server = s.get(Server, w.server_id)
        assert (server.task_state, status(server.vm_state, server.task_state)) == ("image_snapshot", "ACTIVE")
        w.end(s, job.id)
        assert s.get(Server, w.server_id).task_state is None
    with w.db.session() as s:
        got = w.call(s, "createImage", {"name": "snap2"}, version="2.44")
        assert got.body is None
        location = got.headers["Location"]
        assert location.startswith("http://ctl.example:8700/image/v2/images/")
        image_id = location.rsplit("/", 1)[1]
        w.end(s, w.last_job(s).id, ok=False)
        assert s.get(Image, image_id).status == "killed"


def test_create_image_refusals_leave_no_image(world):
    w = world
    for body, words in [({}, "'name' is a required property"), ({"name": ""}, r"attribute name\. Value: \. "),
                        ({"name": "x", "metadata": {"k": 1}}, r"attribute metadata\. "),
                        (None, "is not of type 'object'")]:
        with pytest.raises(BadRequest, match=words), w.db.session() as s:
            w.call(s, "createImage", body)
    with w.db.session() as s:
        s.get(Server, w.server_id).task_state = "rebooting"
    with pytest.raises(Conflict, match="while it is in task_state rebooting"), w.db.session() as s:
        w.call(s, "createImage", {"name": "x"})
    with w.db.session() as s:
        assert s.scalars(select(Image)).all() == [s.get(Image, w.image_id)]


def test_shelve_releases_the_host_and_unshelve_boots_from_the_snapshot(world):
    w = world
    with w.db.session() as s:
        assert w.call(s, "shelve", None).status == 202
        job = w.last_job(s)
        modules = [next(k for k in t if k.startswith("stratus.cloud.")) for t in job.playbook[0]["tasks"]]
        assert modules == ["stratus.cloud.image_upload", "stratus.cloud.instance"]
        assert _args(job, "stratus.cloud.instance")["state"] == "absent"
        server = s.get(Server, w.server_id)
        snap = server.system_metadata["shelved_image_id"]
        assert s.get(Image, snap).name == "vm-shelved"
        assert status(server.vm_state, server.task_state) == "ACTIVE" and server.task_state == "shelving"
        w.end(s, job.id)
        server = s.get(Server, w.server_id)
        assert (server.vm_state, server.task_state, server.host) == ("shelved_offloaded", None, None)
        assert status(server.vm_state, None) == "SHELVED_OFFLOADED"
        assert held(s, w.server_id) == {}
        assert s.get(Resource, w.server_id).hosts == []
        # the upload made it active (the image API does that); now it can boot
        image = s.get(Image, snap)
        image.status, image.size, image.virtual_size = "active", 20 << 20, 512 << 20
        image.os_hash_algo, image.os_hash_value = "sha512", "cd" * 64
    with pytest.raises(BadRequest, match="is not of type 'null'"), w.db.session() as s:
        w.call(s, "unshelve", {"availability_zone": "nova"}, version="2.76")
    with w.db.session() as s:
        assert w.call(s, "unshelve", None).status == 202
        job = w.last_job(s)
        assert job.kind == "action:unshelve"
        cache = _args(job, "stratus.cloud.image_cache")
        assert cache["image_id"] == snap and cache["os_hash_value"] == "cd" * 64
        inst = _args(job, "stratus.cloud.instance")
        assert inst["uuid"] == w.server_id and inst["image_id"] == snap and inst["state"] == "running"
        host = job.playbook[0]["hosts"]
        assert held(s, w.server_id) == {host: NANO}
        assert s.get(Server, w.server_id).task_state == "unshelving"
        w.end(s, job.id)
        server = s.get(Server, w.server_id)
        assert (server.vm_state, server.task_state, server.host) == ("active", None, host)
        assert "shelved_image_id" not in server.system_metadata
        assert server.image_id == w.image_id  # the server keeps its own image


def test_shelve_refusals(world):
    w = world
    with pytest.raises(BadRequest, match="is not of type 'null'"), w.db.session() as s:
        w.call(s, "shelve", {"x": 1})
    with pytest.raises(Conflict, match="Cannot 'unshelve' instance .* vm_state active"), w.db.session() as s:
        w.call(s, "unshelve", None)
    with pytest.raises(Conflict, match="Cannot 'shelveOffload' instance .* vm_state active"), w.db.session() as s:
        w.call(s, "shelveOffload", None, ctx=ADMIN)
    with w.db.session() as s:
        s.get(Server, w.server_id).locked = True
    with pytest.raises(Conflict, match="is locked"), w.db.session() as s:
        w.call(s, "shelve", None)
    with w.db.session() as s:  # an admin passes the lock
        assert w.call(s, "shelve", None, ctx=ADMIN).status == 202
        image = s.get(Image, s.get(Server, w.server_id).system_metadata["shelved_image_id"])
        props = {p.name: p.value for p in image.properties}
        assert (image.owner, image.visibility, props["instance_owner"]) == ("adminp", "shared", "p1")
