"""os-hypervisors: the registry's compute hosts with the capacity hypervisor_info
reported and the use placement allocated; detail/show/statistics, 2.28 cpu_info object,
2.33 paging, 2.53 uuid ids, with_servers and hypervisor_hostname_pattern (and the old
search/servers routes before 2.53); admin only."""

from __future__ import annotations

import json

import pytest

from stratus.db.models.compute import Server
from stratus.db.models.quotas import Allocation
from tests.api.compute import admin_fixtures
from tests.api.compute.admin_fixtures import CAPACITY, cloud_db, nova

pytestmark = [pytest.mark.api, pytest.mark.compute]
admin_cloud = admin_fixtures.admin_cloud
SID = "33333333-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def cloud(admin_cloud):
    """cn1 runs one server of 2 vCPUs, 2048 MiB, 20 GB (its allocation recorded)."""
    with cloud_db(admin_cloud) as s:
        s.add(Server(id=SID, project_id="p", user_id="u", name="vm", flavor_id="1", host="cn1"))
        for res, n in (("vcpus", 2), ("memory_mb", 2048), ("disk_gb", 20)):
            s.add(Allocation(consumer_id=SID, project_id="p", resource=res, amount=n, host="cn1"))
    yield admin_cloud
    with cloud_db(admin_cloud) as s:
        s.query(Allocation).filter_by(consumer_id=SID).delete()
        s.delete(s.get(Server, SID))


def get(c, path, version=None, **params):
    r = nova(c, "GET", path, version, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_list_and_detail_with_capacity_and_use(cloud):
    c = cloud
    listed = get(c, "/os-hypervisors", "2.1")["hypervisors"]
    assert [(h["hypervisor_hostname"], h["state"], h["status"]) for h in listed] == [
        ("cn1", "up", "enabled"), ("cn2", "up", "enabled")]
    assert isinstance(listed[0]["id"], int) and set(listed[0]) == {"id", "hypervisor_hostname", "state", "status"}
    detail = {h["hypervisor_hostname"]: h for h in get(c, "/os-hypervisors/detail", "2.27")["hypervisors"]}
    cn1 = detail["cn1"]
    assert (cn1["vcpus"], cn1["memory_mb"], cn1["local_gb"]) == (8, 16384, 200)
    assert (cn1["vcpus_used"], cn1["memory_mb_used"], cn1["local_gb_used"]) == (2, 2048, 20)
    assert (cn1["free_ram_mb"], cn1["free_disk_gb"], cn1["running_vms"]) == (14336, 180, 1)
    assert cn1["hypervisor_type"] == "QEMU" and cn1["host_ip"] == "192.0.2.11"
    assert json.loads(cn1["cpu_info"])["arch"] == "x86_64"  # a string before 2.28
    assert cn1["service"] == {"host": "cn1", "id": cn1["id"], "disabled_reason": None}
    assert detail["cn2"]["running_vms"] == 0 and detail["cn2"]["free_ram_mb"] == CAPACITY["cn2"]["memory_mb"]
    shown = get(c, f"/os-hypervisors/{cn1['id']}", "2.28")["hypervisor"]
    assert shown["cpu_info"]["arch"] == "x86_64" and shown["vcpus_used"] == 2


def test_statistics(cloud):
    stats = get(cloud, "/os-hypervisors/statistics")["hypervisor_statistics"]
    assert stats["count"] == 2 and stats["vcpus"] == 12 and stats["vcpus_used"] == 2
    assert stats["memory_mb"] == 16384 + 8192 and stats["running_vms"] == 1
    assert stats["free_disk_gb"] == 200 + 100 - 20


def test_paging_233(cloud):
    c = cloud
    first = get(c, "/os-hypervisors", "2.33", limit=1)
    assert [h["hypervisor_hostname"] for h in first["hypervisors"]] == ["cn1"]
    nxt = first["hypervisors_links"][0]
    assert nxt["rel"] == "next" and f"marker={first['hypervisors'][0]['id']}" in nxt["href"]
    rest = get(c, "/os-hypervisors", "2.33", limit=1, marker=first["hypervisors"][0]["id"])
    assert [h["hypervisor_hostname"] for h in rest["hypervisors"]] == ["cn2"]
    r = nova(c, "GET", "/os-hypervisors", "2.33", params={"marker": "999999"})
    assert r.status_code == 400 and "marker [999999] not found" in r.text
    r = nova(c, "GET", "/os-hypervisors", "2.33", params={"limit": "-1"})
    assert r.status_code == 400 and "limit" in r.json()["badRequest"]["message"]
    # below 2.33 paging parameters are ignored, as Nova does
    assert len(get(c, "/os-hypervisors", "2.32", limit=1)["hypervisors"]) == 2


def test_253_uuid_pattern_and_servers(cloud):
    c = cloud
    got = get(c, "/os-hypervisors", "2.53", hypervisor_hostname_pattern="cn1", with_servers="true")["hypervisors"]
    assert len(got) == 1 and len(got[0]["id"]) == 36
    assert got[0]["servers"] == [{"name": f"instance-{SID}", "uuid": SID}]
    shown = get(c, f"/os-hypervisors/{got[0]['id']}", "2.53", with_servers="true")["hypervisor"]
    assert shown["servers"][0]["uuid"] == SID and shown["service"]["id"] == got[0]["id"]
    assert "servers" not in get(c, f"/os-hypervisors/{got[0]['id']}", "2.53")["hypervisor"]
    r = nova(c, "GET", "/os-hypervisors", "2.53", params={"hypervisor_hostname_pattern": "zz"})
    assert r.status_code == 404 and "No hypervisor matching 'zz' could be found." in r.text
    r = nova(c, "GET", "/os-hypervisors/1", "2.53")
    assert r.status_code == 400 and "Invalid uuid 1" in r.text
    r = nova(c, "GET", "/os-hypervisors/cn/search", "2.53")
    assert r.status_code == 404


def test_old_search_and_servers(cloud):
    c = cloud
    found = get(c, "/os-hypervisors/cn/search", "2.52")["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["cn1", "cn2"]
    with_servers = get(c, "/os-hypervisors/cn1/servers", "2.1")["hypervisors"]
    assert with_servers[0]["servers"] == [{"name": f"instance-{SID}", "uuid": SID}]
    r = nova(c, "GET", "/os-hypervisors/nothere/search")
    assert r.status_code == 404 and "No hypervisor matching 'nothere'" in r.json()["itemNotFound"]["message"]
    r = nova(c, "GET", "/os-hypervisors/424242")
    assert r.status_code == 404
    hid = get(c, "/os-hypervisors")["hypervisors"][0]["id"]
    r = nova(c, "GET", f"/os-hypervisors/{hid}/uptime")
    assert r.status_code == 501 and "does not implement uptime" in r.text


def test_admin_only_sdk_and_cli(cloud):
    c = cloud
    member = c.new_project_user("member")
    assert nova(c, "GET", "/os-hypervisors", token=c.token(member)).status_code == 403
    assert nova(c, "GET", "/os-hypervisors/statistics", token=c.token(member)).status_code == 403
    names = sorted(h.name for h in c.conn().compute.hypervisors(details=True))
    assert names == ["cn1", "cn2"]
    rows = c.cli("hypervisor", "list", "-f", "json")
    assert sorted(r["Hypervisor Hostname"] for r in rows) == ["cn1", "cn2"]
    shown = c.cli("hypervisor", "show", "cn1", "-f", "json")
    assert shown["hypervisor_hostname"] == "cn1"
