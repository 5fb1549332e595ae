"""The CloudFormation subset: sections, parameters, conditions, mappings, functions,
and AWS::EC2::* translated onto the OpenStack types."""

from __future__ import annotations

import pytest
import yaml

from stratus.orchestration import planner
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template
from stratus.orchestration.types.nova_server import Server

pytestmark = pytest.mark.orchestration

CFN = yaml.safe_load("""
AWSTemplateFormatVersion: 2010-09-09
Description: An instance with a volume
Parameters:
  KeyName: {Type: String, Default: k1, Description: the key}
  InstanceType:
    Type: String
    Default: m1.small
    AllowedValues: [m1.tiny, m1.small]
    ConstraintDescription: must be a known flavor
  Size: {Type: Number, Default: 2, MinValue: 1, MaxValue: 10}
  Secret: {Type: String, Default: abcdefgh, NoEcho: "true", MinLength: 8}
  Env: {Type: String, Default: dev}
Mappings:
  Images: {dev: {id: img-dev}, prod: {id: img-prod}}
Conditions:
  IsProd: {"Fn::Equals": [{Ref: Env}, prod]}
Resources:
  Server:
    Type: AWS::EC2::Instance
    Metadata: {role: web}
    Properties:
      ImageId: {"Fn::FindInMap": [Images, {Ref: Env}, id]}
      InstanceType: {Ref: InstanceType}
      KeyName: {Ref: KeyName}
      UserData: {"Fn::Base64": {"Fn::Join": ["", ["#!/bin/sh\\n", "echo ", {Ref: "AWS::StackName"}]]}}
      Tags: [{Key: tier, Value: web}]
  Data:
    Type: AWS::EC2::Volume
    DeletionPolicy: Snapshot
    Properties: {Size: {Ref: Size}}
  Extra:
    Type: AWS::EC2::Volume
    Condition: IsProd
    Properties: {Size: 1}
  Attach:
    Type: AWS::EC2::VolumeAttachment
    DependsOn: Server
    Properties: {VolumeId: {Ref: Data}, InstanceId: {Ref: Server}, Device: /dev/vdb}
Outputs:
  Id: {Value: {Ref: Server}, Description: the server}
  Az: {Value: {"Fn::Select": [0, ["a", "b"]]}}
  ExtraId: {Value: {Ref: Extra}, Condition: IsProd}
""")


def test_a_cloudformation_template_loads_and_plans():
    t = Template.from_dict(CFN)
    assert (t.format, t.version_name) == ("CFN", "AWSTemplateFormatVersion.2010-09-09")
    assert t.parameters["Secret"].hidden and t.parameters["Size"].type == "number"
    assert t.resources["Data"].deletion_policy == "Snapshot" and t.resources["Server"].metadata == {"role": "web"}
    assert t.resources["Server"].type_class.__mro__[1:].count(Server) == 1  # a subclass, not a copy
    plan = planner.plan(t, {}, stack={"name": "cf", "id": "sid"})
    assert sorted(plan.order) == ["Attach", "Data", "Server"]
    assert plan.order.index("Server") < plan.order.index("Attach")
    server = plan.resources["Server"].properties
    assert server["image"] == "img-dev" and server["flavor"] == "m1.small" and server["key_name"] == "k1"
    assert server["user_data"] == "#!/bin/sh\necho cf" and server["metadata"] == {"tier": "web"}
    assert "ImageId" not in server and server["config_drive"] is True  # the server's defaults
    assert plan.resources["Data"].properties["size"] == 2
    attach = plan.resources["Attach"].properties
    assert attach == {"volume_id": plan.resources["Data"].resource_id,
                      "instance_uuid": plan.resources["Server"].resource_id, "mountpoint": "/dev/vdb"}
    assert set(plan.template.outputs) == {"Id", "Az"}
    prod = planner.plan(t, {"Env": "prod"})
    assert "Extra" in prod.order and prod.resources["Server"].properties["image"] == "img-prod"


@pytest.mark.parametrize(("params", "words"), [
    ({"InstanceType": "m1.huge"}, "must be a known flavor"),
    ({"Size": 11}, "between 1 and 10"),
    ({"Secret": "short"}, "at least 8"),
])
def test_parameter_constraints(params, words):
    t = Template.from_dict(CFN)
    with pytest.raises(TemplateError) as exc:
        t.parameter_values(params)
    assert words in str(exc.value) and exc.value.path[0] == "parameters"


@pytest.mark.parametrize(("change", "path", "words"), [
    ({"AWSTemplateFormatVersion": "2009-01-01"}, ("AWSTemplateFormatVersion",), "not supported"),
    ({"Transform": "x"}, (), "unknown top-level section(s) Transform"),
    ({"Resources": {"S": {"Type": "AWS::RDS::DBInstance"}}}, ("Resources", "S", "Type"),
     "'AWS::RDS::DBInstance'"),
    ({"Resources": {"S": {"Type": "AWS::EC2::Volume", "Properties": {"Size": 1, "Iops": 5}}}},
     ("Resources", "S", "Properties", "Iops"), "unknown property 'Iops'"),
    ({"Resources": {"S": {"Type": "AWS::EC2::Volume", "Colour": 1}}}, ("Resources", "S"), "unknown key(s) Colour"),
    ({"Parameters": {"P": {"Type": "AWS::EC2::KeyPair::KeyName"}}}, ("Parameters", "P", "Type"), "Type must be"),
    ({"Resources": {"S": {"Type": "AWS::EC2::Volume", "Properties": {"Size": {"get_param": "x"}}}}},
     ("Resources", "S", "Properties", "Size", "get_param"), "HOT function"),
])
def test_refusals_name_the_path(change, path, words):
    with pytest.raises(TemplateError) as exc:
        Template.from_dict({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}, **change})
    assert exc.value.path == path, str(exc.value)
    assert words in str(exc.value)
