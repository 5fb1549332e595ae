"""Malformed and ill-typed bodies on every admin write route answer 400 (or 404 for a
missing object) in Nova's fault format, never a 500, and change nothing."""

from __future__ import annotations

import pytest

from tests.api.compute import admin_fixtures
from tests.api.compute.admin_fixtures import nova

pytestmark = [pytest.mark.api, pytest.mark.compute]
admin_cloud = admin_fixtures.admin_cloud

JUNK = [None, [], "text", 7, {}, {"aggregate": None}, {"aggregate": []}, {"aggregate": {"name": 5}},
        {"aggregate": {"name": "n", "availability_zone": ["x"]}}, {"add_host": {"host": None}},
        {"remove_host": []}, {"set_metadata": {"metadata": {"k": 1}}}, {"set_metadata": {"metadata": []}},
        {"set_metadata": {"metadata": {"": "v"}}}, {"host": "cn1", "binary": ["nova-compute"]},
        {"host": "cn1", "binary": "nova-compute", "forced_down": "maybe"},
        {"status": "disabled", "disabled_reason": "x" * 300}, {"status": 1}, {"forced_down": None}]


def snapshot(c):
    return (nova(c, "GET", "/os-aggregates").json(), nova(c, "GET", "/os-services", "2.53").json())


def test_junk_bodies_are_400s(admin_cloud):
    c = admin_cloud
    agg = nova(c, "POST", "/os-aggregates", json={"aggregate": {"name": "junk-target"}}).json()["aggregate"]
    svc = nova(c, "GET", "/os-services", "2.53", params={"host": "cn1"}).json()["services"][0]
    try:
        before = snapshot(c)
        routes = [("POST", "/os-aggregates", None), ("PUT", f"/os-aggregates/{agg['id']}", None),
                  ("POST", f"/os-aggregates/{agg['id']}/action", None),
                  ("PUT", "/os-services/disable-log-reason", "2.11"), ("PUT", "/os-services/force-down", "2.11"),
                  ("PUT", f"/os-services/{svc['id']}", "2.53")]
        for method, path, version in routes:
            for body in JUNK:
                r = nova(c, method, path, version, json=body)
                assert r.status_code in (400, 404), (method, path, body, r.status_code, r.text)
                assert set(r.json()) <= {"badRequest", "itemNotFound"}, r.text
            r = nova(c, method, path, version, content=b"\x00{", headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (path, r.text)
        assert snapshot(c) == before
    finally:
        nova(c, "DELETE", f"/os-aggregates/{agg['id']}")
