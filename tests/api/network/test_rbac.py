"""RBAC policies: a network shared with one project (and only it), the ``*`` target for
admins, duplicates, retargeting and removal refused while the target uses it."""

from __future__ import annotations

import pytest

from stratus.db.models.network import Network, RBACPolicy
from tests.api.network.nets_helpers import add_port, count, drop_port, error, name, neutron, ok


@pytest.fixture(scope="module")
def users(sqlite_controller):
    c = sqlite_controller
    return c.new_project_user("member", prefix="ra"), c.new_project_user("member", prefix="rb"), \
        c.new_project_user("member", prefix="rc")


def test_share_with_one_project(sqlite_controller, users):
    c = sqlite_controller
    owner, guest, stranger = users
    net = ok(neutron(c, "POST", "/networks", creds=owner, json={"network": {"name": name("rb")}}), 201)["network"]
    policy = c.cli("network", "rbac", "create", "--type", "network", "--action", "access_as_shared",
                   "--target-project", guest.project_id, net["id"], "-f", "json", creds=owner)
    assert policy["object_id"] == net["id"] and policy["target_project_id"] == guest.project_id
    seen = ok(neutron(c, "GET", f"/networks/{net['id']}", creds=guest))["network"]
    assert seen["shared"] is True  # shared with the caller's project
    assert ok(neutron(c, "GET", f"/networks/{net['id']}", creds=owner))["network"]["shared"] is False
    error(neutron(c, "GET", f"/networks/{net['id']}", creds=stranger), 404, "NetworkNotFound")
    assert net["id"] in {n["id"] for n in ok(neutron(c, "GET", "/networks", creds=guest))["networks"]}
    listed = ok(neutron(c, "GET", "/rbac-policies", creds=owner, params={"object_id": net["id"]}))["rbac_policies"]
    assert [p["id"] for p in listed] == [policy["id"]]
    # duplicates and another's network are refused; nothing is added
    before = count(c, RBACPolicy)
    body = {"object_type": "network", "object_id": net["id"], "action": "access_as_shared",
            "target_tenant": guest.project_id}
    error(neutron(c, "POST", "/rbac-policies", creds=owner, json={"rbac_policy": body}), 409, "DuplicateRbacPolicy")
    error(neutron(c, "POST", "/rbac-policies", creds=stranger, json={"rbac_policy": body}), 404, "NetworkNotFound")
    error(neutron(c, "POST", "/rbac-policies", creds=owner, json={"rbac_policy": {**body, "target_tenant": "*"}}),
          403)
    error(neutron(c, "POST", "/rbac-policies", creds=owner, json={"rbac_policy": {**body, "action": "own_it"}}),
          400, "InvalidInput")
    assert count(c, RBACPolicy) == before
    # the guest's port holds the policy in place
    port = add_port(c, net["id"], guest.project_id)
    r = neutron(c, "DELETE", f"/rbac-policies/{policy['id']}", creds=owner)
    assert net["id"] in error(r, 409, "RbacPolicyInUse")
    r = neutron(c, "PUT", f"/rbac-policies/{policy['id']}", creds=owner,
                json={"rbac_policy": {"target_tenant": stranger.project_id}})
    error(r, 409, "RbacPolicyInUse")
    assert count(c, RBACPolicy, id=policy["id"], target_tenant=guest.project_id) == 1
    drop_port(c, port)
    ok(neutron(c, "PUT", f"/rbac-policies/{policy['id']}", creds=owner,
               json={"rbac_policy": {"target_tenant": stranger.project_id}}))
    error(neutron(c, "GET", f"/networks/{net['id']}", creds=guest), 404, "NetworkNotFound")
    ok(neutron(c, "GET", f"/networks/{net['id']}", creds=stranger))
    ok(neutron(c, "DELETE", f"/rbac-policies/{policy['id']}", creds=owner), 204)
    error(neutron(c, "GET", f"/networks/{net['id']}", creds=stranger), 404, "NetworkNotFound")
    ok(neutron(c, "DELETE", f"/networks/{net['id']}", creds=owner), 204)
    assert count(c, RBACPolicy, object_id=net["id"]) == 0


def test_admin_wildcard_makes_shared_and_external(sqlite_controller, users):
    c = sqlite_controller
    _, guest, _ = users
    net = ok(neutron(c, "POST", "/networks", json={"network": {"name": name("rw")}}), 201)["network"]
    shared = ok(neutron(c, "POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_shared", "target_tenant": "*"}}),
        201)["rbac_policy"]
    assert ok(neutron(c, "GET", f"/networks/{net['id']}"))["network"]["shared"] is True
    ok(neutron(c, "GET", f"/networks/{net['id']}", creds=guest))
    ok(neutron(c, "DELETE", f"/rbac-policies/{shared['id']}"), 204)
    with_net = count(c, Network, id=net["id"], shared=False)
    assert with_net == 1
    ext = ok(neutron(c, "POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_external",
        "target_tenant": guest.project_id}}), 201)["rbac_policy"]
    seen = ok(neutron(c, "GET", f"/networks/{net['id']}", creds=guest))["network"]
    assert seen["router:external"] is True and seen["shared"] is False
    ok(neutron(c, "DELETE", f"/rbac-policies/{ext['id']}"), 204)
    ok(neutron(c, "DELETE", f"/networks/{net['id']}"), 204)
