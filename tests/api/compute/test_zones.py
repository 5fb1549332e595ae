"""os-availability-zone: zones of the compute hosts (aggregate zones, the default zone
for hosts in none), unavailable when every compute service of the zone is disabled;
/detail (admin) with hosts, services and the internal zone."""

from __future__ import annotations

import pytest

from tests.api.compute import admin_fixtures
from tests.api.compute.admin_fixtures import nova

pytestmark = [pytest.mark.api, pytest.mark.compute]
admin_cloud = admin_fixtures.admin_cloud


def zones(c, path="/os-availability-zone", token=None):
    r = nova(c, "GET", path, token=token)
    assert r.status_code == 200, r.text
    return r.json()["availabilityZoneInfo"]


def test_default_zone_then_aggregate_zone_then_disabled(admin_cloud):
    c = admin_cloud
    assert zones(c) == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    agg = nova(c, "POST", "/os-aggregates", json={"aggregate": {"name": "zagg", "availability_zone": "az1"}}).json()
    agg_id = agg["aggregate"]["id"]
    nova(c, "POST", f"/os-aggregates/{agg_id}/action", json={"add_host": {"host": "cn1"}})
    try:
        assert {z["zoneName"]: z["zoneState"]["available"] for z in zones(c)} == {"az1": True, "nova": True}
        r = nova(c, "PUT", "/os-services/disable", json={"host": "cn1", "binary": "nova-compute"})
        assert r.status_code == 200
        got = zones(c)
        assert got[-1] == {"zoneName": "az1", "zoneState": {"available": False}, "hosts": None}
        # a member sees the zones too (the list is not admin-only)
        member = c.new_project_user("member")
        assert zones(c, token=c.token(member)) == got
        names = [z.name for z in c.conn(member).compute.availability_zones()]
        assert sorted(names) == ["az1", "nova"]
    finally:
        nova(c, "PUT", "/os-services/enable", json={"host": "cn1", "binary": "nova-compute"})
        nova(c, "POST", f"/os-aggregates/{agg_id}/action", json={"remove_host": {"host": "cn1"}})
        nova(c, "DELETE", f"/os-aggregates/{agg_id}")


def test_detail_for_admins(admin_cloud):
    c = admin_cloud
    got = {z["zoneName"]: z for z in zones(c, "/os-availability-zone/detail")}
    assert set(got) == {"nova", "internal"}
    assert set(got["nova"]["hosts"]) == {"cn1", "cn2"}
    cn1 = got["nova"]["hosts"]["cn1"]["nova-compute"]
    assert cn1["available"] is True and cn1["active"] is True and cn1["updated_at"]
    assert set(got["internal"]["hosts"]["ctl1"]) == {"nova-scheduler", "nova-conductor"}
    assert got["internal"]["zoneState"] == {"available": True}
    member = c.new_project_user("member")
    r = nova(c, "GET", "/os-availability-zone/detail", token=c.token(member))
    assert r.status_code == 403
    rows = c.cli("availability", "zone", "list", "--compute", "--long", "-f", "json")
    assert {(r["Zone Name"], r["Host Name"]) for r in rows} >= {("nova", "cn1"), ("internal", "ctl1")}
