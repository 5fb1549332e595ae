"""Signals and software configs without a controller: signal tickets, a wait
condition's verdict from its handle's signals (Heat's defaults and words), the config
types' texts (cloud-config, Heat's MIME multipart), a structured deployment's
substitution and a deployment's result recorded as Heat's engine records it."""

from __future__ import annotations

import email
import json

import pytest
import yaml

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.base import Base
from stratus.db.models.jobs import Resource
from stratus.db.models.orchestration import SoftwareDeployment
from stratus.db.session import Database
from stratus.errors import BadRequest
from stratus.identity.fernet import FernetKeys
from stratus.orchestration.resources import PlannedResource
from stratus.orchestration.types import heat_signals as hs
from stratus.orchestration.types import heat_software as sw
from stratus.stacks import signals, software, tickets

pytestmark = [pytest.mark.orchestration]


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/s.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        yield s
    database.dispose()


@pytest.fixture
def keys(tmp_path):
    k = FernetKeys(tmp_path / "keys")
    k.setup()
    return k


def test_tickets_open_one_resource_for_one_purpose(keys):
    t = tickets.issue(keys, "r1")
    assert tickets.looks_like_ticket(t) and not tickets.looks_like_ticket("gAAAAAB-a-keystone-token")
    assert tickets.verify(keys, "r1", t)
    assert not tickets.verify(keys, "r2", t)
    assert not tickets.verify(keys, "r1", t, tickets.WAIT)
    assert not tickets.verify(keys, "r1", None)
    url = tickets.presigned_url("http://169.254.169.254", "p", "r1", keys)
    assert url.startswith("http://169.254.169.254/orchestration/v1/p/signals/r1?signature=")


def _rows(db):
    db.add(Resource(id="h", name="handle", type="OS::Heat::WaitConditionHandle", project_id="p", stack_id="s"))
    db.add(Resource(id="w", name="wait", type="OS::Heat::WaitCondition", project_id="p", stack_id="s",
                    properties={"handle": "h", "count": 2, "timeout": 10}))
    db.add(Resource(id="n", name="nothing", type="OS::Heat::None", project_id="p", stack_id="s"))
    db.flush()
    return db.get(Resource, "h"), db.get(Resource, "w")


def test_wait_condition_counts_successes_and_words_its_verdicts_as_heat(db):
    handle, wait = _rows(db)
    state = signals.wait_state(db, wait)
    assert state["status"] == hs.WAITING
    assert state["timeout_reason"] == "WaitConditionTimeout: resources.wait: 0 of 2 received"
    signals.signal_resource(db, handle, {"data": "one"})
    state = signals.wait_state(db, wait)
    assert state["timeout_reason"] == ("WaitConditionTimeout: resources.wait: 1 of 2 received - "
                                       "Signal 1 received")
    signals.signal_resource(db, handle, {"status": "SUCCESS", "id": "x", "data": {"k": 1}, "reason": "r"})
    state = signals.wait_state(db, wait)
    assert state["status"] == hs.SUCCESS
    assert json.loads(state["attributes"]["data"]) == {"1": "one", "x": {"k": 1}}
    signals.signal_resource(db, handle, {"status": "FAILURE", "reason": "disk full"})
    assert signals.wait_state(db, wait) == {"status": hs.FAILURE, "attributes": {},
                                            "reason": "WaitConditionFailure: resources.wait: disk full"}


def test_signal_refusals(db):
    handle, _ = _rows(db)
    with pytest.raises(BadRequest, match="Metadata format invalid"):
        signals.signal_resource(db, handle, {"status": "DONE"})
    with pytest.raises(BadRequest, match="signal is not supported for resource."):
        signals.signal_resource(db, db.get(Resource, "n"), {})
    cfn = Resource(id="c", name="Handle", type="AWS::CloudFormation::WaitConditionHandle", project_id="p")
    db.add(cfn)
    db.flush()
    with pytest.raises(BadRequest, match="Metadata format invalid"):
        signals.signal_resource(db, cfn, {"Status": "SUCCESS", "Reason": "r"})
    signals.signal_resource(db, cfn, {"Status": "SUCCESS", "Reason": "r", "UniqueId": 7, "Data": "d"})
    assert signals.received(db, "c") == [{"status": "SUCCESS", "reason": "r", "data": "d", "id": "7"}]


def _planned(type_name, props):
    return PlannedResource("cfg", type_name, "3f1a4a52-1b9a-4fb4-9d5e-7c4b51f7a111", props)


def test_cloud_config_and_multipart_mime_texts():
    cloud = _planned("OS::Heat::CloudConfig", {"cloud_config": {"runcmd": ["echo hi"]}})
    text = sw.CloudConfig.config_text(cloud)
    assert text.startswith("#cloud-config\n") and yaml.safe_load(text) == {"runcmd": ["echo hi"]}
    sw.CloudConfig.plan_attributes(cloud)  # remembered for a MIME of the same stack
    mime = _planned("OS::Heat::MultipartMime", {"parts": [
        {"config": cloud.resource_id},
        {"config": "#!/bin/sh\necho two\n", "filename": "two.sh", "subtype": "x-shellscript"}]})
    msg = email.message_from_string(sw.MultipartMime.config_text(mime))
    first, second = msg.get_payload()
    assert first.get_content_type() == "text/plain" and first.get_payload() == text
    assert second.get_content_type() == "text/x-shellscript" and second.get_filename() == "two.sh"
    nested = _planned("OS::Heat::MultipartMime", {"parts": [{"config": msg.as_string(), "type": "multipart"}]})
    assert len(email.message_from_string(sw.MultipartMime.config_text(nested)).get_payload()) == 2


def test_structured_deployment_replaces_get_input():
    res = _planned("OS::Heat::StructuredDeployment", {"input_key": "get_input", "input_values_validate": "STRICT"})
    source = {"config": json.dumps({"a": {"get_input": "x"}, "b": [{"get_input": "y"}], "c": 3})}
    out = sw.StructuredDeployment.derived_config(source, [{"name": "x", "value": 1}, {"name": "y", "value": "z"}], res)
    assert json.loads(out) == {"a": 1, "b": ["z"], "c": 3}
    with pytest.raises(Exception, match="undeclared input 'q'"):
        sw.StructuredDeployment.derived_config({"config": json.dumps({"a": {"get_input": "q"}})}, [], res)


def test_deployment_results_as_heats_engine_records_them(db):
    cfg = software.create_config(db, "p", {"name": "c", "group": "script", "config": "x",
                                           "outputs": [{"name": "result"}, {"name": "err", "error_output": True}]})
    ok = software.create_deployment(db, "p", {"config_id": cfg.id, "server_id": "s", "status": "IN_PROGRESS"})
    assert software.signal_deployment(db, ok, {"deploy_stdout": "o", "deploy_status_code": 0,
                                               "result": "42"}) == "deployment succeeded"
    assert (ok.status, ok.status_reason) == ("COMPLETE", "Outputs received")
    assert ok.output_values == {"result": "42", "deploy_stdout": "o", "deploy_stderr": None, "deploy_status_code": 0}
    assert software.signal_deployment(db, ok, {"deploy_status_code": 1}) is None  # not IN_PROGRESS: ignored
    bad = software.create_deployment(db, "p", {"config_id": cfg.id, "server_id": "s", "status": "IN_PROGRESS"})
    software.signal_deployment(db, bad, {"deploy_stderr": "boom\n", "deploy_status_code": 2})
    assert bad.status == "FAILED"
    assert bad.status_reason == ("deploy_status_code : Deployment exited with non-zero status code: 2, "
                                 "deploy_stderr : boom")
    flagged = software.create_deployment(db, "p", {"config_id": cfg.id, "server_id": "s", "status": "IN_PROGRESS"})
    software.signal_deployment(db, flagged, {"deploy_status_code": 0, "err": "it broke"})
    assert (flagged.status, flagged.status_reason) == ("FAILED", "err : it broke")
    row = Resource(id=ok.id, name="deploy", type="OS::Heat::SoftwareDeployment", project_id="p",
                   properties={"server": "s"})
    assert sw.SoftwareDeployment.wait_state(db, row)["attributes"]["result"] == "42"
    row_bad = Resource(id=bad.id, name="deploy", type="OS::Heat::SoftwareDeployment", properties={"server": "s"})
    assert sw.SoftwareDeployment.wait_state(db, row_bad)["reason"] == (
        "Error: resources.deploy: Deployment to server failed: deploy_status_code : Deployment exited with "
        "non-zero status code: 2, deploy_stderr : boom")
    assert db.get(SoftwareDeployment, bad.id) is not None
