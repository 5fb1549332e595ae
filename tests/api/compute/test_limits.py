"""Nova's limits: the project's compute quotas and usage under Nova's names, the fields
each microversion drops, another project's limits for admins only."""

from __future__ import annotations

import pytest

from tests.api.compute.test_flavors import fault, nova


@pytest.fixture(scope="module")
def user(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="lim")


def test_limits_follow_quotas_and_usage(sqlite_controller, user):
    c = sqlite_controller
    c.conn().set_compute_quotas(user.project_id, instances=7, cores=9, key_pairs=4, server_groups=3)
    nova(c, "POST", "/os-server-groups", creds=user, json={"server_group": {"name": "g", "policies": ["affinity"]}})
    limits = c.conn(user).compute.get_limits().absolute
    assert (limits.instances, limits.total_cores, limits.keypairs, limits.server_groups) == (7, 9, 4, 3)
    assert (limits.instances_used, limits.total_cores_used, limits.total_ram_used) == (0, 0, 0)
    assert limits.server_groups_used == 1
    body = nova(c, "GET", "/limits", creds=user).json()["limits"]
    assert body["rate"] == [] and body["absolute"]["maxSecurityGroups"] == 10
    assert body["absolute"]["totalServerGroupsUsed"] == 1


def test_fields_by_microversion(sqlite_controller, user):
    c = sqlite_controller
    names = {ver: set(nova(c, "GET", "/limits", version=ver, creds=user).json()["limits"]["absolute"])
             for ver in ("2.35", "2.36", "2.38", "2.39", "2.56", "2.57")}
    assert {"maxTotalFloatingIps", "maxSecurityGroups", "totalFloatingIpsUsed"} <= names["2.35"]
    assert not {"maxTotalFloatingIps", "maxSecurityGroups", "maxSecurityGroupRules"} & names["2.36"]
    assert "maxImageMeta" in names["2.38"] and "maxImageMeta" not in names["2.39"]
    assert {"maxPersonality", "maxPersonalitySize"} <= names["2.56"]
    assert names["2.57"] == {"maxTotalRAMSize", "maxTotalInstances", "maxTotalCores", "maxTotalKeypairs",
                             "maxServerMeta", "maxServerGroups", "maxServerGroupMembers", "totalRAMUsed",
                             "totalCoresUsed", "totalInstancesUsed", "totalServerGroupsUsed"}


def test_other_project_only_for_admins(sqlite_controller, user):
    c = sqlite_controller
    c.conn().set_compute_quotas(user.project_id, instances=5)
    r = nova(c, "GET", "/limits", params={"tenant_id": user.project_id}).json()
    assert r["limits"]["absolute"]["maxTotalInstances"] == 5
    other = c.new_project_user("member", prefix="lim2")
    r = nova(c, "GET", "/limits", creds=other, params={"tenant_id": user.project_id})
    assert "os_compute_api:limits:other_project" in fault(r, 403)
