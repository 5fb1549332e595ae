"""Nova's ``/servers/{id}/metadata`` and ``/servers/{id}/tags`` on a live controller:
the documents, the state checks (409 in Nova's words, nothing changed), the limits
(metadata_items quota, 50 tags) and 2.26 for tags."""

from __future__ import annotations

import pytest

from tests.api.compute.servers_helpers import (
    Nova,
    add_flavors,
    fault,
    set_state,
    start_controller,
    upload_raw_image,
)

pytestmark = [pytest.mark.api, pytest.mark.compute]


@pytest.fixture(scope="module")
def ctl(request, tmp_path_factory):
    factory, c = start_controller(request, tmp_path_factory)
    try:
        add_flavors(c)
        c.image_id = upload_raw_image(c)
        yield c
    finally:
        factory.close()


@pytest.fixture
def nova(ctl):
    return Nova(ctl, ctl.new_project_user("member", prefix="meta"), version="2.26")


def active_server(ctl, nova, **server) -> str:
    sid = nova.create(imageRef=ctl.image_id, **server)["server"]["id"]
    set_state(ctl, sid, "active")
    return sid


def test_metadata_merge_replace_items_and_refusals(ctl, nova):
    sid = active_server(ctl, nova, metadata={"a": "1"})
    base = f"/servers/{sid}/metadata"
    assert nova("GET", base).json() == {"metadata": {"a": "1"}}
    r = nova("POST", base, json={"metadata": {"b": "2"}})
    assert r.status_code == 200 and r.json() == {"metadata": {"a": "1", "b": "2"}}
    r = nova("PUT", base, json={"metadata": {"c": "3"}})
    assert r.status_code == 200 and r.json() == {"metadata": {"c": "3"}}
    assert nova("GET", f"{base}/c").json() == {"meta": {"c": "3"}}
    assert fault(nova("GET", f"{base}/zz"), 404) == "Metadata item was not found"
    r = nova("PUT", f"{base}/d", json={"meta": {"d": "4"}})
    assert r.status_code == 200 and r.json() == {"meta": {"d": "4"}}
    assert fault(nova("PUT", f"{base}/d", json={"meta": {"e": "5"}}), 400) == "Request body and URI mismatch"
    assert fault(nova("PUT", f"{base}/d", json={"meta": {"d": "1", "e": "5"}}), 400) == \
        "Request body contains too many items"
    assert "Invalid input for field/attribute metadata" in fault(
        nova("POST", base, json={"metadata": {"k": 1}}), 400)
    assert nova("DELETE", f"{base}/d").status_code == 204
    assert fault(nova("DELETE", f"{base}/d"), 404) == "Metadata item was not found"
    assert nova.show(sid)["metadata"] == {"c": "3"}
    # the project's metadata_items quota (Nova's 403), also at create
    r = ctl.request("PUT", f"/compute/v2.1/os-quota-sets/{nova.creds.project_id}",
                    json={"quota_set": {"metadata_items": 2}})
    assert r.status_code == 200, r.text
    assert fault(nova("POST", base, json={"metadata": {"x": "1", "y": "2"}}), 403) == \
        "Maximum number of metadata items exceeds 2"
    r = nova("POST", "/servers", json={"server": {"name": "m", "flavorRef": "42", "imageRef": ctl.image_id,
                                                  "metadata": {"1": "", "2": "", "3": ""}}})
    assert fault(r, 403) == "Maximum number of metadata items exceeds 2"
    # a server building, locked, or in error refuses (Nova's 409) and keeps its metadata
    set_state(ctl, sid, "active", "spawning")
    assert fault(nova("POST", base, json={"metadata": {"x": "1"}}), 409) == \
        f"Cannot 'update metadata' instance {sid} while it is in task_state spawning"
    set_state(ctl, sid, "error")
    assert fault(nova("DELETE", f"{base}/c"), 409) == \
        f"Cannot 'delete metadata' instance {sid} while it is in vm_state error"
    set_state(ctl, sid, "active", locked=True, locked_by="owner")
    assert fault(nova("PUT", base, json={"metadata": {}}), 409) == f"Instance {sid} is locked"
    assert Nova(ctl).at("2.1")("PUT", base, json={"metadata": {}}).status_code == 200  # admins pass a lock
    assert nova("GET", base).json() == {"metadata": {}}


def test_tags_add_replace_remove_limits_and_version(ctl, nova):
    sid = active_server(ctl, nova)
    base = f"/servers/{sid}/tags"
    r = nova("PUT", f"{base}/one")
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/servers/{sid}/tags/one")
    assert nova("PUT", f"{base}/one").status_code == 204  # already there
    assert nova("GET", f"{base}/one").status_code == 204
    assert fault(nova("GET", f"{base}/two"), 404) == f"Server {sid} has no tag 'two'"
    r = nova("PUT", base, json={"tags": ["b", "a", "a"]})
    assert r.status_code == 200 and r.json() == {"tags": ["a", "b"]}
    assert nova("GET", base).json() == {"tags": ["a", "b"]}
    assert nova.show(sid)["tags"] == ["a", "b"]
    assert "is invalid" in fault(nova("PUT", f"{base}/a,b"), 400)
    assert "too long" in fault(nova("PUT", base, json={"tags": [f"t{i}" for i in range(51)]}), 400)
    assert nova("PUT", base, json={"tags": [f"t{i}" for i in range(50)]}).status_code == 200
    assert fault(nova("PUT", f"{base}/extra"), 400) == "The number of tags exceeded the per-server limit 50"
    assert nova("DELETE", f"{base}/t0").status_code == 204
    assert fault(nova("DELETE", f"{base}/t0"), 404)
    assert nova("DELETE", base).status_code == 204
    assert nova("GET", base).json() == {"tags": []}
    assert nova.at("2.25")("GET", base).status_code == 404
    set_state(ctl, sid, "error")
    assert fault(nova("PUT", f"{base}/x"), 409) == \
        f"Cannot 'update tag' instance {sid} while it is in vm_state error"
    assert nova("GET", base).json() == {"tags": []}
    other = Nova(ctl, ctl.new_project_user("member"), version="2.26")
    assert fault(other("GET", base), 404) == f"Instance {sid} could not be found."
