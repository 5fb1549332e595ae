"""Custom constraints against a real SQLite DB, through the services' own lookups: a
flavor, image, network, key pair must exist and be visible to the stack's project."""

from __future__ import annotations

import uuid

import pytest

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.models.compute import Flavor, KeyPair
from stratus.db.models.images import Image
from stratus.db.models.network import Network
from stratus.orchestration import planner
from stratus.orchestration.constraints import Caller
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template
from tests.helpers.db import sqlite_session

pytestmark = pytest.mark.orchestration

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "parameters": {
        "flavor": {"type": "string", "constraints": [{"custom_constraint": "nova.flavor"}]},
        "image": {"type": "string", "constraints": [
            {"custom_constraint": "glance.image", "description": "Give an image of your project."}]},
        "net": {"type": "string", "constraints": [{"custom_constraint": "neutron.network"}]},
        "key": {"type": "string", "default": "k1", "constraints": [{"custom_constraint": "nova.keypair"}]},
    },
    "resources": {"v": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "flavor"}}}},
}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    with sqlite_session(tmp_path_factory.mktemp("db")) as s:
        s.add(Flavor(id="1", name="m1.tiny", vcpus=1, memory_mb=512, root_gb=1))
        s.add(Flavor(id="9", name="private", vcpus=1, memory_mb=512, root_gb=1, is_public=False))
        s.add(Image(id="img-p1", name="tiny", status="active", visibility="private", owner="p1",
                    disk_format="qcow2", container_format="bare"))
        s.add(Network(id="net-p1", project_id="p1", name="n"))
        s.add(Network(id="net-p2", project_id="p2", name="n2"))
        s.add(KeyPair(user_id="u1", name="k1", fingerprint="f", public_key="ssh-ed25519 AAA"))
        s.flush()
        yield s


GOOD = {"flavor": "m1.tiny", "image": "img-p1", "net": "net-p1"}


def test_values_the_project_may_use_pass(db):
    t = Template.from_dict(TEMPLATE)
    assert t.parameter_values(GOOD, db, Caller("p1", False, "u1"))["flavor"] == "m1.tiny"
    assert not t.notes  # everything was checked
    plan = planner.plan(t, GOOD, project_id="p1", db=db)
    assert plan.resources["v"].attributes["value"] == "m1.tiny"


@pytest.mark.parametrize(("change", "name", "words"), [
    ({"flavor": "m1.huge"}, "flavor", "Flavor m1.huge could not be found"),
    ({"flavor": "private"}, "flavor", "Flavor private could not be found"),
    ({"image": str(uuid.uuid4())}, "image", "Give an image of your project."),
    ({"net": "net-p2"}, "net", "Network net-p2 could not be found"),
    ({"key": "nokey"}, "key", "Keypair nokey not found"),
])
def test_values_outside_the_project_are_refused(db, change, name, words):
    t = Template.from_dict(TEMPLATE)
    with pytest.raises(TemplateError) as exc:
        t.parameter_values({**GOOD, **change}, db, Caller("p1", False, "u1"))
    assert exc.value.path == ("parameters", name)
    assert words in str(exc.value)


def test_an_admin_sees_every_project(db):
    t = Template.from_dict(TEMPLATE)
    t.parameter_values({**GOOD, "net": "net-p2", "flavor": "private"}, db, Caller("p1", True, "u1"))


def test_submit_checks_parameters_against_the_db_and_names_the_stack(db):
    from stratus.db.models.jobs import Resource
    from stratus.db.models.orchestration import Stack
    from stratus.orchestration.submit import submit

    db.add(Stack(id="st-1", name="web-stack", project_id="p1"))
    db.flush()
    raw = {**TEMPLATE, "resources": {"v": {"type": "OS::Heat::Value", "properties": {"value": {
        "list_join": ["/", [{"get_param": "OS::stack_name"}, {"get_param": "OS::stack_id"},
                            {"get_param": "flavor"}]]}}}}}
    with pytest.raises(TemplateError, match="Network net-p2 could not be found"):
        submit(db, raw, {**GOOD, "net": "net-p2"}, project_id="p1", stack_id="st-1")
    job = submit(db, raw, GOOD, project_id="p1", stack_id="st-1")
    row = db.get(Resource, job.resource_map["v"])
    assert row.attributes["value"] == "web-stack/st-1/m1.tiny" and row.stack_id == "st-1"
