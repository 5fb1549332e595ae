"""Every daemon a role started comes back when it was killed and the role runs again:
same state, no data lost; a run without a kill changes nothing.

Each test kills only daemons it started itself (found by its own pid files), on private
paths and ports, beside whatever else runs on this machine:

- object_storage: the session's Swift cluster (``swift_cloud``: its own run dir and free
  ports); the run dir is emptied too, as a host restart leaves /run.
- block_storage: an NBD export in a "storage host" network namespace (the allow-list
  table is per namespace), its export state under the test's directory.
- network: a network's dnsmasq and metadata relay (their state under the test's
  directory, their namespace the test's network's); the role itself runs inside a
  network namespace of the test's, whose nft tables and sysctls stand for the host's.
- compute: a libvirt node of the test's own (tests/helpers/libvirt_node.py: a mount
  namespace whose /run/libvirt, /etc/libvirt, /var/lib/libvirt, … are the test's
  directories; libvirt's system instance has no setting for them), its libvirtd and
  virtlogd started by the role; a guest it runs keeps running across the kill.
- Under systemd the daemons are units that systemd restarts: the Swift units' contents
  are asserted here (this machine has no systemd).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.helpers.ansible import ansible_env, run_module
from tests.helpers.libvirt_node import LibvirtNode
from tests.helpers.procs import alive
from tests.integration.network.l3_fixtures import lab_fixture  # noqa: F401 (the fixture lab)
from tests.integration.storage.conftest import storage_ns  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass
class RoleRun:
    rc: int
    stdout: str
    changed: int

    def __str__(self) -> str:
        return self.stdout[-5000:]


def run_role(tmp: Path, role: str, role_vars: dict, *, wrap: list[str] | None = None,
             timeout: float = 600) -> RoleRun:
    """ansible-playbook of ``role`` on localhost with ``role_vars`` as extra vars, its
    argv prefixed with ``wrap`` (e.g. a namespace's ``unshare``)."""
    (tmp / "ansible").mkdir(exist_ok=True)
    play = tmp / "ansible" / f"{role}.yml"
    play.write_text(yaml.safe_dump([{"name": f"{role} (test)", "hosts": "localhost", "gather_facts": True,
                                     "gather_subset": ["!all"], "roles": [role]}]))
    var_file = tmp / "ansible" / f"{role}-vars.json"
    var_file.write_text(json.dumps(role_vars))
    argv = [*(wrap or []), str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=/usr/bin/python3", "-e", f"@{var_file}", str(play)]
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
                      ANSIBLE_ROLES_PATH=str(REPO / "roles"),
                      ANSIBLE_LOCAL_TEMP=str(tmp / "ansible" / "tmp"))
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)
    m = re.search(r"^localhost\s*:.*?changed=(\d+)", r.stdout, re.MULTILINE)
    return RoleRun(r.returncode, r.stdout + r.stderr[-3000:], int(m.group(1)) if m else -1)


def read_pid(pidfile: Path) -> int:
    return int(pidfile.read_text().split()[0])



def kill_and_wait(pids: list[int], timeout: float = 20) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, f"processes {[p for p in pids if alive(p)]} outlived SIGKILL"
        time.sleep(0.05)


# -- object storage -------------------------------------------------------------------


@pytest.mark.object_storage
def test_swift_daemons_come_back_after_a_kill_and_keep_the_objects(swift_cloud):
    """All 16 daemons (13 Swift, proxy, memcached, rsync) killed and their run dir emptied
    (a host restart): the role starts every one again, the object stored before is read
    back unchanged, and the next run changes nothing."""
    cluster = swift_cloud.swift
    creds = swift_cloud.new_project_user("member", prefix="swk")
    account = f"{cluster.proxy_url}/v1/AUTH_{creds.project_id}"
    container, name, body = "kill-" + uuid.uuid4().hex[:6], "kept", os.urandom(70_000)
    with httpx.Client(headers={"X-Auth-Token": swift_cloud.token(creds)}, timeout=30) as http:
        assert http.put(f"{account}/{container}").status_code in (201, 202)
        assert http.put(f"{account}/{container}/{name}", content=body).status_code == 201

    pidfiles = sorted(cluster.run_dir.glob("*.pid"))
    assert len(pidfiles) == 16, pidfiles
    before = {p.stem: read_pid(p) for p in pidfiles}
    kill_and_wait(list(before.values()))
    for leftover in cluster.run_dir.iterdir():  # /run is empty after a restart
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()

    r = cluster.run_role()
    assert r.rc == 0, r.stdout[-5000:]
    assert r.changed > 0
    after = {p.stem: read_pid(p) for p in cluster.run_dir.glob("*.pid")}
    assert after.keys() == before.keys()
    assert all(alive(pid) and pid != before[d] for d, pid in after.items()), (after, cluster.logs())
    cluster.wait_healthy()
    with httpx.Client(headers={"X-Auth-Token": swift_cloud.token(creds)}, timeout=30) as http:
        got = http.get(f"{account}/{container}/{name}")
        assert (got.status_code, got.content == body) == (200, True)
        listing = http.get(f"{account}/{container}", params={"format": "json"}).json()
        assert [o["name"] for o in listing] == [name]

    again = cluster.run_role()
    assert again.rc == 0 and again.changed == 0, again.stdout[-5000:]
    assert {p.stem: read_pid(p) for p in cluster.run_dir.glob("*.pid")} == after


@pytest.mark.object_storage
def test_swift_units_restart_on_failure_and_start_at_boot(swift_cloud, tmp_path):
    """The systemd units the role installs (rendered from the daemons the cluster runs,
    into a directory of the test's): ExecStart is the daemon's argv, Restart=on-failure,
    wanted by multi-user.target (enabled: started at boot)."""
    cluster = swift_cloud.swift
    spec = json.loads((Path(cluster.extra_vars["object_storage_state_dir"]) / "daemons.json").read_text())
    units = tmp_path / "units"
    units.mkdir()
    play = tmp_path / "units.yml"
    play.write_text(yaml.safe_dump([{
        "name": "Swift units (test)", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Write the units", "ansible.builtin.include_role": {
            "name": "object_storage", "tasks_from": "units.yml"}}],
    }]))
    var_file = tmp_path / "vars.json"
    var_file.write_text(json.dumps({**cluster.extra_vars, "object_storage_daemon_spec": spec,
                                    "object_storage_systemd_unit_dir": str(units)}))
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_ROLES_PATH=str(REPO / "roles"))
    r = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                        "-e", "ansible_python_interpreter=/usr/bin/python3", "-e", f"@{var_file}", str(play)],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]

    written = {p.name: p.read_text() for p in units.glob("*.service")}
    assert sorted(written) == sorted(f"stratus-swift-{d['name']}.service" for d in spec["daemons"])
    assert len(written) == 16
    for daemon in spec["daemons"]:
        text = written[f"stratus-swift-{daemon['name']}.service"]
        service = re.search(r"^\[Service\]\n(.*?)(?:^\[|\Z)", text, re.MULTILINE | re.DOTALL).group(1)
        assert "Restart=on-failure\n" in service, text
        assert f"ExecStart={shlex.join(daemon['argv'])}\n" in service, text
        assert re.search(r"^\[Install\]\nWantedBy=multi-user.target$", text, re.MULTILINE), text


# -- block storage --------------------------------------------------------------------


def nbd_read(uri: str) -> subprocess.CompletedProcess:
    return subprocess.run(["timeout", "20", "qemu-io", "-f", "raw", "-r", "-c", "read -v 0 16", uri],
                          capture_output=True, text=True)


@pytest.mark.block_storage
def test_nbd_exports_come_back_after_a_kill(tmp_path, storage_ns):  # noqa: F811
    """An export's qemu-storage-daemon killed and its namespace's allow-list table gone
    (a host restart): the role starts it again on the same port with the same allow-list,
    the volume's data reads back over NBD, and the next run changes nothing."""
    volumes, exports = tmp_path / "volumes", tmp_path / "exports"
    volumes.mkdir()
    vid = str(uuid.uuid4())
    assert run_module("volume", {"id": vid, "size": 1, "backend": "file", "directory": str(volumes)}).changed
    with open(volumes / f"volume-{vid}", "r+b") as fh:
        fh.write(b"KEPT-ACROSS-KILL")
    exp = {"volume_id": vid, "attachment_id": "a1", "backend": "file", "directory": str(volumes),
           "host": storage_ns["storage_ip"], "allowed": [storage_ns["host_ip"]], "netns": storage_ns["ns"],
           "export_state_dir": str(exports)}
    made = run_module("volume_export", exp)
    assert made.changed, made.msg
    uri, pid = made["export"]["uri"], made["export"]["pid"]
    role_vars = {
        "block_storage_vg": "stratus-test-unused",
        "block_storage_lvm_activation": "off",
        "block_storage_lvm_system_dir": str(tmp_path / "lvm"),
        "block_storage_volume_dir": str(volumes),
        "block_storage_export_state_dir": str(exports),
    }
    try:
        assert "KEPT.ACROSS.KILL" in nbd_read(uri).stdout
        kill_and_wait([pid])
        subprocess.run(["ip", "netns", "exec", storage_ns["ns"], "nft", "delete", "table", "inet", "stratus_nbd"],
                       check=True)
        assert nbd_read(uri).returncode != 0

        revived = run_role(tmp_path, "block_storage", role_vars)
        assert revived.rc == 0 and revived.changed > 0, revived
        state = json.loads((exports / f"volume-{vid}-a1.json").read_text())
        assert state["pid"] != pid and alive(state["pid"])
        assert f"nbd://{state['host']}:{state['port']}/volume-{vid}-a1" == uri
        assert "KEPT.ACROSS.KILL" in nbd_read(uri).stdout
        rules = subprocess.run(["ip", "netns", "exec", storage_ns["ns"], "nft", "list", "table", "inet",
                                "stratus_nbd"], capture_output=True, text=True, check=True).stdout
        assert f"tcp dport {state['port']} ip saddr {storage_ns['host_ip']} accept" in rules, rules

        again = run_role(tmp_path, "block_storage", role_vars)
        assert again.rc == 0 and again.changed == 0, again
        assert json.loads((exports / f"volume-{vid}-a1.json").read_text())["pid"] == state["pid"]
    finally:
        run_module("volume_export", {**exp, "state": "absent"})


# -- network --------------------------------------------------------------------------

MAC_GUEST, MAC_DHCP = "fa:16:3e:ab:00:05", "fa:16:3e:ab:00:02"


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


@pytest.mark.network
def test_dnsmasq_and_metadata_relay_come_back_after_a_kill(tmp_path, lab):  # noqa: F811
    """A network's dnsmasq and metadata relay killed, and the host's own network settings
    gone (nft base tables, IP forwarding: a restart of the network host, played by a
    namespace): the role starts dnsmasq again with the same command line and its leases
    (the guest gets its address again), the relay again on 169.254.169.254:80, and puts
    the settings back; the next run changes nothing."""
    net = lab.network_id()
    br = lab.bridge(net)
    # dnsmasq reads its files as nobody: not under pytest's 0700 tmp_path
    state_root = Path(f"/var/tmp/stratus-daemons-net-{uuid.uuid4().hex[:8]}")
    state_root.mkdir(mode=0o755)
    lab.cleanups.append(lambda: shutil.rmtree(state_root, ignore_errors=True))
    dhcp_dir, relay_dir = state_root / "dhcp", state_root / "relay"
    dhcp = {"network_id": net, "state_dir": str(dhcp_dir),
            "port": {"id": str(uuid.uuid4()), "mac": MAC_DHCP, "ips": ["10.43.0.2"]},
            "subnets": [{"id": "sub-v4", "cidr": "10.43.0.0/24", "gateway_ip": "10.43.0.1"}],
            "ports": [{"id": "pa", "mac": MAC_GUEST, "ips": ["10.43.0.5"], "hostname": "guest-a"}]}
    relay = {"network_id": net, "state_dir": str(relay_dir), "target": "http://127.0.0.1:9", "ticket": "t-restart"}
    lab.cleanups.append(lambda: run_module("dhcp", {"network_id": net, "state_dir": str(dhcp_dir), "state": "absent"}))
    lab.cleanups.append(lambda: run_module("metadata_relay", {"network_id": net, "state_dir": str(relay_dir),
                                                              "state": "absent"}))
    made = run_module("dhcp", dhcp)
    assert made.changed, made.msg
    assert run_module("metadata_relay", relay).changed
    guest = lab.guest("rg", br, MAC_GUEST)
    assert lab.udhcpc(guest)["ip"] == "10.43.0.5"
    dnsmasq_pid, relay_pid = read_pid(dhcp_dir / net / "pid"), read_pid(relay_dir / net / "pid")
    argv = cmdline(dnsmasq_pid)
    leases = (dhcp_dir / net / "leases").read_text()
    assert MAC_GUEST in leases

    host = lab.namespace("nh")
    role_vars = {
        "network_sysctl_file": str(tmp_path / "60-stratus-network.conf"),
        "network_modules_file": str(tmp_path / "stratus-network.conf"),
        "network_nft_base_file": str(tmp_path / "nftables-base.nft"),
        "network_dhcp_state_dir": str(dhcp_dir),
        "network_metadata_relay_state_dir": str(relay_dir),
    }
    wrap = ["ip", "netns", "exec", host]  # a fresh namespace: no nft tables, the kernel's sysctls
    kill_and_wait([dnsmasq_pid, relay_pid])
    subprocess.run([*wrap, "sysctl", "-qw", "net.ipv4.ip_forward=0"], check=True)

    revived = run_role(tmp_path, "network", role_vars, wrap=wrap)
    assert revived.rc == 0, revived
    new_dnsmasq, new_relay = read_pid(dhcp_dir / net / "pid"), read_pid(relay_dir / net / "pid")
    assert alive(new_dnsmasq) and new_dnsmasq != dnsmasq_pid and cmdline(new_dnsmasq) == argv
    assert alive(new_relay) and new_relay != relay_pid
    assert (dhcp_dir / net / "leases").read_text().count(MAC_GUEST) >= 1
    assert lab.udhcpc(guest)["ip"] == "10.43.0.5"
    relay_up = subprocess.run(["ip", "netns", "exec", f"qdhcp-{net}", "python3", "-c",
                               "import socket; socket.create_connection(('169.254.169.254', 80), timeout=5)"],
                              capture_output=True, text=True)
    assert relay_up.returncode == 0, relay_up.stderr
    tables = subprocess.run([*wrap, "nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    assert "stratus_ports" in tables and "stratus_sg" in tables
    forward = subprocess.run([*wrap, "sysctl", "-n", "net.ipv4.ip_forward"], capture_output=True, text=True).stdout
    assert forward.strip() == "1"

    again = run_role(tmp_path, "network", role_vars, wrap=wrap)
    assert again.rc == 0 and again.changed == 0, again
    assert read_pid(dhcp_dir / net / "pid") == new_dnsmasq


# -- compute --------------------------------------------------------------------------


def compute_vars(node: LibvirtNode) -> dict:
    """The compute role on the node: its daemons' pid files where the node keeps them,
    its config file in the node's tree (/var/lib/stratus is the node's own)."""
    return {
        "compute_conf_file": str(node.base / "compute.conf"),
        "compute_daemons": [
            {"name": "virtlogd", "program": "/usr/sbin/virtlogd", "pidfile": str(node.base / "virtlogd.pid")},
            {"name": "libvirtd", "program": "/usr/sbin/libvirtd", "pidfile": str(node.base / "libvirtd.pid")},
        ],
    }


def guest_xml(name: str) -> str:
    """A guest with no disk and no NIC: QEMU runs its firmware, enough to be a live guest."""
    return (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
            "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>")


@pytest.mark.compute
def test_libvirt_daemons_come_back_after_a_kill_and_the_guest_keeps_running(tmp_path):
    """The role's virtlogd and libvirtd (a libvirt node of the test's own: its daemons are
    the role's) killed: the next run starts both again, libvirtd finds the guest that kept
    running (the same QEMU process) and its definition; the run after that changes
    nothing."""
    import libvirt

    node = LibvirtNode("restart", (49500, 49510)).prepare()
    system_caps = Path("/var/cache/libvirt/qemu/capabilities")
    if system_caps.is_dir():  # probed with the same QEMU and /dev/kvm: a faster first start
        shutil.copytree(system_caps, node.base / "cache" / "qemu" / "capabilities", dirs_exist_ok=True)
    wrap = node.namespace_argv(hide_kvm=False)
    name = f"stratus-restart-{uuid.uuid4().hex[:8]}"
    try:
        first = run_role(tmp_path, "compute", compute_vars(node), wrap=wrap)
        assert first.rc == 0, first
        daemons = {d: read_pid(node.base / f"{d}.pid") for d in ("virtlogd", "libvirtd")}
        assert all(alive(p) for p in daemons.values()), first

        conn = libvirt.open(node.uri)
        try:
            conn.defineXML(guest_xml(name)).create()
        finally:
            conn.close()
        qemu_pidfile = node.base / "run" / "qemu" / f"{name}.pid"
        qemu = read_pid(qemu_pidfile)
        assert alive(qemu)

        kill_and_wait(list(daemons.values()))
        revived = run_role(tmp_path, "compute", compute_vars(node), wrap=wrap)
        assert revived.rc == 0, revived
        assert revived.changed == 1, revived  # the one task that starts virtlogd and libvirtd
        now = {d: read_pid(node.base / f"{d}.pid") for d in ("virtlogd", "libvirtd")}
        assert all(alive(p) and p != daemons[d] for d, p in now.items())
        conn = libvirt.open(node.uri)
        try:
            dom = conn.lookupByName(name)
            assert dom.isActive() and dom.isPersistent()
        finally:
            conn.close()
        assert read_pid(qemu_pidfile) == qemu and alive(qemu)

        again = run_role(tmp_path, "compute", compute_vars(node), wrap=wrap)
        assert again.rc == 0 and again.changed == 0, again
        assert {d: read_pid(node.base / f"{d}.pid") for d in ("virtlogd", "libvirtd")} == now
    finally:
        # the guest of a libvirtd that did not come back is this test's to stop
        qemus = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                 and f"guest={name}".encode() in _read_bytes(p / "cmdline")]
        node.stop()  # destroys and undefines the node's guests, stops its daemons
        kill_and_wait([p for p in qemus if alive(p)])


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@pytest.mark.compute
def test_libvirt_units_restart_on_failure():
    """Under systemd the compute role enables Debian's units (it writes none): libvirtd's
    restarts on failure, virtlogd is started by its socket whenever libvirtd connects."""
    libvirtd = Path("/lib/systemd/system/libvirtd.service").read_text()
    assert re.search(r"^Restart=on-failure$", libvirtd, re.MULTILINE), libvirtd
    virtlogd = Path("/lib/systemd/system/virtlogd.service").read_text()
    assert re.search(r"^Requires=virtlogd.socket$", virtlogd, re.MULTILINE), virtlogd
    assert re.search(r"^Also=virtlogd.socket$", virtlogd, re.MULTILINE), virtlogd
    assert "ListenStream=/run/libvirt/virtlogd-sock" in Path("/lib/systemd/system/virtlogd.socket").read_text()
