"""Volumes through the Cinder v3 API on a real storage host (this machine): create,
show, list, update, extend and delete, empty, from an image and as a clone, on the file
backend and (metadata only where device-mapper is missing) the LVM backend; tenant
isolation, quota and input refusals that change nothing."""

from __future__ import annotations

import os
import uuid

import pytest

from stratus.db.models.volume import Volume, VolumeAttachment
from stratus.db.session import Database
from tests.api.volume.volume_helpers import (
    Cinder,
    activation_works,
    fault,
    host_objects,
    storage_cloud,
    wait_volume,
)
from tests.integration.storage.conftest import sh

pytestmark = [pytest.mark.api, pytest.mark.block_storage]

PATTERN = b"stratus volume data\n" * 52429  # ~1 MiB, recognisable on the host
MiB = 1 << 20


@pytest.fixture(scope="module")
def cloud(module_factory, tmp_path_factory, request):
    ctl = storage_cloud(module_factory, tmp_path_factory.mktemp("vol"), request, lvm=True,
                        activation="auto" if activation_works() else "off")
    ctl.member = ctl.new_project_user()
    return ctl


def _count(ctl) -> int:
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            return s.query(Volume).count()
    finally:
        db.dispose()


def _type(ctl, name: str, backend: str, **specs: str) -> str:
    r = ctl.request("POST", "/volume/v3/types", json={"volume_type": {
        "name": name, "extra_specs": {"volume_backend_name": backend, **specs}}})
    assert r.status_code == 200, r.text
    return r.json()["volume_type"]["id"]


def core_flow(ctl) -> None:
    """Create an empty file volume with the SDK, see it as member and admin, update it
    and extend it with the CLI, delete it: the file follows every step."""
    conn = ctl.conn(ctl.member)
    vol = conn.block_storage.create_volume(size=1, name="core", description="d", metadata={"k": "v"})
    got = wait_volume(conn, vol.id)
    assert got["size"] == 1 and got["is_bootable"] is False and got["metadata"] == {"k": "v"}
    path = os.path.join(ctl.storage["dir"], f"volume-{vol.id}")
    assert os.path.getsize(path) == 1 << 30
    member = Cinder(ctl, ctl.member).show(vol.id)
    assert member["os-vol-tenant-attr:tenant_id"] == ctl.member.project_id
    assert "os-vol-host-attr:host" not in member and member["attachments"] == []
    assert member["links"][0]["href"].endswith(f"/volume/v3/{ctl.member.project_id}/volumes/{vol.id}")
    admin = Cinder(ctl).show(vol.id)
    assert admin["os-vol-host-attr:host"] == f"{ctl.storage['host']}@file#file"
    ctl.cli("volume", "set", "--name", "core2", "--property", "a=b", "--size", "2", vol.id, creds=ctl.member)
    got = wait_volume(ctl, vol.id)
    assert got["name"] == "core2" and got["metadata"] == {"k": "v", "a": "b"} and got["size"] == 2
    assert os.path.getsize(path) == 2 << 30
    shown = ctl.cli("volume", "show", vol.id, "-f", "json", creds=ctl.member)
    assert shown["size"] == 2 and shown["status"] == "available"
    ctl.cli("volume", "delete", vol.id, creds=ctl.member)
    wait_volume(ctl, vol.id, None)
    assert not os.path.exists(path)


def test_core_flow_file_backend(cloud):
    core_flow(cloud)


def test_core_flow_postgresql(module_factory, tmp_path_factory, request):
    if "postgresql" not in os.environ.get("STRATUS_TEST_BACKENDS", "sqlite,postgresql").split(","):
        pytest.skip("STRATUS_TEST_BACKENDS leaves PostgreSQL out")
    ctl = storage_cloud(module_factory, tmp_path_factory.mktemp("volpg"), request, backend="postgresql",
                        host="stpg")
    ctl.member = ctl.new_project_user()
    core_flow(ctl)


def test_lvm_volume_create_extend_delete(cloud):
    """An empty LV (the VG's metadata; activation off without device-mapper) of a type
    that names the backend and makes multiattach volumes."""
    _type(cloud, "lvm-only", "lvm", multiattach="<is> True")
    api = Cinder(cloud, cloud.member)
    vol = api.create(size=1, volume_type="lvm-only")
    assert wait_volume(cloud, vol["id"])["multiattach"] is True  # the type's extra spec
    lv = f"volume-{vol['id']}"
    assert lv in host_objects(cloud)["lvs"]
    assert Cinder(cloud).show(vol["id"])["os-vol-host-attr:host"].endswith("@lvm#lvm")
    r = api("POST", f"/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 2}})
    assert r.status_code == 202, r.text
    assert wait_volume(cloud, vol["id"])["size"] == 2
    out = sh("lvs", "--driverloaded", "n", "--noheadings", "--units", "g", "-o", "lv_size",
             f"{cloud.storage['vg']}/{lv}").stdout.strip()
    assert out.startswith("2.00")
    assert api("DELETE", f"/volumes/{vol['id']}").status_code == 202
    wait_volume(cloud, vol["id"], None)
    assert lv not in host_objects(cloud)["lvs"]


def test_from_image_and_clone(cloud, request):
    """A volume from a raw image holds the image's bytes and is bootable with the
    image's metadata; a clone of it holds the same bytes and metadata."""
    from tests.integration.compute.actions_guest import remove_images

    r = cloud.request("POST", "/image/v2/images", json={"name": "vol-src", "disk_format": "raw",
                                                        "container_format": "bare", "visibility": "public"})
    image_id = r.json()["id"]
    request.addfinalizer(lambda: remove_images(image_id))
    r = cloud.request("PUT", f"/image/v2/images/{image_id}/file", content=PATTERN,
                      headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    made = cloud.cli("volume", "create", "--size", "1", "--image", image_id, "from-image", "-f", "json",
                     creds=cloud.member)
    got = wait_volume(cloud, made["id"])
    assert got["bootable"] == "true"
    assert got["volume_image_metadata"]["image_id"] == image_id
    assert got["volume_image_metadata"]["image_name"] == "vol-src"
    with open(os.path.join(cloud.storage["dir"], f"volume-{made['id']}"), "rb") as f:
        assert f.read(len(PATTERN)) == PATTERN
    api = Cinder(cloud, cloud.member)
    clone = api.create(source_volid=made["id"], size=None)
    clone = wait_volume(cloud, clone["id"])
    assert clone["size"] == 1 and clone["source_volid"] == made["id"] and clone["bootable"] == "true"
    assert clone["volume_image_metadata"]["image_id"] == image_id
    with open(os.path.join(cloud.storage["dir"], f"volume-{clone['id']}"), "rb") as f:
        assert f.read(len(PATTERN)) == PATTERN
    # a volume smaller than the image's min_disk is refused, nothing made
    before = _count(cloud)
    cloud.request("PATCH", f"/image/v2/images/{image_id}", json=[{"op": "replace", "path": "/min_disk",
                                                                    "value": 3}],
                  headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    msg = fault(api("POST", "/volumes", json={"volume": {"size": 1, "imageRef": image_id}}), 400)
    assert "cannot be smaller than the image minDisk size 3GB" in msg
    assert _count(cloud) == before
    for vid in (clone["id"], made["id"]):
        assert api("DELETE", f"/volumes/{vid}").status_code == 202
    for vid in (clone["id"], made["id"]):
        wait_volume(cloud, vid, None)
    assert not [f for f in host_objects(cloud)["files"] if made["id"] in f or clone["id"] in f]


def test_list_filters_sort_paging(cloud):
    """Volumes that no backend takes exist in ``error`` (202, as Cinder) and list like
    any other: filters, sort, limit/marker with a next link; their delete is records only."""
    _type(cloud, "nowhere", "no-such-backend")
    other = cloud.new_project_user()
    api = Cinder(cloud, other)
    ids = {}
    for name, meta in (("b", {"x": "1"}), ("a", {"x": "2"}), ("c", {"x": "1", "y": "z"})):
        vol = api.create(name=name, volume_type="nowhere", metadata=meta)
        assert vol["status"] == "error"
        ids[name] = vol["id"]
    names = [v["name"] for v in api("GET", "/volumes", params={"sort": "name:asc"}).json()["volumes"]]
    assert names == ["a", "b", "c"]
    page = api("GET", "/volumes/detail", params={"sort": "name:asc", "limit": 2}).json()
    assert [v["name"] for v in page["volumes"]] == ["a", "b"]
    assert page["volumes_links"][0]["rel"] == "next" and f"marker={ids['b']}" in page["volumes_links"][0]["href"]
    rest = api("GET", "/volumes", params={"sort": "name:asc", "limit": 2, "marker": ids["b"]}).json()
    assert [v["name"] for v in rest["volumes"]] == ["c"] and "volumes_links" not in rest
    assert fault(api("GET", "/volumes", params={"marker": str(uuid.uuid4())}), 404).startswith("Marker ")
    assert fault(api("GET", "/volumes", params={"sort": "nope:asc"}), 400).startswith("Invalid input received")
    got = api("GET", "/volumes", params={"metadata": "{'x': '1'}", "sort": "name"}).json()["volumes"]
    assert sorted(v["name"] for v in got) == ["b", "c"]
    assert [v["name"] for v in api("GET", "/volumes", params={"name": "a"}).json()["volumes"]] == ["a"]
    assert len(api("GET", "/volumes", params={"status": "error", "bootable": "false"}).json()["volumes"]) == 3
    assert api("GET", "/volumes", params={"status": "available"}).json()["volumes"] == []
    # the member's all_tenants is ignored; an admin's lists every project
    assert len(api("GET", "/volumes", params={"all_tenants": 1}).json()["volumes"]) == 3
    admin = Cinder(cloud)
    everyone = admin("GET", "/volumes", params={"all_tenants": 1, "project_id": other.project_id}).json()
    assert len(everyone["volumes"]) == 3
    assert admin("GET", "/volumes").json()["volumes"] == []  # the admin's own project
    cli = cloud.cli("volume", "list", "--long", "-f", "json", creds=other)
    assert sorted(v["Name"] for v in cli) == ["a", "b", "c"]
    for vid in ids.values():
        assert api("DELETE", f"/volumes/{vid}").status_code == 202
    assert api("GET", "/volumes").json()["volumes"] == []


def test_tenant_isolation(cloud):
    """Another project's member sees and touches none of the volume: 404 everywhere."""
    _type(cloud, "nowhere2", "no-such-backend")
    owner = Cinder(cloud, cloud.member)
    vol = owner.create(name="mine", volume_type="nowhere2", metadata={"k": "v"})
    stranger = Cinder(cloud, cloud.new_project_user())
    vid = vol["id"]
    for method, path, body in (
        ("GET", f"/volumes/{vid}", None),
        ("PUT", f"/volumes/{vid}", {"volume": {"name": "theirs"}}),
        ("DELETE", f"/volumes/{vid}", None),
        ("GET", f"/volumes/{vid}/metadata", None),
        ("POST", f"/volumes/{vid}/metadata", {"metadata": {"a": "b"}}),
        ("PUT", f"/volumes/{vid}/metadata", {"metadata": {}}),
        ("GET", f"/volumes/{vid}/metadata/k", None),
        ("PUT", f"/volumes/{vid}/metadata/k", {"meta": {"k": "x"}}),
        ("DELETE", f"/volumes/{vid}/metadata/k", None),
        ("POST", f"/volumes/{vid}/action", {"os-extend": {"new_size": 5}}),
    ):
        r = stranger(method, path, json=body)
        assert fault(r, 404) == f"Volume {vid} could not be found.", (method, path)
    assert stranger("GET", "/volumes/detail").json()["volumes"] == []
    # a clone of it is refused too
    r = stranger("POST", "/volumes", json={"volume": {"source_volid": vid}})
    assert fault(r, 404) == f"Volume {vid} could not be found."
    # nothing changed
    after = owner.show(vid)
    assert after["name"] == "mine" and after["metadata"] == {"k": "v"} and after["size"] == 1
    # the owner's metadata endpoints
    assert owner("POST", f"/volumes/{vid}/metadata", json={"metadata": {"a": "b"}}).json() == {
        "metadata": {"a": "b", "k": "v"}}
    assert owner("GET", f"/volumes/{vid}/metadata/a").json() == {"meta": {"a": "b"}}
    assert fault(owner("PUT", f"/volumes/{vid}/metadata/a", json={"meta": {"b": "c"}}), 400) == \
        "Request body and URI mismatch"
    assert owner("DELETE", f"/volumes/{vid}/metadata/a").status_code == 200
    assert owner("PUT", f"/volumes/{vid}/metadata", json={"metadata": {"z": "1"}}).json() == {"metadata": {"z": "1"}}
    assert owner("DELETE", f"/volumes/{vid}").status_code == 202


def test_refusals_change_nothing(cloud):
    """Bad input 400, over quota 413, in-use delete/extend 400 - in Cinder's words, with
    nothing made or changed."""
    creds = cloud.new_project_user()
    api = Cinder(cloud, creds)
    before = _count(cloud)
    for body, words in (
        ({"size": 0}, "Invalid input received: Volume size '0' must be an integer and greater than 0"),
        ({"size": "abc"}, "must be an integer and greater than 0"),
        ({"size": 1, "metadata": {"k": 1}}, "Metadata property value"),
        ({"size": 1, "availability_zone": "mars"}, "Availability zone 'mars' is invalid."),
        ({"size": 1, "name": "x" * 256}, "name"),
        ({"size": 1, "imageRef": str(uuid.uuid4()), "source_volid": str(uuid.uuid4())}, "only one of"),
        ({"name": "no size"}, "'size' must be given"),
    ):
        assert words in fault(api("POST", "/volumes", json={"volume": body}), 400), body
    assert fault(api("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "nope"}}), 404) == \
        "Volume type with name nope could not be found."
    assert fault(api("POST", "/volumes", json={"nothing": {}}), 400)
    assert _count(cloud) == before
    # quotas, in Cinder's words
    admin = Cinder(cloud)
    r = admin("PUT", f"/{creds.project_id}/os-quota-sets/{creds.project_id}",
              json={"quota_set": {"gigabytes": 2, "volumes": 1, "per_volume_gigabytes": 3}})
    assert r.status_code == 200, r.text
    assert fault(api("POST", "/volumes", json={"volume": {"size": 4}}), 413) == \
        "Requested volume size 4G is larger than maximum allowed limit 3G."
    assert fault(api("POST", "/volumes", json={"volume": {"size": 3}}), 413) == \
        ("Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 2G and 0G "
         "has been consumed.")
    assert _count(cloud) == before
    vol = api.create(size=1)
    assert fault(api("POST", "/volumes", json={"volume": {"size": 1}}), 413) == \
        "Maximum number of volumes allowed (1) exceeded for quota 'volumes'."
    wait_volume(cloud, vol["id"])
    r = api("POST", f"/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 3}})
    assert fault(r, 413) == ("Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, "
                             "quota is 2G and 1G has been consumed.")
    assert fault(api("POST", f"/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 1}}), 400) \
        .startswith("Invalid input received: New size for extend must be greater than current size.")
    # in use (an attachment row, as the attach service writes it): no delete, no extend
    db = Database(cloud.database_url)
    try:
        with db.session() as s:
            s.add(VolumeAttachment(id=str(uuid.uuid4()), volume_id=vol["id"], project_id=creds.project_id,
                                   instance_uuid=str(uuid.uuid4()), attach_status="attached",
                                   mountpoint="/dev/vdb"))
            row = s.get(Volume, vol["id"])
            row.status, row.attach_status = "in-use", "attached"
        assert fault(api("DELETE", f"/volumes/{vol['id']}"), 400) == (
            "Invalid volume: Volume status must be available or error or error_restoring or error_extending "
            "or error_managing and must not be migrating, attached, belong to a group, have snapshots or be "
            "disassociated from snapshots after volume transfer.")
        msg = fault(api("POST", f"/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 2}}), 400)
        assert "to extend, currently in-use. This backend extends only detached volumes" in msg
        shown = api.show(vol["id"])
        assert shown["status"] == "in-use" and shown["size"] == 1 and len(shown["attachments"]) == 1
        assert shown["attachments"][0]["device"] == "/dev/vdb"
        with db.session() as s:
            s.query(VolumeAttachment).filter_by(volume_id=vol["id"]).delete()
            row = s.get(Volume, vol["id"])
            row.status, row.attach_status = "available", "detached"
    finally:
        db.dispose()
    assert os.path.getsize(os.path.join(cloud.storage["dir"], f"volume-{vol['id']}")) == 1 << 30
    assert api("DELETE", f"/volumes/{vol['id']}").status_code == 202
    wait_volume(cloud, vol["id"], None)


def test_template_volume_has_its_record(cloud):
    """A volume a template makes (Heat's OS::Cinder::Volume) is listed by the volume API,
    a template update of its size extends it, and its delete removes file and record."""
    from tests.integration.pipeline.conftest import Api

    jobs = Api(cloud)
    job = jobs.run("POST", "/jobs", json={"template": {"heat_template_version": "2018-08-31", "resources": {
        "data": {"type": "OS::Cinder::Volume", "properties": {"size": 1, "name": "from-tpl",
                                                              "metadata": {"made": "heat"}}}}}})
    vid = job["resources_by_name"]["data"]
    got = wait_volume(cloud, vid)
    assert got["name"] == "from-tpl" and got["metadata"] == {"made": "heat"} and got["size"] == 1
    assert any(v["id"] == vid for v in Cinder(cloud)("GET", "/volumes").json()["volumes"])
    jobs.run("PATCH", f"/resources/{vid}", json={"properties": {"size": 2, "name": "grown"}})
    got = Cinder(cloud).show(vid)
    assert got["size"] == 2 and got["name"] == "grown" and got["status"] == "available"
    path = os.path.join(cloud.storage["dir"], f"volume-{vid}")
    assert os.path.getsize(path) == 2 << 30
    jobs.run("DELETE", f"/resources/{vid}")
    assert Cinder(cloud)("GET", f"/volumes/{vid}").status_code == 404
    assert not os.path.exists(path)
