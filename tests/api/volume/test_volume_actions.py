"""The volume actions of the records (``POST /volumes/{id}/action``) through the
``openstack`` CLI and raw Cinder requests, on a real storage host: bootable, read-only,
image metadata, reset-state (admin), retype on the same backend (and the 400 that says
why another backend is refused), force-delete (admin); tenant isolation; every refusal
changes nothing."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from stratus.db.models.volume import VolumeAdminMetadata
from stratus.db.session import Database
from tests.api.volume.snapshots_helpers import allocations
from tests.api.volume.volume_helpers import Cinder, fault, host_objects, storage_cloud, wait_volume

pytestmark = [pytest.mark.api, pytest.mark.block_storage]


@pytest.fixture(scope="module")
def cloud(module_factory, tmp_path_factory, request):
    backend = os.environ.get("STRATUS_TEST_BACKENDS", "sqlite").split(",")[0]
    return storage_cloud(module_factory, tmp_path_factory.mktemp("act"), request, backend=backend)


def _readonly(ctl, volume_id: str) -> str | None:
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            row = s.scalar(select(VolumeAdminMetadata).where(VolumeAdminMetadata.volume_id == volume_id,
                                                             VolumeAdminMetadata.key == "readonly"))
            return row.value if row else None
    finally:
        db.dispose()


def _act(api, volume_id: str, name: str, args=None):
    return api("POST", f"/volumes/{volume_id}/action", json={name: args})


def test_record_actions_through_the_cli(cloud):
    member, other = cloud.new_project_user(), cloud.new_project_user()
    api, them = Cinder(cloud, member), Cinder(cloud, other)
    vol = api.create(size=1, name="acts")
    wait_volume(cloud, vol["id"])
    vid = vol["id"]

    # bootable, read-only, image properties
    cloud.cli("volume", "set", "--bootable", "--read-only", "--image-property", "os_type=linux",
              "--image-property", "hw_disk_bus=virtio", vid, creds=member)
    shown = api.show(vid)
    assert shown["bootable"] == "true"
    assert shown["volume_image_metadata"] == {"os_type": "linux", "hw_disk_bus": "virtio"}
    assert _readonly(cloud, vid) == "True"
    r = _act(api, vid, "os-show_image_metadata", {})
    assert r.status_code == 200 and r.json() == {"metadata": {"hw_disk_bus": "virtio", "os_type": "linux"}}
    cloud.cli("volume", "unset", "--image-property", "os_type", vid, creds=member)
    cloud.cli("volume", "set", "--non-bootable", "--read-write", vid, creds=member)
    shown = api.show(vid)
    assert shown["bootable"] == "false" and shown["volume_image_metadata"] == {"hw_disk_bus": "virtio"}
    assert _readonly(cloud, vid) == "False"
    assert "cannot be found" in fault(_act(api, vid, "os-unset_image_metadata", {"key": "gone"}), 404)
    assert fault(_act(api, vid, "os-set_bootable", {"bootable": "perhaps"}), 400)
    assert fault(_act(api, vid, "os-set_image_metadata", {"metadata": "x"}), 400)

    # another project: 404 for every action, nothing changes
    for name, args in (("os-set_bootable", {"bootable": True}), ("os-update_readonly_flag", {"readonly": True}),
                       ("os-set_image_metadata", {"metadata": {"a": "b"}}), ("os-retype", {"new_type": "x"}),
                       ("os-show_image_metadata", {})):
        assert _act(them, vid, name, args).status_code == 404, name
    shown = api.show(vid)
    assert shown["bootable"] == "false" and shown["volume_image_metadata"] == {"hw_disk_bus": "virtio"}

    # reset-state: admins only; Cinder's statuses; not to deleting; in-use needs attachments
    assert fault(_act(api, vid, "os-reset_status", {"status": "error"}), 403)
    r = cloud.cli("volume", "set", "--state", "deleting", vid, check=False)
    assert r.returncode != 0 and "Cannot reset-state to deleting" in r.stderr
    assert "bogus is invalid" in fault(_act(Cinder(cloud), vid, "os-reset_status", {"status": "bogus"}), 400)
    assert "Must specify" in fault(_act(Cinder(cloud), vid, "os-reset_status", {}), 400)
    r = cloud.cli("volume", "set", "--state", "in-use", vid, check=False)
    assert r.returncode != 0 and "does not have any attachments" in r.stderr
    assert api.show(vid)["status"] == "available"
    # the read-only flag needs an available volume
    cloud.cli("volume", "set", "--state", "error", vid)
    assert api.show(vid)["status"] == "error"
    assert "must be available" in fault(_act(api, vid, "os-update_readonly_flag", {"readonly": True}), 400)
    assert _readonly(cloud, vid) == "False"
    # a volume in maintenance: its member may not delete it, nor force it; an admin forces it
    cloud.cli("volume", "set", "--state", "maintenance", vid)
    assert fault(api("DELETE", f"/volumes/{vid}"), 400)
    assert fault(_act(api, vid, "os-force_delete", {}), 403)
    assert api.show(vid)["status"] == "maintenance"
    cloud.cli("volume", "delete", "--force", vid)
    wait_volume(cloud, vid, None)
    assert f"volume-{vid}" not in host_objects(cloud)["files"]


def test_retype_on_the_same_backend_only(cloud):
    member = cloud.new_project_user()
    api = Cinder(cloud, member)
    cloud.cli("volume", "type", "create", "--property", "volume_backend_name=file", "same-file")
    cloud.cli("volume", "type", "create", "--property", "volume_backend_name=lvm", "on-lvm")
    cloud.cli("volume", "type", "create", "--property", "multiattach=<is> True", "shared")
    vol = api.create(size=1, name="rt")
    vid = wait_volume(cloud, vol["id"])["id"]
    assert allocations(cloud, vid).get("volumes___DEFAULT__") == 1

    cloud.cli("volume", "set", "--type", "same-file", "--retype-policy", "never", vid, creds=member)
    shown = api.show(vid)
    assert shown["volume_type"] == "same-file" and shown["status"] == "available"
    held = allocations(cloud, vid)
    assert held.get("volumes_same-file") == 1 and held.get("gigabytes_same-file") == 1
    assert "volumes___DEFAULT__" not in held

    # another backend: 400 saying why; the type and the quota usage stay
    r = cloud.cli("volume", "set", "--type", "on-lvm", "--retype-policy", "on-demand", vid, creds=member,
                  check=False)
    assert r.returncode != 0
    msg = fault(_act(api, vid, "os-retype", {"new_type": "on-lvm", "migration_policy": "on-demand"}), 400)
    assert "backend lvm" in msg and "backend file" in msg and "not supported" in msg
    assert "Invalid volume_type passed: nope" in fault(_act(api, vid, "os-retype", {"new_type": "nope"}), 400)
    assert fault(_act(api, vid, "os-retype", {"new_type": "same-file"}), 400)  # the type it has
    assert fault(_act(api, vid, "os-retype", {"new_type": "same-file", "migration_policy": "sometimes"}), 400)
    assert api.show(vid)["volume_type"] == "same-file"
    assert allocations(cloud, vid) == held

    # a multiattach type on an available volume: the flag follows the type
    cloud.cli("volume", "set", "--type", "shared", vid, creds=member)
    shown = api.show(vid)
    assert shown["volume_type"] == "shared" and shown["multiattach"] is True
    assert api("DELETE", f"/volumes/{vid}").status_code == 202
    wait_volume(cloud, vid, None)
    assert allocations(cloud, vid) == {}
