"""The controller host: Stratus installed from its package (a wheel and the collection's
archive, not the checkout), the API on its underlay address, the demo member's
clouds.yaml, the Swift proxy and its memcached."""

from __future__ import annotations

import json

from conftest import inventory

testinfra_hosts = inventory().get_hosts("controller")


def test_the_controller_runs_and_listens_on_its_address(host):
    address = host.ansible.get_variables()["ansible_host"]
    assert host.run("start-stop-daemon --status --pidfile /run/stratus/controller.pid").rc == 0
    assert host.socket(f"tcp://{address}:8700").is_listening


def test_the_controller_runs_from_its_installed_wheel_and_collection(host):
    venv = host.ansible.get_variables()["controller_package_venv"]
    probe = json.loads(host.check_output(
        f"{venv}/bin/python -c 'import json, stratus, stratus.collection as c; "
        "print(json.dumps([stratus.__file__, str(c.root()), c.from_checkout()]))'"))
    package_file, collection_root, from_checkout = probe
    assert package_file.startswith(f"{venv}/lib/") and not from_checkout
    assert collection_root == f"{venv}/share/stratus/collections/ansible_collections/stratus/cloud"
    assert host.file(f"{collection_root}/plugins/modules/hypervisor_info.py").is_file
    pid = host.file("/run/stratus/controller.pid").content_string.strip()
    assert f"{venv}/bin/stratus" in host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline").split()


def test_its_jobs_read_every_hosts_capacity_through_the_installed_collection(host):
    venv = host.ansible.get_variables()["controller_package_venv"]
    hosts = {h["name"]: h for h in json.loads(host.check_output(
        f"{venv}/bin/stratus host list -f json --config /etc/stratus/stratus.yaml"))}
    assert set(hosts) == {"ctl", "cmp1", "cmp2", "sto1"}, sorted(hosts)
    assert all(hosts[name]["capacity"].get("vcpus", 0) > 0 for name in ("cmp1", "cmp2")), hosts
    assert hosts["sto1"]["capacity"].get("volume_gb", 0) > 0, hosts["sto1"]


def test_the_demo_member_gets_a_token_from_the_clouds_yaml_the_role_wrote(host):
    venv = host.ansible.get_variables()["controller_package_venv"]
    token = json.loads(host.check_output(f"{venv}/bin/openstack --os-cloud stratus token issue -f json"))
    assert token["project_id"]


def test_the_swift_proxy_and_its_memcached_run_here(host):
    assert host.socket("tcp://0.0.0.0:8080").is_listening
    assert host.socket("tcp://127.0.0.1:11211").is_listening
    assert host.check_output("python3 -c \"import urllib.request as u; "
                             "print(u.urlopen('http://127.0.0.1:8080/healthcheck').read().decode())\"") == "OK"


def test_the_catalog_names_this_hosts_api_and_its_swift_proxy(host):
    variables = host.ansible.get_variables()
    address, venv = variables["ansible_host"], variables["controller_package_venv"]
    catalog = json.loads(host.check_output(f"{venv}/bin/openstack --os-cloud stratus-admin catalog list -f json"))
    endpoints = json.dumps(catalog)
    assert f"{address}:8700/" in endpoints
    assert "object-store" in {entry["Type"] for entry in catalog}
    assert f"{address}:8080/v1/AUTH_" in endpoints
