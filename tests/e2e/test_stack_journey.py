"""A stack's life through `openstack stack ...`, as Heat's users drive it (issue 14's
evidence), against the session's orchestration controller (``heat_cloud``: this machine
is its compute, network and storage host).

A project member creates, with ``openstack stack create --wait``, the stack of
tests/orchestration/templates/journey-app.yaml: a network, a subnet, a router with its
gateway on the admin's external network and an interface on the subnet, two servers, a
volume attached to the first and a floating IP on its port. The servers, the volume,
the floating IP are what the compute, volume and network APIs list; the stack's outputs
name them. Then:

- a flavor change (``stack update --existing --parameter flavor=...``) resizes both
  servers in place: same ids, the new flavor;
- an image change of the db server previewed with ``--dry-run`` shows it replaced (the
  rest unchanged) and changes nothing; applied, the server is a new one and the old
  guest is gone;
- a stack whose resource fails is rolled back (``--enable-rollback``: the CLI's default is
  off): nothing it made is left;
- the stack deleted leaves no server, port, network, router, volume, floating IP, libvirt
  domain, router namespace or bridge of it.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from tests.api.compute.servers_helpers import add_flavors
from tests.api.orchestration.heat_helpers import (
    EXTERNAL_CIDR,
    EXTERNAL_GATEWAY,
    TEMPLATES,
    wait_stack,
)
from tests.e2e.network_world import links, namespaces, wait_none_left
from tests.integration.compute.actions_guest import cleanup, remove_images

pytestmark = [pytest.mark.orchestration, pytest.mark.e2e, pytest.mark.api, pytest.mark.slow]

FAILING = """
heat_template_version: 2018-08-31
resources:
  net:
    type: OS::Neutron::Net
  broken:
    type: OS::Heat::TestResource
    depends_on: net
    properties:
      fail: true
"""


def domains() -> set[str]:
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True,
                         text=True, check=False).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def test_a_stack_is_created_updated_and_deleted_through_the_cli(heat_cloud, guest_image, request, tmp_path):
    cloud = heat_cloud
    tag = uuid.uuid4().hex[:6]
    member = cloud.new_project_user("member", prefix="stackj")

    def cli(*args, creds=member, check=True):
        return cloud.cli(*args, creds=creds, check=check)

    # --- the admin: two images, two flavors, the external network ----------------------
    add_flavors(cloud)
    images = [cloud.cli("image", "create", f"tiny{n}-{tag}", "--public", "--disk-format", "qcow2",
                        "--container-format", "bare", "--file", guest_image["qcow2"], "-f", "json")["id"]
              for n in (1, 2)]
    request.addfinalizer(lambda: remove_images(*images))
    cloud.cli("flavor", "create", f"sj.a-{tag}", "--vcpus", "1", "--ram", "96", "--disk", "1")
    cloud.cli("flavor", "create", f"sj.b-{tag}", "--vcpus", "1", "--ram", "128", "--disk", "1")
    ext = cloud.cli("network", "create", f"ext-{tag}", "--external", "--provider-network-type", "flat",
                    "--provider-physical-network", cloud.physnet, "-f", "json")
    request.addfinalizer(lambda: cloud.cli("network", "delete", ext["id"], check=False))
    cloud.cli("subnet", "create", f"ext-sub-{tag}", "--network", ext["id"], "--subnet-range", EXTERNAL_CIDR,
              "--gateway", EXTERNAL_GATEWAY, "--no-dhcp", "--allocation-pool",
              "start=203.0.113.160,end=203.0.113.190")

    # --- the member's stack --------------------------------------------------------------
    name = f"app-{tag}"
    made_servers: list[str] = []
    request.addfinalizer(lambda: [cleanup(s) for s in made_servers])
    request.addfinalizer(lambda: cli("stack", "delete", "--yes", "--wait", name, check=False))
    template = str(TEMPLATES / "journey-app.yaml")
    cli("stack", "create", "--wait", "-t", template, "--parameter", f"image={images[0]}",
        "--parameter", f"web_image={images[0]}",
        "--parameter", f"flavor=sj.a-{tag}", "--parameter", f"public_net={ext['id']}", name)  # events, then the stack
    stack = cli("stack", "show", name, "-f", "json")
    assert stack["stack_status"] == "CREATE_COMPLETE", stack
    outputs = {o["output_key"]: o["output_value"] for o in cli("stack", "show", name, "-f", "json")["outputs"]}
    resources = {r["resource_name"]: r for r in cli("stack", "resource", "list", name, "-f", "json")}
    assert {r["resource_status"] for r in resources.values()} == {"CREATE_COMPLETE"}, resources
    web, db = resources["web"]["physical_resource_id"], resources["db"]["physical_resource_id"]
    made_servers += [web, db]
    assert outputs["web_id"] == web

    # what the services list is what the stack made
    servers = {s["ID"]: s for s in cli("server", "list", "-f", "json")}
    assert {web, db} <= set(servers) and servers[web]["Name"] == f"{name}-web"
    assert servers[web]["Status"] == "ACTIVE" and servers[db]["Status"] == "ACTIVE"
    volume = cli("volume", "show", outputs["volume_id"], "-f", "json")
    assert volume["status"] == "in-use" and volume["attachments"][0]["server_id"] == web
    fip = cli("floating", "ip", "show", outputs["web_address"], "-f", "json")
    assert fip["port_id"] == resources["web_port"]["physical_resource_id"]
    assert f"instance-{web}" in domains() and f"instance-{db}" in domains()
    router = resources["router"]["physical_resource_id"]
    net = resources["net"]["physical_resource_id"]
    assert f"qrouter-{router}" in namespaces()

    # --- a flavor change: in place --------------------------------------------------------
    cli("stack", "update", "--existing", "--wait", "--parameter", f"flavor=sj.b-{tag}", name)
    stack = cli("stack", "show", name, "-f", "json")
    assert stack["stack_status"] == "UPDATE_COMPLETE", stack
    after = {r["resource_name"]: r for r in cli("stack", "resource", "list", name, "-f", "json")}
    assert after["web"]["physical_resource_id"] == web and after["db"]["physical_resource_id"] == db
    assert f"sj.b-{tag}" in str(cli("server", "show", web, "-f", "json")["flavor"])

    # --- an image change: previewed as a replacement, then applied ------------------------
    preview = cli("stack", "update", "--existing", "--dry-run", "--parameter", f"image={images[1]}", name,
                  "-f", "json")
    changes = preview.get("resource_changes", preview)
    assert {r["resource_name"] for r in changes["replaced"]} == {"db"}, changes
    assert {r["resource_name"] for r in changes["unchanged"]} >= {"net", "subnet", "router", "web"}, changes
    assert cli("stack", "show", name, "-f", "json")["stack_status"] == "UPDATE_COMPLETE"  # nothing ran
    cli("stack", "update", "--existing", "--wait", "--parameter", f"image={images[1]}", name)
    stack = cli("stack", "show", name, "-f", "json")
    assert stack["stack_status"] == "UPDATE_COMPLETE", stack
    after = {r["resource_name"]: r for r in cli("stack", "resource", "list", name, "-f", "json")}
    new_web, new_db = after["web"]["physical_resource_id"], after["db"]["physical_resource_id"]
    made_servers += [new_db]
    assert new_web == web and new_db != db
    assert images[1] in str(cli("server", "show", new_db, "-f", "json")["image"])
    assert f"instance-{db}" not in domains() and f"instance-{web}" in domains()
    listed = {s["ID"] for s in cli("server", "list", "-f", "json")}
    assert {web, new_db} <= listed and db not in listed

    # --- a failing resource rolls its stack back -------------------------------------------
    bad = tmp_path / "failing.yaml"
    bad.write_text(FAILING)
    cli("stack", "create", "--enable-rollback", "--wait", "-t", str(bad), f"broken-{tag}", check=False)
    request.addfinalizer(lambda: cli("stack", "delete", "--yes", f"broken-{tag}", check=False))
    assert wait_stack(cloud, member, f"broken-{tag}", "ROLLBACK_COMPLETE")["stack_status"] == "ROLLBACK_COMPLETE"
    events = cli("stack", "event", "list", f"broken-{tag}", "-f", "json")
    assert any(e["resource_name"] == "broken" and e["resource_status"] == "CREATE_FAILED" for e in events), events
    nets = {n["Name"] for n in cli("network", "list", "-f", "json")}
    assert not any(n.startswith(f"broken-{tag}") for n in nets), nets

    # --- deleted: nothing left ---------------------------------------------------------------
    cli("stack", "delete", "--yes", "--wait", name)
    assert name not in {s["Stack Name"] for s in cli("stack", "list", "-f", "json")}
    assert not {new_web, new_db} & {s["ID"] for s in cli("server", "list", "-f", "json")}
    assert outputs["volume_id"] not in {v["ID"] for v in cli("volume", "list", "-f", "json")}
    assert not cli("floating", "ip", "list", "-f", "json")
    assert net not in {n["ID"] for n in cli("network", "list", "-f", "json")}
    assert router not in {r["ID"] for r in cli("router", "list", "-f", "json")}
    wait_none_left("the stack's guests", lambda: [d for d in domains()
                                                  if d in {f"instance-{s}" for s in made_servers}])
    assert f"qrouter-{router}" not in namespaces()
    assert f"brq{net[:11]}" not in links()
    assert not Path(cloud.storage["dir"], f"volume-{outputs['volume_id']}").exists()
