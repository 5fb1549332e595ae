"""OS::Swift::Container in a stack on the session's cluster (``swift_cloud``), driven by
``openstack stack create``:

- the project member sees the containers in its own account (``openstack container
  show``): the ACL, the container metadata, the account metadata; the read ACL
  ``.r:*`` lets an anonymous GET read an object; the outputs give Heat's attributes
  (WebsiteURL, RootURL, DomainName, ObjectCount, BytesUsed, HeadContainer);
- ``openstack stack update`` changes ACLs and metadata in place (what the template no
  longer names is removed);
- a stack delete with an object in a container without PurgeOnDelete fails
  (DELETE_FAILED, as Heat's "Deleting non-empty container") and leaves the object;
  once that container is emptied, the delete completes, and the PurgeOnDelete
  container goes with the object still in it.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlparse

import httpx
import pytest

from tests.api.orchestration.heat_helpers import stack_path, wait_stack
from tests.api.orchestration.signal_helpers import resource

pytestmark = [pytest.mark.object_storage, pytest.mark.orchestration, pytest.mark.slow]


def template(keep: str, team: str, **keep_props) -> dict:
    props = {"name": keep, "X-Container-Read": ".r:*,.rlistings", "X-Container-Meta": {"Color": "blue"},
             "X-Account-Meta": {"Team": team}, **keep_props}
    return {
        "heat_template_version": "2018-08-31",
        "resources": {
            "keep": {"type": "OS::Swift::Container", "properties": {k: v for k, v in props.items() if v is not None}},
            "purge": {"type": "OS::Swift::Container", "properties": {"PurgeOnDelete": True}},
        },
        "outputs": {k: {"value": {"get_attr": [res, attr]}} for k, res, attr in (
            ("url", "keep", "WebsiteURL"), ("root", "keep", "RootURL"), ("domain", "keep", "DomainName"),
            ("count", "keep", "ObjectCount"), ("bytes", "keep", "BytesUsed"), ("head", "keep", "HeadContainer"),
            ("purge_url", "purge", "WebsiteURL"))},
    }


def test_stack_containers_acl_metadata_outputs_and_delete_as_heat(swift_cloud, tmp_path):
    cloud = swift_cloud
    member = cloud.new_project_user(prefix="swstack")
    tag = uuid.uuid4().hex[:8]
    keep, team = f"keep-{tag}", f"team-{tag}"
    path = tmp_path / "containers.yaml"
    path.write_text(json.dumps(template(keep, team)))
    name = f"swstack-{tag}"
    out = cloud.cli("stack", "create", "-t", str(path), "--wait", "-f", "json", name, creds=member)
    stack_id = json.loads("{" + out.partition("\n{")[2])["id"]
    stack = wait_stack(cloud, member, stack_id, "CREATE_COMPLETE")
    got = {o["output_key"]: o.get("output_value") for o in stack["outputs"]}

    root = f"{cloud.settings['object_store_url']}/v1/AUTH_{member.project_id}"
    assert (got["root"], got["url"], got["domain"]) == (root, f"{root}/{keep}", "127.0.0.1")
    assert (got["count"], got["bytes"]) == (0, 0)
    assert got["head"]["x-container-read"] == ".r:*,.rlistings"
    assert got["head"]["x-container-meta-color"] == "blue"
    purge = urlparse(got["purge_url"]).path.rsplit("/", 1)[1]
    assert purge.startswith("purge-")

    shown = cloud.cli("container", "show", keep, "-f", "json", creds=member)
    assert shown["read_acl"] == ".r:*,.rlistings" and shown["object_count"] in (0, "0")
    assert {k.lower(): v for k, v in shown["properties"].items()} == {"color": "blue"}
    account = cloud.cli("object", "store", "account", "show", "-f", "json", creds=member)
    assert {k.lower(): v for k, v in account["properties"].items()}.get("team") == team
    assert cloud.cli("container", "show", purge, "-f", "json", creds=member)["container"] == purge

    # an update changes the container in place: the metadata and ACLs the template no longer names go
    changed = tmp_path / "changed.yaml"
    changed.write_text(json.dumps(template(keep, team, **{"X-Container-Read": None,
                                                          "X-Container-Meta": {"Size": "xl"}})))
    cloud.cli("stack", "update", "-t", str(changed), "--wait", name, creds=member)
    wait_stack(cloud, member, stack_id, "UPDATE_COMPLETE")
    shown = cloud.cli("container", "show", keep, "-f", "json", creds=member)
    assert not shown.get("read_acl") and {k.lower(): v for k, v in shown["properties"].items()} == {"size": "xl"}
    cloud.cli("stack", "update", "-t", str(path), "--wait", name, creds=member)  # back to the first
    wait_stack(cloud, member, stack_id, "UPDATE_COMPLETE")

    (tmp_path / "obj").write_text("hello")
    for container in (keep, purge):
        cloud.cli("object", "create", container, str(tmp_path / "obj"), "--name", "obj", creds=member)
    assert httpx.get(f"{root}/{keep}/obj").text == "hello"  # the read ACL .r:* at work, no token

    token = cloud.token(member)
    r = cloud.request("DELETE", f"{stack_path(cloud, member, name)}/{stack_id}", token)
    assert r.status_code == 204, r.text
    failed = wait_stack(cloud, member, stack_id, "DELETE_FAILED", timeout=120)
    assert f"Deleting non-empty container ({keep}) when PurgeOnDelete is False" in failed["stack_status_reason"]
    assert "409" in failed["stack_status_reason"], failed  # Swift's own answer follows
    assert resource(cloud, member, name, stack_id, "keep")["resource_status"] == "DELETE_FAILED"
    listed = cloud.cli("object", "list", keep, "-f", "json", creds=member)
    assert [o["Name"] for o in listed] == ["obj"]  # nothing of it was deleted

    # emptied, the delete completes; the PurgeOnDelete container goes with its object
    cloud.cli("object", "delete", keep, "obj", creds=member)
    r = cloud.request("DELETE", f"{stack_path(cloud, member, name)}/{stack_id}", token)
    assert r.status_code == 204, r.text
    wait_stack(cloud, member, stack_id, "DELETE_COMPLETE", timeout=120)
    assert cloud.cli("container", "list", "-f", "json", creds=member) == []
