"""Hosts for pipeline tests, driven through a private running controller's jobs API.

Each host is a registry entry (synced from an inventory file, as an operator does) whose
Ansible runs on this machine but inside another host's namespaces, through an
interpreter wrapper: a network namespace for a network host, the mount namespace of a
second libvirtd for a compute host."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.api.conftest import controller_factory  # noqa: F401 - a shared fixture

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def interpreter(path: Path, prefix: list[str]) -> str:
    """An interpreter that runs Ansible's modules under ``prefix`` (ip netns exec …)."""
    path.write_text("#!/bin/sh\nexec " + " ".join(prefix) + ' /usr/bin/python3 "$@"\n')
    path.chmod(0o755)
    return str(path)


def sync_hosts(controller, tmp: Path, hosts: dict[str, dict], groups: list[str]) -> None:
    """``stratus host sync`` from an inventory of ``hosts`` (name → vars) in ``groups``."""
    inv = {"all": {"children": {g: {"hosts": {h: dict(v) for h, v in hosts.items()}} for g in groups}}}
    path = tmp / "inventory.yml"
    path.write_text(yaml.safe_dump(inv))
    controller.stratus("host", "sync", "-i", str(path))


class Api:
    """The admin's view of the jobs API: submit, act, wait."""

    def __init__(self, controller) -> None:
        self.c = controller

    def call(self, method: str, path: str, expect: int = 202, **kw) -> dict:
        r = self.c.request(method, "/stratus/v1" + path, **kw)
        assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r.json()

    def wait(self, job: dict, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.call("GET", f"/jobs/{job['id']}", expect=200)["job"]
            if got["status"] in FINAL:
                assert got["status"] == "SUCCEEDED", got
                return got
            time.sleep(0.3)
        raise AssertionError(f"job {job['id']} not finished after {timeout}s")

    def run(self, method: str, path: str, **kw) -> dict:
        return self.wait(self.call(method, path, **kw)["job"])

    def create(self, **resources) -> dict:
        tpl = {"heat_template_version": "2018-08-31", "resources": resources}
        return self.run("POST", "/jobs", json={"template": tpl})

    def resource(self, rid: str) -> dict:
        return self.call("GET", f"/resources/{rid}", expect=200)["resource"]


class NetHosts:
    """Two "hosts" as network namespaces joined by a veth underlay (10.99.7.1/.2)."""

    def __init__(self, tmp: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = {"netA": f"st-ha-{tag}", "netB": f"st-hb-{tag}"}
        self.ip = {"netA": "10.99.7.1", "netB": "10.99.7.2"}
        self.tmp = tmp
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "add", ns], check=True)
        a, b = self.ns["netA"], self.ns["netB"]
        subprocess.run(["ip", "link", "add", f"ul{tag}a", "netns", a, "type", "veth", "peer",
                        "name", f"ul{tag}b", "netns", b], check=True)
        for host, dev in (("netA", f"ul{tag}a"), ("netB", f"ul{tag}b")):
            self.sh(host, "ip", "addr", "add", f"{self.ip[host]}/24", "dev", dev)
            self.sh(host, "ip", "link", "set", dev, "up")
            self.sh(host, "ip", "link", "set", "lo", "up")

    def sh(self, host: str, *argv: str) -> str:
        return subprocess.run(["ip", "netns", "exec", self.ns[host], *argv], check=True,
                              capture_output=True, text=True).stdout

    def links(self, host: str) -> set[str]:
        return {line.split()[0].split("@")[0] for line in self.sh(host, "ip", "-br", "link").splitlines()}

    def vars(self) -> dict[str, dict]:
        return {host: {"ansible_connection": "local",
                       "ansible_python_interpreter": interpreter(self.tmp / f"py-{host}",
                                                                 ["ip", "netns", "exec", ns]),
                       "stratus_tunnel_ip": self.ip[host]}
                for host, ns in self.ns.items()}

    def cleanup(self) -> None:
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.fixture
def net_hosts(tmp_path):
    hosts = NetHosts(tmp_path)
    yield hosts
    hosts.cleanup()
