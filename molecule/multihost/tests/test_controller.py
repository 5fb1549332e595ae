"""The controller host: the API on its underlay address, the demo member's clouds.yaml,
the Swift proxy and its memcached."""

from __future__ import annotations

import json

from conftest import inventory

testinfra_hosts = inventory().get_hosts("controller")


def test_the_controller_runs_and_listens_on_its_address(host):
    address = host.ansible.get_variables()["ansible_host"]
    assert host.run("start-stop-daemon --status --pidfile /run/stratus/controller.pid").rc == 0
    assert host.socket(f"tcp://{address}:8700").is_listening


def test_the_demo_member_gets_a_token_from_the_clouds_yaml_the_role_wrote(host):
    venv = host.ansible.get_variables()["controller_venv"]
    token = json.loads(host.check_output(f"{venv}/bin/openstack --os-cloud stratus token issue -f json"))
    assert token["project_id"]


def test_the_swift_proxy_and_its_memcached_run_here(host):
    assert host.socket("tcp://0.0.0.0:8080").is_listening
    assert host.socket("tcp://127.0.0.1:11211").is_listening
    assert host.check_output("python3 -c \"import urllib.request as u; "
                             "print(u.urlopen('http://127.0.0.1:8080/healthcheck').read().decode())\"") == "OK"


def test_the_catalog_names_this_hosts_api_and_its_swift_proxy(host):
    variables = host.ansible.get_variables()
    address, venv = variables["ansible_host"], variables["controller_venv"]
    catalog = json.loads(host.check_output(f"{venv}/bin/openstack --os-cloud stratus-admin catalog list -f json"))
    endpoints = json.dumps(catalog)
    assert f"{address}:8700/" in endpoints
    assert "object-store" in {entry["Type"] for entry in catalog}
    assert f"{address}:8080/v1/AUTH_" in endpoints
