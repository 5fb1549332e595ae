"""Security groups and rules through the ``openstack`` CLI, openstacksdk and raw HTTP:
the default group made once per project, Neutron's shapes and refusals (each showing
that nothing changed), tenant isolation and quotas."""

from __future__ import annotations

import threading

import pytest

pytestmark = [pytest.mark.api, pytest.mark.network]

SG = "/network/v2.0/security-groups"
RULES = "/network/v2.0/security-group-rules"


@pytest.fixture
def member(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="sg")


def _token(controller, creds):
    return controller.token(creds)


def _rules_of(controller, token, group_id):
    r = controller.request("GET", RULES, token=token, params={"security_group_id": group_id})
    assert r.status_code == 200, r.text
    return sorted(r.json()["security_group_rules"], key=lambda x: x["id"])


def _error(r, status, kind):
    assert r.status_code == status, r.text
    err = r.json()["NeutronError"]
    assert err["type"] == kind, err
    return err["message"]


def test_cli_group_and_rules(sqlite_controller, member):
    c = sqlite_controller
    web = c.cli("security", "group", "create", "web", "--description", "web servers", "-f", "json", creds=member)
    assert web["name"] == "web" and web["description"] == "web servers" and web["stateful"] is True
    listed = c.cli("security", "group", "list", "-f", "json", creds=member)
    assert sorted(g["Name"] for g in listed) == ["default", "web"]  # default made on first use

    ssh = c.cli("security", "group", "rule", "create", "web", "--protocol", "tcp", "--dst-port", "22",
                "--remote-ip", "0.0.0.0/0", "-f", "json", creds=member)
    assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"], ssh["remote_ip_prefix"],
            ssh["direction"], ssh["ether_type"]) == ("tcp", 22, 22, "0.0.0.0/0", "ingress", "IPv4")
    icmp = c.cli("security", "group", "rule", "create", "web", "--protocol", "icmp", "-f", "json", creds=member)
    assert icmp["protocol"] == "icmp" and icmp["port_range_min"] is None
    default_id = next(g["ID"] for g in listed if g["Name"] == "default")
    peer = c.cli("security", "group", "rule", "create", "web", "--remote-group", "default", "--protocol", "udp",
                 "--dst-port", "5000:5010", "-f", "json", creds=member)
    assert peer["remote_group_id"] == default_id and (peer["port_range_min"], peer["port_range_max"]) == (5000, 5010)
    v6 = c.cli("security", "group", "rule", "create", "web", "--ethertype", "IPv6", "--protocol", "tcp",
               "--dst-port", "80", "--remote-ip", "2001:db8::1/48", "-f", "json", creds=member)
    assert v6["ether_type"] == "IPv6" and v6["remote_ip_prefix"] == "2001:db8::/48"  # normalized

    rows = c.cli("security", "group", "rule", "list", "web", "-f", "json", creds=member)
    # Neutron's two egress rules of a new group, and the four made here
    assert len(rows) == 6
    assert sorted(r["Direction"] for r in rows) == ["egress", "egress", "ingress", "ingress", "ingress", "ingress"]
    shown = c.cli("security", "group", "show", "web", "-f", "json", creds=member)
    assert len(shown["rules"]) == 6 if isinstance(shown["rules"], list) else "22" in shown["rules"]

    c.cli("security", "group", "set", "web", "--name", "www", "--description", "front", creds=member)
    assert c.cli("security", "group", "show", "www", "-f", "json", creds=member)["description"] == "front"
    c.cli("security", "group", "rule", "delete", icmp["id"], creds=member)
    assert len(c.cli("security", "group", "rule", "list", "www", "-f", "json", creds=member)) == 5
    c.cli("security", "group", "delete", "www", creds=member)
    names = [g["Name"] for g in c.cli("security", "group", "list", "-f", "json", creds=member)]
    assert names == ["default"]
    # the group's rules went with it
    token = _token(c, member)
    r = c.request("GET", f"{RULES}/{ssh['id']}", token=token)
    _error(r, 404, "SecurityGroupRuleNotFound")


def test_default_group_has_neutrons_rules(sqlite_controller, member):
    conn = sqlite_controller.conn(member)
    groups = list(conn.network.security_groups())
    assert [g.name for g in groups] == ["default"]
    default = groups[0]
    assert default.description == "Default security group" and default.project_id == member.project_id
    rules = sorted((r["direction"], r["ethertype"], r["remote_group_id"], r["protocol"])
                   for r in default.security_group_rules)
    assert rules == [("egress", "IPv4", None, None), ("egress", "IPv6", None, None),
                     ("ingress", "IPv4", default.id, None), ("ingress", "IPv6", default.id, None)]
    assert all(r["belongs_to_default_sg"] for r in default.security_group_rules)
    # listed again: still one group, the same one
    assert [g.id for g in conn.network.security_groups()] == [default.id]
    # the default group cannot be deleted, renamed, nor a second one made
    token = _token(sqlite_controller, member)
    _error(sqlite_controller.request("DELETE", f"{SG}/{default.id}", token=token), 409,
           "SecurityGroupCannotRemoveDefault")
    _error(sqlite_controller.request("PUT", f"{SG}/{default.id}", token=token,
                                     json={"security_group": {"name": "other"}}), 409,
           "SecurityGroupCannotUpdateDefault")
    _error(sqlite_controller.request("POST", SG, token=token, json={"security_group": {"name": "default"}}),
           409, "SecurityGroupDefaultAlreadyExists")
    assert [g.name for g in conn.network.security_groups()] == ["default"]
    assert conn.network.get_security_group(default.id).name == "default"
    # its rules are the project's to change: add one, remove one of Neutron's
    ssh = conn.network.create_security_group_rule(security_group_id=default.id, direction="ingress",
                                                  protocol="tcp", port_range_min=22, port_range_max=22)
    egress6 = next(r["id"] for r in default.security_group_rules
                   if r["direction"] == "egress" and r["ethertype"] == "IPv6")
    conn.network.delete_security_group_rule(egress6)
    left = {r["id"] for r in conn.network.get_security_group(default.id).security_group_rules}
    assert ssh.id in left and egress6 not in left and len(left) == 4
    assert conn.network.get_security_group(default.id).revision_number >= 2


def test_default_group_made_once_under_concurrency(controller):
    creds = controller.new_project_user("member", prefix="sgrace")
    token = controller.token(creds)
    seen, errors = [], []
    barrier = threading.Barrier(8)

    def first_use():
        try:
            barrier.wait()
            r = controller.request("GET", SG, token=token)
            assert r.status_code == 200, r.text
            seen.append(tuple(g["id"] for g in r.json()["security_groups"]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(seen) == 8 and len(set(seen)) == 1 and len(seen[0]) == 1
    r = controller.request("GET", RULES, token=token)
    assert len(r.json()["security_group_rules"]) == 4


def test_sdk_rules_and_refusals_change_nothing(sqlite_controller, member):
    c = sqlite_controller
    conn = c.conn(member)
    token = _token(c, member)
    g = conn.network.create_security_group(name="app", description="d")
    before = _rules_of(c, token, g.id)
    assert len(before) == 2  # egress IPv4 + IPv6
    rule = conn.network.create_security_group_rule(security_group_id=g.id, direction="ingress",
                                                   protocol="6", port_range_min=8000, port_range_max=8080)
    assert rule.protocol == "6" and rule.port_range_max == 8080
    before = _rules_of(c, token, g.id)

    def refused(body, status, kind):
        r = c.request("POST", RULES, token=token, json={"security_group_rule": {"security_group_id": g.id, **body}})
        msg = _error(r, status, kind)
        assert _rules_of(c, token, g.id) == before, body  # nothing changed
        return msg

    msg = refused({"direction": "ingress", "protocol": "tcp", "port_range_min": 8000, "port_range_max": 8080},
                  409, "SecurityGroupRuleExists")
    assert rule.id in msg
    refused({"direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
            400, "SecurityGroupInvalidPortRange")
    refused({"direction": "ingress", "protocol": "bogus"}, 400, "SecurityGroupRuleInvalidProtocol")
    refused({"direction": "ingress", "protocol": "300"}, 400, "SecurityGroupRuleInvalidProtocol")
    refused({"direction": "up"}, 400, "InvalidInput")
    refused({"direction": "ingress", "protocol": "icmp", "port_range_min": 300}, 400,
            "SecurityGroupInvalidIcmpValue")
    refused({"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, 400,
            "SecurityGroupRuleParameterConflict")
    refused({"direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": g.id}, 400,
            "SecurityGroupRemoteGroupAndRemoteIpPrefix")
    refused({"direction": "ingress", "remote_group_id": "0b9d5e59-0000-4000-8000-000000000000"}, 404,
            "SecurityGroupNotFound")
    refused({"direction": "ingress", "colour": "red"}, 400, "HTTPBadRequest")
    # stateless groups are refused (the hosts track connections for every group)
    names = sorted(x["name"] for x in c.request("GET", SG, token=token).json()["security_groups"])
    assert "stateful" in _error(c.request("POST", SG, token=token, json={"security_group": {
        "name": "nostate", "stateful": False}}), 400, "InvalidInput")
    assert sorted(x["name"] for x in c.request("GET", SG, token=token).json()["security_groups"]) == names
    # FastAPI's 422 never reaches a client
    r = c.request("POST", RULES, token=token, json={"security_group_rule": "x"})
    assert r.status_code == 400 and "NeutronError" in r.json()
    # icmp type/code and protocol numbers are kept as given
    ping = conn.network.create_security_group_rule(security_group_id=g.id, direction="ingress",
                                                   protocol="icmp", port_range_min=8, port_range_max=0)
    assert (ping.port_range_min, ping.port_range_max) == (8, 0)
    assert conn.network.get_security_group_rule(ping.id).protocol == "icmp"
    # Neutron's bulk form: all the rules or none
    made = list(conn.network.create_security_group_rules([
        {"security_group_id": g.id, "direction": "ingress", "protocol": "udp", "port_range_min": 53,
         "port_range_max": 53},
        {"security_group_id": g.id, "direction": "ingress", "ethertype": "IPv6", "protocol": "58"}]))
    assert sorted(r.protocol for r in made) == ["58", "udp"]
    before = _rules_of(c, token, g.id)
    r = c.request("POST", RULES, token=token, json={"security_group_rules": [
        {"security_group_id": g.id, "direction": "egress", "protocol": "tcp", "port_range_min": 25,
         "port_range_max": 25},
        {"security_group_id": g.id, "direction": "ingress", "protocol": "udp", "port_range_min": 53,
         "port_range_max": 53}]})
    _error(r, 409, "SecurityGroupRuleExists")
    assert _rules_of(c, token, g.id) == before
    # filters, fields and sorting come from the shared list semantics
    r = c.request("GET", RULES, token=token, params={"security_group_id": g.id, "direction": "egress",
                                                     "fields": ["id", "ethertype"], "sort_key": "ethertype"})
    assert [x["ethertype"] for x in r.json()["security_group_rules"]] == ["IPv4", "IPv6"]
    assert set(r.json()["security_group_rules"][0]) == {"id", "ethertype"}


def test_isolation_between_projects(sqlite_controller, member):
    c = sqlite_controller
    other = c.new_project_user("member", prefix="sgother")
    mine = c.conn(member).network.create_security_group(name="private")
    token = _token(c, other)
    before = _rules_of(c, _token(c, member), mine.id)
    _error(c.request("GET", f"{SG}/{mine.id}", token=token), 404, "SecurityGroupNotFound")
    _error(c.request("PUT", f"{SG}/{mine.id}", token=token, json={"security_group": {"name": "x"}}), 404,
           "SecurityGroupNotFound")
    _error(c.request("DELETE", f"{SG}/{mine.id}", token=token), 404, "SecurityGroupNotFound")
    _error(c.request("POST", RULES, token=token, json={"security_group_rule": {
        "security_group_id": mine.id, "direction": "ingress"}}), 404, "SecurityGroupNotFound")
    _error(c.request("GET", f"{RULES}/{before[0]['id']}", token=token), 404, "SecurityGroupRuleNotFound")
    _error(c.request("DELETE", f"{RULES}/{before[0]['id']}", token=token), 404, "SecurityGroupRuleNotFound")
    assert mine.id not in [g["id"] for g in c.request("GET", SG, token=token).json()["security_groups"]]
    assert c.conn(member).network.get_security_group(mine.id).name == "private"
    assert _rules_of(c, _token(c, member), mine.id) == before
    # an admin sees it
    r = c.request("GET", f"{SG}/{mine.id}")
    assert r.status_code == 200 and r.json()["security_group"]["project_id"] == member.project_id


def test_over_quota_changes_nothing(sqlite_controller, member):
    c = sqlite_controller
    token = _token(c, member)
    c.cli("quota", "set", "--secgroups", "1", "--secgroup-rules", "1", member.project_id)
    g = c.conn(member).network.create_security_group(name="one")
    _error(c.request("POST", SG, token=token, json={"security_group": {"name": "two"}}), 409, "OverQuota")
    assert sorted(x["name"] for x in c.request("GET", SG, token=token).json()["security_groups"]) == \
        ["default", "one"]
    c.request("POST", RULES, token=token, json={"security_group_rule": {
        "security_group_id": g.id, "direction": "ingress", "protocol": "tcp", "port_range_min": 1,
        "port_range_max": 1}}).raise_for_status()
    before = _rules_of(c, token, g.id)
    msg = _error(c.request("POST", RULES, token=token, json={"security_group_rule": {
        "security_group_id": g.id, "direction": "ingress", "protocol": "udp"}}), 409, "OverQuota")
    assert "security_group_rule" in msg
    assert _rules_of(c, token, g.id) == before
    r = c.request("GET", f"/network/v2.0/quotas/{member.project_id}/details.json")
    assert r.json()["quota"]["security_group"]["used"] == 1
    assert r.json()["quota"]["security_group_rule"]["used"] == 1
    # deleting gives the quota back at once, as Neutron does
    c.request("DELETE", f"{SG}/{g.id}", token=token).raise_for_status()
    assert c.conn(member).network.create_security_group(name="again").name == "again"
