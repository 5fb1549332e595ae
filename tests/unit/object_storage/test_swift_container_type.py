"""OS::Swift::Container compiled: object_container tasks on the controller group with the
project's account and the service token (data, never templated), account metadata with
a no_log POST, in-place updates that purge, replacement on a new name, the delete with
PurgeOnDelete, attributes from the plan and the module's result, and the refusals."""

from __future__ import annotations

import pytest

from stratus.identity.tokens import TokenProvider
from stratus.jobs.runner import UNSAFE
from stratus.object_store import auth
from stratus.orchestration import resources
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError, UpdateReplace
from stratus.orchestration.resources import PlanContext, PlannedResource
from stratus.orchestration.submit import submit
from stratus.orchestration.types.swift import SwiftContainer
from tests.unit.object_storage.test_service_token import make_cloud

pytestmark = pytest.mark.object_storage
RID = "0123abcd-4567-89ef-0123-456789abcdef"


@pytest.fixture
def cloud(tmp_path):
    settings, db, keys = make_cloud(tmp_path)
    yield settings, db, keys, PlanContext(settings, keys, db)
    auth.forget(settings)
    db.dispose()


def plain(value):
    if isinstance(value, dict):
        if set(value) == {UNSAFE}:
            return plain(value[UNSAFE])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def container(ctx, **props) -> PlannedResource:
    res = PlannedResource("box", SwiftContainer.type_name, RID, props, project_id="p1", context=ctx)
    res.attributes.update(SwiftContainer.plan_attributes(res))
    return res


def test_registered_with_heats_schema():
    cls = resources.get_type("OS::Swift::Container")
    assert cls is SwiftContainer
    assert set(cls.properties_schema) == {"name", "X-Container-Read", "X-Container-Write", "X-Container-Meta",
                                          "X-Account-Meta", "PurgeOnDelete"}
    assert {"DomainName", "WebsiteURL", "RootURL", "ObjectCount", "BytesUsed", "HeadContainer"} <= set(
        cls.attributes_schema)


def test_create_is_object_container_with_the_project_account_and_a_valid_service_token(cloud):
    settings, db, keys, ctx = cloud
    res = container(ctx, name="logs", **{"X-Container-Read": ".r:*,.rlistings", "X-Container-Meta": {"Color": "{{ x }}"},
                                         "X-Account-Meta": {"Owner": "ops"}})
    (box,) = SwiftContainer.plan_create(res)
    assert box["name"] == "box" and box["register"] == "stratus_box"
    args = box["stratus.cloud.object_container"]
    assert set(args) == {UNSAFE}  # data: Ansible never templates "{{ x }}"
    args = plain(args)
    token = args.pop("token")
    assert args == {"name": "logs", "state": "present", "metadata": {"Color": "{{ x }}"}, "read_acl": ".r:*,.rlistings",
                    "account_metadata": {"Owner": "ops"}, "storage_url": "http://127.0.0.1:1/v1/AUTH_p1"}
    with db.session() as s:
        assert TokenProvider(settings, keys).validate(s, token).user_name == "swift"
    assert res.attributes == {"name": "logs", "RootURL": "http://127.0.0.1:1/v1/AUTH_p1",
                              "WebsiteURL": "http://127.0.0.1:1/v1/AUTH_p1/logs", "DomainName": "127.0.0.1"}


def test_default_name_update_in_place_replace_on_new_name_and_delete(cloud):
    ctx = cloud[3]
    res = container(ctx, **{"X-Container-Meta": {"a": "1"}})
    assert res.attributes["name"] == "box-0123abcd4567"
    [update] = SwiftContainer.plan_update(res, {"X-Container-Read": None, "X-Container-Meta": {"a": "1"}})
    args = plain(update["stratus.cloud.object_container"])
    assert (args["read_acl"], args["write_acl"], args["purge_metadata"]) == ("", "", True)
    with pytest.raises(UpdateReplace):
        SwiftContainer.plan_update(res, {"name": "other"})
    delete, heat_words, other = SwiftContainer.plan_delete(res)
    args = plain(delete["stratus.cloud.object_container"])
    assert (args["name"], args["state"], args["delete_objects"]) == ("box-0123abcd4567", "absent", False)
    assert delete["ignore_errors"] is True  # Swift's 409 is told in Heat's words by the next task
    assert heat_words["when"] == "stratus_box is failed and stratus_box.status | default(0) == 409"
    assert heat_words["ansible.builtin.fail"]["msg"] == (
        '{{ "Deleting non-empty container (box-0123abcd4567) when PurgeOnDelete is False: " ~ stratus_box.msg }}')
    assert other["when"] == "stratus_box is failed" and other["ansible.builtin.fail"]["msg"] == "{{ stratus_box.msg }}"
    res.properties["PurgeOnDelete"] = True
    [purge] = SwiftContainer.plan_delete(res)
    assert plain(purge["stratus.cloud.object_container"])["delete_objects"] is True and "ignore_errors" not in purge


def test_attributes_from_the_module_result_and_at_run_time(cloud):
    head = {"x-container-object-count": "2", "x-container-bytes-used": "7", "x-container-read": ".r:*",
            "x-container-meta-color": "red"}
    got = SwiftContainer.realize({"container": {"name": "logs", "object_count": 2, "bytes_used": 7,
                                                "read_acl": ".r:*", "metadata": {"Color": "red"}},
                                  "headers": head})
    assert got == {"name": "logs", "ObjectCount": 2, "BytesUsed": 7, "HeadContainer": head}
    assert SwiftContainer.realize({"changed": False}) == {}
    res = container(cloud[3])
    res.placed, res.hosts = True, ["hc1"]
    assert SwiftContainer.runtime_attribute(res, "ObjectCount", []) == \
        'hostvars["hc1"]["stratus_box"]["container"]["object_count"]'


def test_submitted_template_runs_on_the_controller_group(cloud):
    settings, db, keys, ctx = cloud
    template = {"heat_template_version": "2018-08-31", "resources": {
        "box": {"type": "OS::Swift::Container", "properties": {"name": "b1"}},
        "v": {"type": "OS::Heat::Value", "properties": {"value": {"get_attr": ["box", "WebsiteURL"]}}}}}
    with db.session() as s:
        job = submit(s, template, project_id="p1", context=ctx)
    plays = job.playbook
    [box_play] = [p for p in plays if any("stratus.cloud.object_container" in t for t in p["tasks"])]
    assert box_play["hosts"] == "controller"


@pytest.mark.parametrize(("props", "words"), [
    ({"name": "a/b"}, "may not contain '/'"),
    ({"name": "x" * 257}, "at most 256"),
])
def test_bad_names_are_refused_before_anything_runs(cloud, props, words):
    with pytest.raises(ResourceCheckFailed, match=words) as err:
        SwiftContainer.check(None, container(cloud[3], **props))
    assert err.value.path == ("resources", "box", "properties", "name")


def test_needs_the_controller_and_object_storage(cloud):
    settings, db, keys, ctx = cloud
    with pytest.raises(TemplateError, match="no offline compile"):
        SwiftContainer.plan_create(container(None))
    bare = PlanContext(settings.model_copy(update={"object_store_url": ""}), keys, db)
    with pytest.raises(ResourceCheckFailed, match="object_store_url"):
        SwiftContainer.check(None, container(bare))
