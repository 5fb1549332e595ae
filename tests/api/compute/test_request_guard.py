"""The compute request guard (stratus/api/request_guard.py) on a live controller: bodies
that are not JSON objects, NUL characters, foreign content types and oversized bodies
are refused in Nova's format before any route runs, on every compute path, and the
refused request changes nothing (a quota-set update shows it)."""

from __future__ import annotations

import pytest

from stratus.api.request_guard import MAX_BODY

pytestmark = [pytest.mark.api]

JSON = {"Content-Type": "application/json"}


def _instances(c, project_id: str) -> int:
    r = c.request("GET", f"/compute/v2.1/os-quota-sets/{project_id}")
    assert r.status_code == 200, r.text
    return r.json()["quota_set"]["instances"]


@pytest.fixture(scope="module")
def project(sqlite_controller):
    return sqlite_controller.new_project_user("member").project_id


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"text"', b"42", b"null", b"\xff\xfe",
                                  b'{"quota_set": {"instances": 5}', b'[{"quota_set": {}}]'])
def test_malformed_body_is_400_and_changes_nothing(sqlite_controller, project, body):
    c = sqlite_controller
    before = _instances(c, project)
    r = c.request("PUT", f"/compute/v2.1/os-quota-sets/{project}", content=body, headers=dict(JSON))
    assert r.status_code == 400, r.text
    assert r.json() == {"badRequest": {"code": 400, "message": "Malformed request body"}}
    assert r.headers["x-compute-request-id"].startswith("req-")
    assert r.headers["openstack-api-version"] == "compute 2.1"  # refused at the version asked
    assert _instances(c, project) == before


@pytest.mark.parametrize("path", ["/compute/v2.1/servers", "/compute/v2.1/servers/x/action",
                                  "/compute/v2.1/flavors", "/compute/v2.1/no-such-thing"])
def test_every_compute_path_is_guarded(sqlite_controller, path):
    r = sqlite_controller.http.post(path, content=b"{oops", headers=dict(JSON))
    assert r.status_code == 400 and r.json()["badRequest"]["message"] == "Malformed request body"


@pytest.mark.parametrize(("body", "field"), [
    ({"quota_set": {"instances": "1\u0000"}}, "instances"),
    ({"quota_set": {"instances\u0000": 1}}, "instances\\u0000"),
    ({"quota_set": {"x": [{"y": "a\u0000b"}]}}, "y"),
])
def test_nul_in_body_is_400_naming_the_field_and_changes_nothing(sqlite_controller, project, body, field):
    c = sqlite_controller
    before = _instances(c, project)
    r = c.request("PUT", f"/compute/v2.1/os-quota-sets/{project}", json=body)
    assert r.status_code == 400, r.text
    msg = r.json()["badRequest"]["message"]
    assert msg.startswith(f"Invalid input for field/attribute {field}. Value: ")
    assert "NUL" in msg and "\x00" not in msg
    assert _instances(c, project) == before


def test_nul_in_query_is_400(sqlite_controller):
    r = sqlite_controller.request("GET", "/compute/v2.1/servers", params={"name": "a\x00b"})
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"].startswith("Invalid input for query parameters name.")


def test_nul_in_path_is_404(sqlite_controller):
    r = sqlite_controller.request("GET", "/compute/v2.1/os-quota-sets/a%00b")
    assert r.status_code == 404, r.text
    assert r.json()["itemNotFound"]["code"] == 404


def test_foreign_content_type_is_415(sqlite_controller, project):
    c = sqlite_controller
    r = c.request("PUT", f"/compute/v2.1/os-quota-sets/{project}", content=b"<quota_set/>",
                  headers={"Content-Type": "application/xml"})
    assert r.status_code == 415, r.text
    assert r.json() == {"badMediaType": {"code": 415, "message": "Unsupported Content-Type"}}


def test_oversized_body_is_413(sqlite_controller, project):
    body = b'{"quota_set": {"x": "' + b"a" * MAX_BODY + b'"}}'
    r = sqlite_controller.request("PUT", f"/compute/v2.1/os-quota-sets/{project}", content=body,
                                  headers=dict(JSON))
    assert r.status_code == 413, r.text
    assert "Request is too large" in r.json()["overLimit"]["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json; charset=UTF-8",
                                          "application/vnd.openstack.compute+json"])
def test_good_body_reaches_the_route(sqlite_controller, project, content_type):
    """The guard passes a JSON object on (and reads a body without a JSON content type
    as JSON, as Nova does): the update lands."""
    c = sqlite_controller
    want = _instances(c, project) + 1
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = c.request("PUT", f"/compute/v2.1/os-quota-sets/{project}",
                  content=f'{{"quota_set": {{"instances": {want}}}}}'.encode(), headers=headers)
    assert r.status_code == 200, r.text
    assert _instances(c, project) == want


def test_other_services_are_not_guarded(sqlite_controller):
    """Keystone keeps its own answers (its fault format) for the same body."""
    r = sqlite_controller.http.post("/identity/v3/auth/tokens", content=b"[]", headers=dict(JSON))
    assert r.status_code == 400 and "error" in r.json()
