"""Router requests are validated whole before anything is touched; facts are planned."""

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import router as R
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper
from ansible_collections.stratus.cloud.plugins.module_utils.net.service_port import (
    unplug_device,
)
from tests.helpers.commands import FakeRun

pytestmark = pytest.mark.network

A = {"network_id": "na", "port_id": "aaaaaaaa-1111", "mac": "FA:16:3E:00:01:01",
     "cidr": "10.0.1.0/24", "ip": "10.0.1.1"}
B = {"network_id": "nb", "port_id": "bbbbbbbb-2222", "mac": "fa:16:3e:00:02:01",
     "cidr": "10.0.2.0/24", "ip": "10.0.2.1"}
GW = {"network_id": "ext", "port_id": "gggggggg-3333", "mac": "fa:16:3e:00:03:01",
      "cidr": "203.0.113.0/24", "ip": "203.0.113.10", "gateway_ip": "203.0.113.1"}


def spec(interfaces=(A, B), gw=GW, routes=()):
    return R.RouterSpec.from_params("r1", list(interfaces), gw, list(routes))


def test_planned_facts_name_devices_routes_and_snat():
    facts = spec(routes=[{"destination": "172.16.0.0/16", "nexthop": "10.0.1.254"}]).facts()
    assert facts["namespace"] == "qrouter-r1"
    assert [i["device"] for i in facts["interfaces"]] == ["qr-aaaaaaaa-11", "qr-bbbbbbbb-22"]
    assert facts["interfaces"][0] == {"device": "qr-aaaaaaaa-11", "mac": "fa:16:3e:00:01:01",
                                      "addresses": ["10.0.1.1/24"]}
    assert facts["gateway"]["device"] == "qg-gggggggg-33"
    assert facts["routes"] == [{"destination": "0.0.0.0/0", "nexthop": "203.0.113.1"},
                               {"destination": "172.16.0.0/16", "nexthop": "10.0.1.254"}]
    assert 'ip saddr 10.0.2.0/24 oifname "qg-gggggggg-33" snat to 203.0.113.10' in facts["snat"]


def test_no_gateway_or_snat_off_means_no_snat_table():
    assert spec(gw=None).facts()["snat"] == ""
    assert spec(gw=GW | {"enable_snat": False}).facts()["snat"] == ""


@pytest.mark.parametrize("kwargs, words", [
    ({"interfaces": (A, B | {"cidr": "10.0.1.128/25", "ip": "10.0.1.129"})}, "overlap"),
    ({"interfaces": (A, B | {"cidr": "203.0.113.0/28", "ip": "203.0.113.2"})}, "overlap"),
    ({"interfaces": (A | {"ip": "10.0.9.1"},)}, "outside its subnet 10.0.1.0/24"),
    ({"interfaces": (A | {"ip": "10.0.1.0"},)}, "network or broadcast"),
    ({"interfaces": (A | {"cidr": "10.0.1.1/24"},)}, "not a CIDR"),
    ({"gw": GW | {"gateway_ip": "198.51.100.1"}}, "outside the external subnet"),
    ({"routes": [{"destination": "172.16.0.0/16", "nexthop": "192.0.2.1"}]}, "nexthop"),
    ({"interfaces": (A, A)}, "overlap"),
    ({"interfaces": (A | {"mac": "nope"},)}, "MAC"),
])
def test_bad_requests_say_what_to_fix(kwargs, words):
    with pytest.raises(R.InvalidRouter, match=words):
        spec(**kwargs)


def test_unplug_deletes_the_bridge_side_of_a_service_port():
    run = FakeRun().on(["ip", "-j", "-d", "link", "show"], out='[{"ifname": "tapaaaaaaaa-11"}]')
    assert unplug_device(IPWrapper(run=run), "qr-aaaaaaaa-11")
    assert ["ip", "link", "delete", "dev", "tapaaaaaaaa-11"] in run.calls
