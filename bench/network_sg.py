#!/usr/bin/env python3
"""One security group rule change applied to 200 bound ports: from the API's record
change to the ports' nft rules on the host.

    .venv/bin/python bench/network_sg.py [--ports 200]

Phases, each timed:

1. setup (not the measure): a throwaway SQLite DB with a project's ``default`` group,
   a group ``web`` and N ports in it (fixed IPs, membership); a throwaway network
   namespace standing in for the host with a bridge, N taps plugged with port security
   and the group's current rules (drivers, as the modules use them);
2. the API's work: the rule written and its ``OS::Neutron::SecurityGroupRule`` job
   planned (``security_groups.create_rules``: validation, duplicate check, submit with
   the host state of the affected ports when ``hostplan`` provides it);
3. the controller's work per port: ``sg_rules.affected_ports`` and
   ``sg_rules.port_security`` for every port (what the converge job carries);
4. realized: one ``ansible-playbook`` run with one ``stratus.cloud.security_group``
   task per port (the shape of the converge job's playbook) in the host namespace;
   every port reports changed and its chain holds the new rule;
5. for comparison, the same change undone with the driver alone (no Ansible).

The namespace and the DB are removed at the end, even on failure.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))
sys.path.insert(0, str(REPO))

from ansible_collections.stratus.cloud.plugins.module_utils.net.bridge import (  # noqa: E402
    LinuxBridgeNetwork,
    Segment,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.interface import (  # noqa: E402
    BridgeInterfaceDriver,
    PortSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper, tap_name  # noqa: E402
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft  # noqa: E402
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import (  # noqa: E402
    PortSecurity,
    PortSecuritySpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.security_groups import (  # noqa: E402
    PortGroupsSpec,
    SecurityGroups,
)
from stratus.config import Settings  # noqa: E402
from stratus.db.base import Base  # noqa: E402
from stratus.db.models.network import IPAllocation, Network, Port, PortSecurityGroup, Subnet  # noqa: E402
from stratus.db.session import Database  # noqa: E402
from stratus.network import security_groups, sg_rules  # noqa: E402
from stratus.orchestration.resources import PlanContext  # noqa: E402
from tests.helpers.ansible import run_playbook  # noqa: E402

PROJECT = "bench-project"


def address(i: int) -> str:
    return f"10.91.{i // 250}.{i % 250 + 1}"


def make_records(db, n: int) -> tuple[str, str, list[str]]:
    """The network, the group ``web`` and ``n`` ports in it; returns (net, group, ports)."""
    net = Network(id=str(uuid.uuid4()), project_id=PROJECT, name="bench", network_type="local")
    db.add(net)
    db.flush()
    sub = Subnet(id=str(uuid.uuid4()), project_id=PROJECT, network_id=net.id, ip_version=4, cidr="10.91.0.0/16")
    db.add(sub)
    web = security_groups.make_group(db, PROJECT, {"name": "web", "description": "", "stateful": True})
    ports = []
    for i in range(n):
        port = Port(id=str(uuid.uuid4()), project_id=PROJECT, network_id=net.id,
                    mac_address=f"fa:16:3e:01:{i // 256:02x}:{i % 256:02x}", binding_host_id="localhost")
        db.add(port)
        db.flush()
        db.add(IPAllocation(network_id=net.id, subnet_id=sub.id, port_id=port.id, ip_address=address(i)))
        db.add(PortSecurityGroup(port_id=port.id, security_group_id=web.id))
        ports.append(port.id)
    db.flush()
    return net.id, web.id, ports


def port_args(db, port_ids: list[str]) -> dict[str, dict]:
    rows = {p.id: p for p in db.query(Port).filter(Port.id.in_(port_ids))}
    return {pid: sg_rules.port_security(db, rows[pid]) for pid in port_ids}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ports", type=int, default=200)
    a = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="st-bench-sg-"))
    database = Database(f"sqlite:///{workdir}/stratus.db")
    Base.metadata.create_all(database.engine)
    context = PlanContext(Settings(state_dir=str(workdir / "state")), None, database)
    ns = f"st-bench-{uuid.uuid4().hex[:6]}"
    root = IPWrapper()
    root.netns.add(ns)
    try:
        ip, nft = IPWrapper(ns), Nft(namespace=ns)
        for key in ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"):
            ip.sysctl(key, 1)
        with database.session() as db:
            net, web, ports = make_records(db, a.ports)
            before = port_args(db, ports)
        LinuxBridgeNetwork(ip).ensure_present(Segment(net, "local"))
        plug, secure, groups = BridgeInterfaceDriver(ip), PortSecurity(nft), SecurityGroups(nft)
        t0 = time.perf_counter()
        for i, pid in enumerate(ports):
            mac = f"fa:16:3e:01:{i // 256:02x}:{i % 256:02x}"
            plug.ensure_present(PortSpec(pid, net, "tap", mac, [f"{address(i)}/16"]))
            secure.ensure_present(PortSecuritySpec(tap_name(pid), mac, [address(i)]))
            groups.ensure_present(PortGroupsSpec(tap_name(pid), **before[pid]))
        t_setup = time.perf_counter() - t0

        # 2. the API's work: the rule and its job
        t0 = time.perf_counter()
        with database.session() as db:
            group = security_groups.get(db, None, web, admin=True)
            [rule] = security_groups.create_rules(
                db, [(group, {"direction": "ingress", "protocol": "tcp", "port_range_min": 22,
                              "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"})],
                context=context, request_id=None, admin=True)
            rule_id = rule.id
        t_api = time.perf_counter() - t0

        # 3. the controller's work: affected ports and their module arguments
        t0 = time.perf_counter()
        with database.session() as db:
            affected = [p.id for p in sg_rules.affected_ports(db, [web])]
            after = port_args(db, affected)
        t_plan = time.perf_counter() - t0
        assert sorted(affected) == sorted(ports), "every port of the group is affected"

        # 4. realized: one playbook, one security_group task per port
        tasks = [{"name": f"security {pid[:8]}", "stratus.cloud.security_group":
                  {"port_id": pid, "namespace": ns, **after[pid]}} for pid in affected]
        book = workdir / "converge.yml"
        book.write_text(yaml.safe_dump([{"name": "bench: a rule change on every port of the group",
                                         "hosts": "localhost", "connection": "local",
                                         "gather_facts": False, "tasks": tasks}]))
        t0 = time.perf_counter()
        proc = run_playbook(book)
        t_realize = time.perf_counter() - t0
        recap = re.search(r"changed=(\d+).*failed=(\d+)", proc.stdout)
        if proc.returncode != 0 or recap is None or int(recap.group(2)):
            raise SystemExit(f"the playbook failed (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
        changed = int(recap.group(1))
        ingress = groups.rules_text(tap_name(affected[-1]))["ingress"]
        assert changed == len(affected), f"{changed} of {len(affected)} ports changed"
        assert any("dport 22" in r for r in ingress), ingress

        # 5. the change undone with the driver alone
        with database.session() as db:
            security_groups.delete_rule(db, security_groups.get_rule(db, None, rule_id, admin=True),
                                        context=context, request_id=None)
            undone = port_args(db, affected)
        t0 = time.perf_counter()
        for pid in affected:
            assert groups.ensure_present(PortGroupsSpec(tap_name(pid), **undone[pid])).changed
        t_driver = time.perf_counter() - t0

        n = len(affected)
        total = t_api + t_plan + t_realize
        print(f"setup (not measured): {n} taps plugged with port security and the group's rules "
              f"in {t_setup:.1f} s")
        print(f"API: rule written + its job planned: {t_api * 1000:.0f} ms")
        print(f"controller: affected ports + module arguments for {n} ports: {t_plan * 1000:.0f} ms "
              f"({t_plan / n * 1000:.2f} ms/port)")
        print(f"realized: one ansible-playbook run, {n} security_group tasks: {t_realize:.1f} s "
              f"({t_realize / n * 1000:.0f} ms/port)")
        print(f"rule change to realized on {n} ports: {total:.1f} s ({total / n * 1000:.0f} ms/port)")
        print(f"the same change undone with the driver alone (one nft -f per port): {t_driver:.2f} s "
              f"({t_driver / n * 1000:.1f} ms/port); Ansible costs {t_realize / t_driver:.1f}x the driver")
        print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
              + f" on {os.cpu_count()} CPUs")
    finally:
        root.netns.ensure_absent(ns)
        database.dispose()
        for f in sorted(workdir.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
