"""Nova discovery (GET /compute, /compute/v2.1) and the microversion middleware seen
from clients: headers both ways, ``latest``, the legacy Nova header, 406 and 400 in
Nova's format, ``Vary``, and openstacksdk's negotiation reading the range."""

from __future__ import annotations

import pytest

from stratus.api.microversions import COMPUTE_MAX

pytestmark = [pytest.mark.api]

MAX = str(COMPUTE_MAX)


@pytest.mark.parametrize("path", ["/compute", "/compute/"])
def test_root_lists_v20_and_v21_without_a_token(sqlite_controller, path):
    c = sqlite_controller
    r = c.http.get(path)
    assert r.status_code == 200, r.text
    versions = {v["id"]: v for v in r.json()["versions"]}
    assert set(versions) == {"v2.0", "v2.1"}
    v21 = versions["v2.1"]
    assert (v21["status"], v21["min_version"], v21["version"]) == ("CURRENT", "2.1", MAX)
    assert v21["links"] == [{"rel": "self", "href": f"{c.url}/compute/v2.1/"}]
    v20 = versions["v2.0"]
    assert (v20["status"], v20["min_version"], v20["version"]) == ("SUPPORTED", "", "")
    assert v20["links"] == [{"rel": "self", "href": f"{c.url}/compute/v2/"}]
    assert "openstack-api-version" not in r.headers  # the root is not versioned


@pytest.mark.parametrize("path", ["/compute/v2.1", "/compute/v2.1/"])
def test_v21_document_has_the_range_and_is_versioned(sqlite_controller, path):
    c = sqlite_controller
    r = c.http.get(path)
    assert r.status_code == 200, r.text
    doc = r.json()["version"]
    assert (doc["id"], doc["status"], doc["min_version"], doc["version"]) == ("v2.1", "CURRENT", "2.1", MAX)
    assert doc["links"][0] == {"rel": "self", "href": f"{c.url}/compute/v2.1/"}
    assert doc["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2.1"
    assert r.headers["openstack-api-version"] == "compute 2.1"


def test_v20_document(sqlite_controller):
    r = sqlite_controller.http.get("/compute/v2/")
    assert r.status_code == 200 and r.json()["version"]["id"] == "v2.0"


@pytest.mark.parametrize(("headers", "served"), [
    ({}, "2.1"),  # no header: the minimum
    ({"OpenStack-API-Version": "compute 2.47"}, "2.47"),
    ({"OpenStack-API-Version": "compute latest"}, MAX),
    ({"OpenStack-API-Version": "volume 3.5, compute 2.60"}, "2.60"),  # other services' entries ignored
    ({"OpenStack-API-Version": "volume 3.5"}, "2.1"),
    ({"X-OpenStack-Nova-API-Version": "2.25"}, "2.25"),  # Nova's legacy header
    ({"X-OpenStack-Nova-API-Version": "latest"}, MAX),
    ({"OpenStack-API-Version": "compute 2.30", "X-OpenStack-Nova-API-Version": "2.10"}, "2.30"),  # new wins
])
def test_version_served_is_labelled_both_ways(sqlite_controller, headers, served):
    r = sqlite_controller.http.get("/compute/v2.1/", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["openstack-api-version"] == f"compute {served}"
    assert r.headers["x-openstack-nova-api-version"] == served
    vary = {v.strip().lower() for v in r.headers["vary"].split(",")}
    assert {"openstack-api-version", "x-openstack-nova-api-version"} <= vary


def test_version_reaches_the_routes(sqlite_controller):
    """A route under /compute/v2.1 is served at the version asked (the quota-set route
    is there before the server routes; a token proves auth runs after the check)."""
    c = sqlite_controller
    r = c.request("GET", "/compute/v2.1/os-quota-sets/x", headers={"OpenStack-API-Version": "compute 2.57"})
    assert r.headers["openstack-api-version"] == "compute 2.57"


@pytest.mark.parametrize("value", ["compute 2.0", "compute 2.80", "compute 3.1", "compute 1.1"])
def test_version_out_of_range_is_406_in_nova_format(sqlite_controller, value):
    r = sqlite_controller.http.get("/compute/v2.1/servers", headers={"OpenStack-API-Version": value})
    assert r.status_code == 406, r.text
    fault = r.json()["computeFault"]
    assert fault["code"] == 406
    assert f"Minimum is 2.1 and maximum is {MAX}" in fault["message"]
    assert r.headers["x-compute-request-id"].startswith("req-")


@pytest.mark.parametrize("headers", [
    {"OpenStack-API-Version": "compute two"},
    {"OpenStack-API-Version": "compute 2.01"},
    {"OpenStack-API-Version": "compute 2."},
    {"X-OpenStack-Nova-API-Version": "2.x"},
])
def test_malformed_version_is_400_in_nova_format(sqlite_controller, headers):
    r = sqlite_controller.http.get("/compute/v2.1/", headers=headers)
    assert r.status_code == 400, r.text
    assert "Invalid format for API version" in r.json()["badRequest"]["message"]


def test_version_check_precedes_authentication(sqlite_controller):
    r = sqlite_controller.http.get("/compute/v2.1/servers", headers={"OpenStack-API-Version": "compute 9.9"})
    assert r.status_code == 406


def test_sdk_discovers_the_range_and_negotiates(sqlite_controller):
    conn = sqlite_controller.conn()
    data = conn.compute.get_endpoint_data()
    assert str(data.min_microversion) == "2.1" or tuple(data.min_microversion) == (2, 1)
    assert tuple(data.max_microversion) == (COMPUTE_MAX.major, COMPUTE_MAX.minor)
    assert data.url.rstrip("/") == f"{sqlite_controller.url}/compute/v2.1"
    # the SDK sends a microversion it and the server both support, and we serve it
    r = conn.compute.get("/", microversion="2.53")
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == "compute 2.53"


def test_cli_reads_the_version_document(sqlite_controller):
    out = sqlite_controller.cli("versions", "show", "--service", "compute", "-f", "json")
    rows = [row for row in out if row.get("Service Type") == "compute"]
    assert rows and any(row.get("Max Microversion") == MAX for row in rows), out
