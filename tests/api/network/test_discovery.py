"""Discovery: ``/network`` lists v2.0, ``/network/v2.0`` the collections, the
extensions list says exactly what is implemented, and the zones."""

from __future__ import annotations

from stratus.network.extensions import EXTENSIONS
from tests.api.network.nets_helpers import error, neutron, ok

EXPECTED = {"network", "subnet", "port", "router", "external-net", "ext-gw-mode", "extraroute", "provider",
            "binding", "security-group", "port-security", "allowed-address-pairs", "quotas", "quota_details",
            "standard-attr-description", "standard-attr-revisions", "standard-attr-timestamp",
            "standard-attr-tag", "subnet_allocation", "default-subnetpools", "rbac-policies",
            "availability_zone", "network_availability_zone", "router_availability_zone", "net-mtu",
            "net-mtu-writable", "fields", "sorting", "pagination", "filter-validation", "project-id",
            "stateful-security-group"}
NOT_BUILT = {"multi-provider", "dhcp_agent_scheduler", "network-ip-availability", "qos", "trunk",
             "dns-integration", "l3-ha", "dvr", "segment", "empty-string-filtering", "address-scope"}


def test_versions_and_resources_without_a_token(sqlite_controller):
    c = sqlite_controller
    for path in ("/network", "/network/"):
        body = c.http.get(path).json()
        assert [v["id"] for v in body["versions"]] == ["v2.0"] and body["versions"][0]["status"] == "CURRENT"
        assert body["versions"][0]["links"][0]["href"].endswith("/network/v2.0/")
    for path in ("/network/v2.0", "/network/v2.0/"):
        collections = {r["collection"] for r in c.http.get(path).json()["resources"]}
        assert {"networks", "subnets", "ports", "subnetpools", "rbac-policies"} <= collections


def test_extensions_are_what_is_built(sqlite_controller):
    c = sqlite_controller
    aliases = {e["Alias"] for e in c.cli("extension", "list", "--network", "-f", "json")}
    assert aliases >= EXPECTED and not aliases & NOT_BUILT and aliases == set(EXTENSIONS)
    one = ok(neutron(c, "GET", "/extensions/provider"))["extension"]
    assert one["alias"] == "provider" and one["name"]
    assert "multi-provider" in error(neutron(c, "GET", "/extensions/multi-provider"), 404, "ExtensionNotFound")
    conn = c.conn()
    assert conn.network.find_extension("rbac-policies") is not None


def test_availability_zones(sqlite_controller):
    c = sqlite_controller
    zones = c.cli("availability", "zone", "list", "--network", "-f", "json")
    assert {(z["Zone Name"], z["Zone Status"]) for z in zones} == {("nova", "available")}
    got = ok(neutron(c, "GET", "/availability_zones", params={"resource": "router"}))["availability_zones"]
    assert got == [{"name": "nova", "resource": "router", "state": "available"}]
