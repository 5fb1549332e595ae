"""Snapshots through the Cinder v3 API on a real storage host (this machine, file
backend): a snapshot holds the volume's bytes as they were, a volume made from it holds
them too; list/detail filters, show with the extended attributes, update, metadata;
force for in-use volumes; the volume with snapshots refused a delete without cascade;
the snapshot quota; the admin actions; tenant isolation. Every refusal changes nothing."""

from __future__ import annotations

import os

import pytest

from tests.api.volume.snapshots_helpers import (
    add_attachment_row,
    allocations,
    file_of,
    read_at,
    wait_snapshot,
    write_at,
)
from tests.api.volume.volume_helpers import Cinder, fault, host_objects, storage_cloud, wait_volume

pytestmark = [pytest.mark.api, pytest.mark.block_storage]

OFFSET = 3 << 20  # 3 MiB into the volume


@pytest.fixture(scope="module")
def cloud(module_factory, tmp_path_factory, request):
    backend = os.environ.get("STRATUS_TEST_BACKENDS", "sqlite").split(",")[0]
    return storage_cloud(module_factory, tmp_path_factory.mktemp("snap"), request, backend=backend)


@pytest.fixture(scope="module")
def member(cloud):
    return cloud.new_project_user()


def _snapshots_of(api, volume_id: str) -> list[dict]:
    r = api("GET", "/snapshots", params={"volume_id": volume_id})
    assert r.status_code == 200, r.text
    return r.json()["snapshots"]


def test_snapshot_holds_the_data_and_a_volume_from_it_too(cloud, member):
    api = Cinder(cloud, member)
    vol = api.create(size=1, name="src")
    wait_volume(cloud, vol["id"])
    marker = os.urandom(4096)
    write_at(file_of(cloud, "volume", vol["id"]), OFFSET, marker)

    snap = cloud.cli("volume", "snapshot", "create", "--volume", vol["id"], "--description", "first",
                     "--property", "k=v", "-f", "json", "s1", creds=member)
    assert snap["status"] == "creating" and snap["volume_id"] == vol["id"] and snap["size"] == 1
    got = wait_snapshot(cloud, snap["id"])
    assert got["os-extended-snapshot-attributes:progress"] == "100%"
    assert got["os-extended-snapshot-attributes:project_id"] == member.project_id
    assert got["metadata"] == {"k": "v"} and got["description"] == "first"
    assert read_at(file_of(cloud, "snapshot", snap["id"]), OFFSET, len(marker)) == marker
    # the snapshot is its own copy: later writes to the volume do not reach it
    write_at(file_of(cloud, "volume", vol["id"]), OFFSET, b"\0" * len(marker))

    new = cloud.cli("volume", "create", "--snapshot", snap["id"], "--size", "1", "-f", "json", "from-snap",
                    creds=member)
    wait_volume(cloud, new["id"])
    assert read_at(file_of(cloud, "volume", new["id"]), OFFSET, len(marker)) == marker
    assert api.show(new["id"])["snapshot_id"] == snap["id"]

    # the CLI's views: list (summary), --long (detail), show; set/unset
    listed = cloud.cli("volume", "snapshot", "list", "-f", "json", creds=member)
    assert [s["ID"] for s in listed] == [snap["id"]]
    cloud.cli("volume", "snapshot", "set", "--name", "s1b", "--description", "renamed", "--property", "x=y",
              snap["id"], creds=member)
    cloud.cli("volume", "snapshot", "unset", "--property", "k", snap["id"], creds=member)
    shown = cloud.cli("volume", "snapshot", "show", "-f", "json", "s1b", creds=member)
    assert shown["name"] == "s1b" and shown["description"] == "renamed"
    assert shown["properties"] == {"x": "y"}
    r = api("GET", "/snapshots", params={"name": "s1b"})
    assert set(r.json()["snapshots"][0]) == {"id", "created_at", "updated_at", "name", "description",
                                             "volume_id", "status", "size", "metadata"}

    # a volume with snapshots is not deleted without cascade: 400, nothing changes
    msg = fault(api("DELETE", f"/volumes/{vol['id']}"), 400)
    assert "snapshots" in msg
    assert api.show(vol["id"])["status"] == "available"
    assert wait_snapshot(cloud, snap["id"])["status"] == "available"
    assert f"snapshot-{snap['id']}" in host_objects(cloud)["files"]

    cloud.cli("volume", "snapshot", "delete", snap["id"], creds=member)
    wait_snapshot(cloud, snap["id"], None)
    assert f"snapshot-{snap['id']}" not in host_objects(cloud)["files"]
    assert allocations(cloud, snap["id"]) == {}
    for vid in (vol["id"], new["id"]):
        assert api("DELETE", f"/volumes/{vid}").status_code == 202
        wait_volume(cloud, vid, None)
    assert host_objects(cloud)["files"] == []


def test_force_for_in_use_volumes_and_the_snapshot_actions(cloud, member):
    api, admin = Cinder(cloud, member), Cinder(cloud)
    vol = api.create(size=1, name="attached")
    wait_volume(cloud, vol["id"])
    add_attachment_row(cloud, vol["id"], member.project_id)
    cloud.cli("volume", "set", "--state", "in-use", vol["id"])
    assert api.show(vol["id"])["status"] == "in-use"

    # in use: 400 without force (Cinder's words), nothing made
    msg = fault(api("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "name": "no"}}), 400)
    assert "status must be available" in msg and "force" in msg
    assert _snapshots_of(api, vol["id"]) == []
    r = api("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "force": "True", "name": "forced"}})
    assert r.status_code == 202, r.text
    sid = r.json()["snapshot"]["id"]
    wait_snapshot(cloud, sid)
    assert allocations(cloud, sid) == {"snapshots": 1, "gigabytes": 1, "snapshots___DEFAULT__": 1,
                                       "gigabytes___DEFAULT__": 1}

    # os-reset_status: admins only, Cinder's statuses only; refusals change nothing
    r = api("POST", f"/snapshots/{sid}/action", json={"os-reset_status": {"status": "error"}})
    assert fault(r, 403)
    r = admin("POST", f"/snapshots/{sid}/action", json={"os-reset_status": {"status": "bogus"}})
    assert "bogus is invalid" in fault(r, 400)
    assert wait_snapshot(cloud, sid)["status"] == "available"
    # (the CLI's `snapshot set --state` and `snapshot delete --force` send microversion 3.65
    # whatever the server's maximum, so the raw actions here)
    assert admin("POST", f"/snapshots/{sid}/action", json={"os-reset_status": {"status": "creating"}}).status_code \
        == 202
    assert wait_snapshot(cloud, sid, "creating")["status"] == "creating"
    # a creating snapshot is not deleted by its member (400), an admin forces it
    assert "available or error" in fault(api("DELETE", f"/snapshots/{sid}"), 400)
    assert wait_snapshot(cloud, sid, "creating")
    r = api("POST", f"/snapshots/{sid}/action", json={"os-update_snapshot_status": {"status": "available",
                                                                                    "progress": "90%"}})
    assert r.status_code == 202, r.text
    got = wait_snapshot(cloud, sid)
    assert got["os-extended-snapshot-attributes:progress"] == "90%"
    assert admin("POST", f"/snapshots/{sid}/action", json={"os-reset_status": {"status": "error"}}).status_code \
        == 202
    assert fault(api("POST", f"/snapshots/{sid}/action", json={"os-force_delete": {}}), 403)
    assert admin("POST", f"/snapshots/{sid}/action", json={"os-force_delete": {}}).status_code == 202
    wait_snapshot(cloud, sid, None)

    # detached again (the attachment record goes, as Cinder's volume_detached), deleted
    cloud.cli("volume", "set", "--state", "available", "--detached", vol["id"])
    assert api.show(vol["id"])["status"] == "available"
    assert api("DELETE", f"/volumes/{vol['id']}").status_code == 202
    wait_volume(cloud, vol["id"], None)
    assert host_objects(cloud)["files"] == []


def test_quota_isolation_and_filters(cloud, member):
    api, admin = Cinder(cloud, member), Cinder(cloud)
    other = cloud.new_project_user()
    them = Cinder(cloud, other)
    vol = api.create(size=1, name="q")
    wait_volume(cloud, vol["id"])
    r = api("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "name": "one",
                                                     "metadata": {"tier": "gold"}}})
    assert r.status_code == 202, r.text
    sid = r.json()["snapshot"]["id"]
    wait_snapshot(cloud, sid)

    # over the snapshot quota: 413 in Cinder's words, nothing made
    cloud.cli("quota", "set", "--snapshots", "1", member.project_id)
    r = api("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "name": "two"}})
    assert "Maximum number of snapshots allowed (1) exceeded for quota 'snapshots'" in fault(r, 413)
    assert [s["id"] for s in _snapshots_of(api, vol["id"])] == [sid]

    # another project sees none of it, changes none of it
    assert them("GET", f"/snapshots/{sid}").status_code == 404
    assert them("PUT", f"/snapshots/{sid}", json={"snapshot": {"name": "mine"}}).status_code == 404
    assert them("DELETE", f"/snapshots/{sid}").status_code == 404
    assert them("GET", f"/snapshots/{sid}/metadata").status_code == 404
    assert them("POST", f"/snapshots/{sid}/metadata", json={"metadata": {"a": "b"}}).status_code == 404
    assert them("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).status_code == 404
    assert them("GET", "/snapshots/detail").json()["snapshots"] == []
    assert them("GET", "/snapshots", params={"all_tenants": "1"}).json()["snapshots"] == []
    mine = wait_snapshot(cloud, sid)
    assert mine["name"] == "one" and mine["metadata"] == {"tier": "gold"}

    # filters: an admin with all_tenants sees it; status, name, metadata, volume_id filter
    ids = lambda r: [s["id"] for s in r.json()["snapshots"]]  # noqa: E731
    assert sid not in ids(admin("GET", "/snapshots"))
    assert sid in ids(admin("GET", "/snapshots/detail", params={"all_tenants": "1"}))
    assert ids(admin("GET", "/snapshots", params={"all_tenants": "1", "project_id": member.project_id})) == [sid]
    assert ids(api("GET", "/snapshots", params={"status": "available"})) == [sid]
    assert ids(api("GET", "/snapshots", params={"status": "error"})) == []
    assert ids(api("GET", "/snapshots", params={"name": "one"})) == [sid]
    assert ids(api("GET", "/snapshots", params={"metadata": "{'tier': 'gold'}"})) == [sid]
    assert ids(api("GET", "/snapshots", params={"metadata": "{'tier': 'lead'}"})) == []
    assert "sort key" in fault(api("GET", "/snapshots", params={"sort": "bogus:asc"}), 400)

    # metadata items
    r = api("PUT", f"/snapshots/{sid}/metadata/tier", json={"meta": {"tier": "silver"}})
    assert r.status_code == 200 and r.json() == {"meta": {"tier": "silver"}}
    assert api("GET", f"/snapshots/{sid}/metadata/tier").json() == {"meta": {"tier": "silver"}}
    assert fault(api("PUT", f"/snapshots/{sid}/metadata/tier", json={"meta": {"other": "x"}}), 400)
    assert api("DELETE", f"/snapshots/{sid}/metadata/tier").status_code == 200
    assert api("GET", f"/snapshots/{sid}/metadata/tier").status_code == 404
    # bad bodies: 400, never 500
    assert fault(api("POST", "/snapshots", json={"snapshot": {"name": "x"}}), 400)
    assert fault(api("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "force": "maybe"}}), 400)
    assert fault(api("PUT", f"/snapshots/{sid}", json={"snapshot": {}}), 400)

    # a cascade delete takes the volume and its snapshot off the host, and the snapshot's quota
    assert api("DELETE", f"/volumes/{vol['id']}", params={"cascade": "true"}).status_code == 202
    wait_volume(cloud, vol["id"], None)
    wait_snapshot(cloud, sid, None)
    assert host_objects(cloud)["files"] == []
    assert allocations(cloud, sid) == {}
