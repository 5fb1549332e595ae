"""Tags on networks, subnets and subnet pools: replace all, add one, check, remove one,
remove all; tag filters on lists; the CLI's --tag; refusals that change nothing."""

from __future__ import annotations

import pytest

from stratus.db.models.network import Tag
from tests.api.network.nets_helpers import count, error, name, neutron, ok


@pytest.fixture(scope="module")
def alice(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="ta")


def test_tag_lifecycle_and_filters(sqlite_controller, alice):
    c = sqlite_controller
    a = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name("ta")}}), 201)["network"]
    b = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name("tb")}}), 201)["network"]
    got = ok(neutron(c, "PUT", f"/networks/{a['id']}/tags", creds=alice, json={"tags": ["red", "blue"]}))
    assert got == {"tags": ["blue", "red"]}
    ok(neutron(c, "PUT", f"/networks/{b['id']}/tags/red", creds=alice), 201)
    ok(neutron(c, "GET", f"/networks/{a['id']}/tags/blue", creds=alice), 204)
    error(neutron(c, "GET", f"/networks/{b['id']}/tags/blue", creds=alice), 404, "TagNotFound")
    shown = ok(neutron(c, "GET", f"/networks/{a['id']}", creds=alice))["network"]
    assert shown["tags"] == ["blue", "red"] and shown["revision_number"] > a["revision_number"]

    def ids(**params):
        return {n["id"] for n in ok(neutron(c, "GET", "/networks", creds=alice, params=params))["networks"]}

    assert ids(tags="red") == {a["id"], b["id"]}
    assert ids(tags="red,blue") == {a["id"]}
    assert {a["id"], b["id"]} <= ids(**{"tags-any": "blue,red"})
    assert b["id"] in ids(**{"not-tags": "blue"}) and a["id"] not in ids(**{"not-tags": "blue"})
    c.cli("network", "set", "--tag", "green", b["id"], creds=alice)
    assert ok(neutron(c, "GET", f"/networks/{b['id']}/tags", creds=alice))["tags"] == ["green", "red"]
    ok(neutron(c, "DELETE", f"/networks/{b['id']}/tags/red", creds=alice), 204)
    ok(neutron(c, "DELETE", f"/networks/{a['id']}/tags", creds=alice), 204)
    assert ok(neutron(c, "GET", f"/networks/{a['id']}/tags", creds=alice))["tags"] == []
    # refusals: a bad tag, a missing tag, another project's network
    before = count(c, Tag)
    error(neutron(c, "PUT", f"/networks/{a['id']}/tags", creds=alice, json={"tags": ["a,b"]}), 400, "InvalidInput")
    error(neutron(c, "PUT", f"/networks/{a['id']}/tags", creds=alice, json={"tags": "red"}), 400)
    error(neutron(c, "DELETE", f"/networks/{a['id']}/tags/nope", creds=alice), 404, "TagNotFound")
    bob = c.new_project_user("member", prefix="tb")
    error(neutron(c, "PUT", f"/networks/{a['id']}/tags/x", creds=bob), 404, "NetworkNotFound")
    error(neutron(c, "GET", f"/widgets/{a['id']}/tags", creds=alice), 404)
    assert count(c, Tag) == before
    ok(neutron(c, "DELETE", f"/networks/{b['id']}", creds=alice), 204)
    assert count(c, Tag, resource_id=b["id"]) == 0  # the network's tags go with it
    ok(neutron(c, "DELETE", f"/networks/{a['id']}", creds=alice), 204)


def test_subnet_and_subnetpool_tags(sqlite_controller, alice):
    c = sqlite_controller
    net = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name("ts")}}), 201)["network"]
    s = ok(neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "cidr": "10.90.0.0/24", "ip_version": 4}}), 201)["subnet"]
    ok(neutron(c, "PUT", f"/subnets/{s['id']}/tags/web", creds=alice), 201)
    assert ok(neutron(c, "GET", f"/subnets/{s['id']}", creds=alice))["subnet"]["tags"] == ["web"]
    assert [x["id"] for x in ok(neutron(c, "GET", "/subnets", creds=alice, params={"tags": "web"}))["subnets"]] \
        == [s["id"]]
    pool = ok(neutron(c, "POST", "/subnetpools", creds=alice, json={"subnetpool": {
        "name": name(), "prefixes": ["10.91.0.0/16"]}}), 201)["subnetpool"]
    ok(neutron(c, "PUT", f"/subnetpools/{pool['id']}/tags", creds=alice, json={"tags": ["x"]}))
    assert ok(neutron(c, "GET", f"/subnetpools/{pool['id']}", creds=alice))["subnetpool"]["tags"] == ["x"]
    ok(neutron(c, "DELETE", f"/subnetpools/{pool['id']}", creds=alice), 204)
    ok(neutron(c, "DELETE", f"/networks/{net['id']}", creds=alice), 204)
    assert count(c, Tag, resource_id=s["id"]) == 0 and count(c, Tag, resource_id=pool["id"]) == 0
