"""AWS::EC2::Instance submitted against a real SQLite DB compiles to exactly the tasks of
the OS::Nova::Server it stands for (the same checks, rows and module arguments)."""

from __future__ import annotations

import uuid

import pytest

import stratus.db.models  # noqa: F401 - registers every table
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.compute import Flavor, KeyPair
from stratus.db.models.compute import Server as ServerRow
from stratus.db.models.hosts import Host
from stratus.db.models.images import Image
from stratus.db.session import Database
from stratus.identity.fernet import FernetKeys
from stratus.jobs.runner import UNSAFE
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import PlanContext
from stratus.orchestration.submit import submit

pytestmark = pytest.mark.orchestration


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfn")
    database = Database(f"sqlite:///{path}/stratus.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        s.add(Host(name="cmp1", groups=["compute"], vars={}, capacity={"vcpus": 8, "memory_mb": 8192, "disk_gb": 100}))
        s.add(Flavor(id="42", name="m1.nano", vcpus=1, memory_mb=128, root_gb=1))
        s.add(Image(id="img-1", name="tiny", status="active", visibility="private", owner="p1", disk_format="qcow2",
                    container_format="bare", size=20 << 20, virtual_size=512 << 20, os_hash_algo="sha512",
                    os_hash_value="ab" * 64, checksum="c" * 32))
        s.add(KeyPair(user_id="u1", name="k", public_key="ssh-ed25519 AAAA u1", fingerprint="f"))
    keys = FernetKeys(path / "keys")
    keys.setup()
    yield database, PlanContext(Settings(public_url="http://ctl.example:8700"), keys, user_id="u1")
    database.dispose()


def plain(value):
    if isinstance(value, dict):
        if set(value) == {UNSAFE}:
            return plain(value[UNSAFE])
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def instance_args(job) -> dict:
    tasks = [t for play in job.playbook for t in play["tasks"]]
    args = next(plain(t["stratus.cloud.instance"]) for t in tasks if "stratus.cloud.instance" in t)
    return {k: v for k, v in args.items() if k not in ("uuid", "name")}


def test_an_ec2_instance_is_the_nova_server_it_stands_for(cloud):
    database, context = cloud
    cfn = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"vm": {
        "Type": "AWS::EC2::Instance",
        "Properties": {"ImageId": "img-1", "InstanceType": "m1.nano", "KeyName": "k", "UserData": "#!/bin/sh",
                       "Tags": [{"Key": "role", "Value": "web"}]}}}}
    hot = {"heat_template_version": "2018-08-31", "resources": {"vm": {
        "type": "OS::Nova::Server",
        "properties": {"image": "img-1", "flavor": "m1.nano", "key_name": "k", "user_data": "#!/bin/sh",
                       "metadata": {"role": "web"}}}}}
    with database.session() as s:
        aws_job = submit(s, cfn, project_id="p1", context=context, request_id=str(uuid.uuid4()))
        nova_job = submit(s, hot, project_id="p1", context=context, request_id=str(uuid.uuid4()))
        aws_args, nova_args = instance_args(aws_job), instance_args(nova_job)
        assert aws_args["keys"] == {"k": "ssh-ed25519 AAAA u1"}
        assert {k: v for k, v in aws_args.items() if k != "hostname"} == {
            k: v for k, v in nova_args.items() if k != "hostname"}
        row = s.get(ServerRow, aws_job.resource_map["vm"])
        assert (row.project_id, row.flavor_id) == ("p1", "42")  # listed by the compute API


def test_its_checks_are_the_servers(cloud):
    database, context = cloud
    cfn = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"vm": {
        "Type": "AWS::EC2::Instance", "Properties": {"ImageId": "img-1", "InstanceType": "m9.huge"}}}}
    with database.session() as s, pytest.raises(ResourceCheckFailed, match="m9.huge"):
        submit(s, cfn, project_id="p1", context=context)
