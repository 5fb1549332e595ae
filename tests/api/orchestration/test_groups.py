"""ResourceGroup and AutoScalingGroup through the Heat API (``openstack`` CLI) on the
session's controller: a group of 5 servers (real libvirt guests, the tiny image, no NIC)
scales to 3 (the two highest members deleted with their domains) and the stack's delete
leaves no domain; a ScalingPolicy's signal grows an AutoScalingGroup from 1 to 2."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.api.orchestration.heat_helpers import wait_stack
from tests.integration.compute.actions_guest import cleanup, remove_images

pytestmark = [pytest.mark.orchestration, pytest.mark.api, pytest.mark.compute]

GROUP = """
heat_template_version: 2018-08-31
parameters:
  count: {type: number, default: 5}
  image: {type: string}
  flavor: {type: string}
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def:
        type: OS::Nova::Server
        properties:
          name: srv-%index%
          image: {get_param: image}
          flavor: {get_param: flavor}
          networks: [{allocate_network: none}]
outputs:
  ids: {value: {get_attr: [group, refs]}}
"""

ASG = """
heat_template_version: 2018-08-31
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 3
      resource: {type: OS::Heat::RandomString, properties: {length: 8}}
  up:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: change_in_capacity
      scaling_adjustment: 1
outputs:
  size: {value: {get_attr: [asg, current_size]}}
"""


def domains() -> set[str]:
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True,
                         text=True, check=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def tiny(heat_cloud, guest_image, request):
    """The tiny image (public) and the smallest flavor that boots it."""
    tag = uuid.uuid4().hex[:6]
    image = heat_cloud.cli("image", "create", f"heat-tiny-{tag}", "--public", "--disk-format", "raw",
                           "--container-format", "bare", "--file", guest_image["raw"], "-f", "json")
    request.addfinalizer(lambda: remove_images(image["id"]))
    flavor = heat_cloud.cli("flavor", "create", f"heat.tiny-{tag}", "--ram", "96", "--disk", "1", "--vcpus", "1",
                            "--public", "-f", "json")
    return image["id"], flavor["id"]


def output(cloud, creds, stack: str, key: str):
    return cloud.cli("stack", "output", "show", stack, key, "-f", "json", creds=creds)["output_value"]


def test_a_group_of_five_servers_scales_to_three_and_its_delete_leaves_no_domain(heat_cloud, tiny, tmp_path,
                                                                                  request):
    user = heat_cloud.new_project_user(prefix="grp")
    image, flavor = tiny
    path = tmp_path / "group.yaml"
    path.write_text(GROUP)
    name = f"grp-{uuid.uuid4().hex[:6]}"
    seen: set[str] = set()
    request.addfinalizer(lambda: [cleanup(sid) for sid in seen])
    heat_cloud.cli("stack", "create", "-t", str(path), "--parameter", f"image={image}", "--parameter",
                   f"flavor={flavor}", name, "-f", "json", creds=user)
    wait_stack(heat_cloud, user, name, "CREATE_COMPLETE", timeout=100)
    ids = output(heat_cloud, user, name, "ids")
    seen.update(ids)
    assert len(ids) == 5 and {f"instance-{i}" for i in ids} <= domains()
    listed = heat_cloud.cli("stack", "resource", "list", "--nested-depth", "2", name, "-f", "json", creds=user)
    servers = {r["physical_resource_id"]: r for r in listed if r["resource_type"] == "OS::Nova::Server"}
    assert set(servers) == set(ids)
    assert {r["resource_name"] for r in servers.values()} == {"0", "1", "2", "3", "4"}
    by_name = {s["Name"]: s["ID"] for s in heat_cloud.cli("server", "list", "-f", "json", creds=user)}
    assert set(by_name) == {f"srv-{i}" for i in range(5)}

    heat_cloud.cli("stack", "update", "--existing", "--parameter", "count=3", name, "-f", "json", creds=user)
    wait_stack(heat_cloud, user, name, "UPDATE_COMPLETE", timeout=60)
    kept = output(heat_cloud, user, name, "ids")
    assert kept == [by_name["srv-0"], by_name["srv-1"], by_name["srv-2"]]
    gone = {by_name["srv-3"], by_name["srv-4"]}
    now = domains()
    assert not {f"instance-{i}" for i in gone} & now and {f"instance-{i}" for i in kept} <= now
    assert {s["Name"] for s in heat_cloud.cli("server", "list", "-f", "json", creds=user)} == {
        "srv-0", "srv-1", "srv-2"}

    heat_cloud.cli("stack", "delete", "--yes", name, creds=user)
    wait_stack(heat_cloud, user, name, "DELETE_COMPLETE", timeout=60)
    assert not {f"instance-{i}" for i in ids} & domains()
    assert heat_cloud.cli("server", "list", "-f", "json", creds=user) == []


def test_a_scaling_policy_signal_grows_an_autoscaling_group(heat_cloud, tmp_path):
    user = heat_cloud.new_project_user(prefix="asg")
    path = tmp_path / "asg.yaml"
    path.write_text(ASG)
    name = f"asg-{uuid.uuid4().hex[:6]}"
    heat_cloud.cli("stack", "create", "-t", str(path), name, "-f", "json", creds=user)
    wait_stack(heat_cloud, user, name, "CREATE_COMPLETE", timeout=60)
    assert output(heat_cloud, user, name, "size") == 1
    url = heat_cloud.cli("stack", "resource", "show", name, "up", "-f", "json", creds=user)["attributes"]["alarm_url"]
    assert "/signals/" in url and "signature=" in url
    heat_cloud.cli("stack", "resource", "signal", name, "up", creds=user)
    wait_stack(heat_cloud, user, name, "UPDATE_COMPLETE", timeout=60)
    assert output(heat_cloud, user, name, "size") == 2
    listed = heat_cloud.cli("stack", "resource", "list", "--nested-depth", "1", name, "-f", "json", creds=user)
    assert sum(r["resource_type"] == "OS::Heat::RandomString" for r in listed) == 2
    heat_cloud.cli("stack", "delete", "--yes", name, creds=user)
    wait_stack(heat_cloud, user, name, "DELETE_COMPLETE", timeout=60)
