"""``AWS::EC2::*`` for CloudFormation templates: thin subclasses of the OpenStack types
that translate their properties onto them (as Heat's AWS resources do), never a
second implementation.

- ``AWS::EC2::Instance`` → ``OS::Nova::Server``: ImageId → image, InstanceType →
  flavor, KeyName → key_name, UserData → user_data, AvailabilityZone,
  SecurityGroups/SecurityGroupIds → security_groups, SubnetId → a NIC on the subnet's
  network (resolved by ``check``), Tags → metadata; its attributes PublicIp, PrivateIp,
  PublicDnsName, PrivateDnsName are its first address (as Heat's), AvailabilityZone.
- ``AWS::EC2::Volume`` → ``OS::Cinder::Volume``: Size, AvailabilityZone, SnapshotId, Tags.
- ``AWS::EC2::VolumeAttachment`` → ``OS::Cinder::VolumeAttachment``: VolumeId,
  InstanceId, Device.

The template is validated against the AWS schema; from planning on, the resource's
properties are the OpenStack type's (translated after each resolution, in
``plan_attributes``), so the recorded properties, checks, tasks, updates and deletes
are exactly the OpenStack type's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import INTEGER, LIST, STRING, Schema
from stratus.orchestration.resources import PlannedResource
from stratus.orchestration.types.cinder_attachment import VolumeAttachment
from stratus.orchestration.types.cinder_volume import Volume
from stratus.orchestration.types.nova_server import Server


class Translated:
    """Mixin: ``translate(props, attributes)`` maps the AWS properties onto the base
    type's; the base type's defaults fill what the AWS template does not say."""

    base: ClassVar[type] = object
    aws_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def translate(cls, props: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def to_base(cls, res: PlannedResource) -> None:
        """``res.properties`` as the base type's (idempotent: translated ones stay)."""
        if not any(k in res.properties for k in cls.aws_keys):
            return
        out = cls.translate(res.properties, res.attributes)
        for key, sch in cls.base.properties_schema.items():
            if out.get(key) is None and sch.default is not None:
                out[key] = sch.default
        res.properties = {k: v for k, v in out.items() if v is not None}

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        cls.to_base(res)
        return super().plan_attributes(res)  # type: ignore[misc]


ADDRESS_ATTRIBUTES = ("PublicIp", "PrivateIp", "PublicDnsName", "PrivateDnsName")


def _tags(tags: Any) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value")) for t in tags or [] if isinstance(t, dict)}


class Instance(Translated, Server):
    type_name = "AWS::EC2::Instance"
    description = "An EC2 instance: an OS::Nova::Server (CloudFormation's property names)."
    base = Server
    properties_schema = {
        "ImageId": Schema(STRING, "The Glance image id.", required=True),
        "InstanceType": Schema(STRING, "The flavor's name or id.", required=True, update_allowed=True),
        "KeyName": Schema(STRING, "A key pair of the requesting user."),
        "UserData": Schema(STRING, "User data (Fn::Base64 leaves it as it is, as in Heat)."),
        "AvailabilityZone": Schema(STRING, "The availability zone."),
        "SecurityGroups": Schema(LIST, "Security group names or ids."),
        "SecurityGroupIds": Schema(LIST, "Security group ids."),
        "SubnetId": Schema(STRING, "The subnet the instance's NIC is on (a port on its network)."),
        "PrivateIpAddress": Schema(STRING, "The NIC's address (with SubnetId)."),
        "Tags": Schema(LIST, "[{Key, Value}]: the server's metadata.", update_allowed=True),
    }
    aws_keys = tuple(properties_schema)
    attributes_schema = {**Server.attributes_schema,
                         "AvailabilityZone": "The availability zone the instance is in.",
                         **{a: "The instance's first IP address (as Heat answers it)." for a in ADDRESS_ATTRIBUTES}}

    @classmethod
    def translate(cls, p: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "image": p.get("ImageId"), "flavor": p.get("InstanceType"), "key_name": p.get("KeyName"),
            "user_data": p.get("UserData"), "availability_zone": p.get("AvailabilityZone"),
            "security_groups": [*(p.get("SecurityGroups") or []), *(p.get("SecurityGroupIds") or [])] or None,
            "metadata": _tags(p.get("Tags")) or None,
        }
        if p.get("SubnetId"):
            net = attributes.get("subnet_network")
            if net:
                entry = {"network": net}
                if p.get("PrivateIpAddress"):
                    entry["fixed_ip"] = p["PrivateIpAddress"]
                out["networks"] = [entry]
        return out

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        """Resolve SubnetId to its network (the subnet as the project sees it), then
        the server's own checks."""
        subnet_id = res.properties.get("SubnetId")
        if subnet_id:
            from stratus.errors import ApiError
            from stratus.network import access
            from stratus.orchestration.constraints import Caller

            admin = bool(res.context and res.context.cloud_admin)
            try:
                subnet = access.subnet(db, Caller(res.project_id, admin), str(subnet_id))
            except ApiError as exc:
                raise ResourceCheckFailed(exc.message, ("resources", res.name, "properties", "SubnetId"),
                                          status=404) from None
            res.attributes["subnet_network"] = subnet.network_id
        cls.to_base(res)
        super().check(db, res, planned)
        from stratus.network import ports

        first = next(iter(res.attributes.get("ports") or []), None)
        address = next((ip["ip_address"] for ip in ports.fixed_ips(db, first["id"])), "") if first else ""
        # Heat's AWS instance answers its first address for all four
        res.attributes.update({a: address for a in ADDRESS_ATTRIBUTES})

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        out = super().plan_attributes(res)
        out["AvailabilityZone"] = res.properties.get("availability_zone") or ""
        return out


class EC2Volume(Translated, Volume):
    type_name = "AWS::EC2::Volume"
    description = "An EBS-like volume: an OS::Cinder::Volume (CloudFormation's property names)."
    base = Volume
    snapshot_allowed = True
    properties_schema = {
        "Size": Schema(INTEGER, "Size in GiB.", min_value=1, update_allowed=True),
        "AvailabilityZone": Schema(STRING, "The availability zone."),
        "SnapshotId": Schema(STRING, "Create the volume from this snapshot."),
        "Tags": Schema(LIST, "[{Key, Value}]: the volume's metadata.", update_allowed=True),
    }
    aws_keys = tuple(properties_schema)

    @classmethod
    def translate(cls, p: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        return {"size": p.get("Size"), "availability_zone": p.get("AvailabilityZone"),
                "snapshot_id": p.get("SnapshotId"), "metadata": _tags(p.get("Tags")) or None}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        cls.to_base(res)
        super().check(db, res, planned)


class EC2VolumeAttachment(Translated, VolumeAttachment):
    type_name = "AWS::EC2::VolumeAttachment"
    description = "A volume attached to an instance: an OS::Cinder::VolumeAttachment."
    base = VolumeAttachment
    properties_schema = {
        "VolumeId": Schema(STRING, "The volume.", required=True),
        "InstanceId": Schema(STRING, "The instance.", required=True),
        "Device": Schema(STRING, "The device the guest sees (/dev/vdb).", required=True),
    }
    aws_keys = tuple(properties_schema)

    @classmethod
    def translate(cls, p: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        return {"volume_id": p.get("VolumeId"), "instance_uuid": p.get("InstanceId"), "mountpoint": p.get("Device")}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        cls.to_base(res)
        super().check(db, res, planned)


def resource_mapping():
    return {c.type_name: c for c in (Instance, EC2Volume, EC2VolumeAttachment)}
