"""The tiny guest boots under libvirt (TCG) and does what a cloud-init guest would.

A hand-written q35 domain: the guest qcow2 on virtio, a config drive built by
``config_drive.py`` on a SATA cdrom (as Nova attaches ``disk.config``), two NICs on a
bridge that this test creates and serves with its own dnsmasq: one asks DHCP, one is
static from ``network_data.json``. The console (serial pty + log file) must show the
markers, user_data's output and rc, and answer commands typed into the pty.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute import config_drive as cd
from tests.helpers.guest_console import GuestConsole

pytestmark = [pytest.mark.compute, pytest.mark.slow]

DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='{config}'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    {nics}
    <serial type='pty'>
      <log file='{log}' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
"""

NIC_XML = """<interface type='bridge'>
      <source bridge='{bridge}'/>
      <mac address='{mac}'/>
      <model type='virtio'/>
    </interface>"""


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def workdir():
    base = Path("/var/lib/stratus")
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"test-guest-{secrets.token_hex(4)}"
    path.mkdir(mode=0o755)
    path.chmod(0o755)  # qemu runs as libvirt-qemu and must traverse it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def bridge(workdir):
    """A bridge with 10.251.<n>.1/24 and a dnsmasq serving DHCP on it."""
    name = f"stgi{secrets.token_hex(4)}"
    net = ipaddress.ip_network(f"10.251.{secrets.randbelow(250) + 1}.0/24")
    hosts = list(net.hosts())
    gw = hosts[0]
    _sh("ip", "link", "add", name, "type", "bridge")
    dnsmasq = None
    try:
        _sh("ip", "addr", "add", f"{gw}/24", "dev", name)
        _sh("ip", "link", "set", name, "up")
        dnsmasq = subprocess.Popen(
            [
                "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                "--bind-interfaces", f"--interface={name}", "--except-interface=lo",
                f"--dhcp-range={hosts[99]},{hosts[149]},255.255.255.0,1h",
                f"--dhcp-option=option:router,{gw}",
                f"--dhcp-leasefile={workdir}/leases", f"--pid-file={workdir}/dnsmasq.pid",
                "--dhcp-authoritative", "--log-dhcp",
                f"--log-facility={workdir}/dnsmasq.log",
            ],
        )  # fmt: skip
        yield {"name": name, "net": net, "gateway": gw, "hosts": hosts}
    finally:
        if dnsmasq is not None:
            dnsmasq.terminate()
            try:
                dnsmasq.wait(timeout=5)
            except subprocess.TimeoutExpired:
                dnsmasq.kill()
        subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.fixture
def conn(libvirt_daemon):
    import libvirt

    c = libvirt.open(libvirt_daemon)
    yield c
    c.close()


def _boot(conn, workdir, guest_image, *, nics, meta, user_data, net_data):
    disk = workdir / "disk.qcow2"
    shutil.copyfile(guest_image["qcow2"], disk)
    config = workdir / "disk.config"
    cd.ConfigDrive().ensure(str(config), meta, user_data, net_data)
    name = f"stratus-test-guest-{secrets.token_hex(4)}"
    xml = DOMAIN_XML.format(
        name=name,
        uuid=meta["uuid"],
        disk=disk,
        config=config,
        nics="\n    ".join(NIC_XML.format(**n) for n in nics),
        log=workdir / "console.log",
    )
    return conn.createXML(xml, 0)  # transient: destroy() removes it


def _random_mac() -> str:
    return "52:54:00:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def _destroy(dom) -> None:
    with contextlib.suppress(Exception):  # already gone
        dom.destroy()


def test_guest_reads_config_drive_and_answers_on_console(conn, workdir, bridge, guest_image):
    inst = str(uuid.uuid4())
    mac_dhcp, mac_static = (_random_mac() for _ in range(2))
    static_ip = bridge["hosts"][19]
    meta = cd.meta_data(inst, "Guest Test", hostname="guest-test.novalocal",
                        public_keys={"k": "ssh-ed25519 AAAATEST test"})  # fmt: skip
    net_data = cd.network_data(
        [
            {"mac": mac_dhcp, "dhcp": True},
            {"mac": mac_static, "ip": f"{static_ip}/24", "gateway": str(bridge["gateway"]),
             "dns": [str(bridge["gateway"])]},
        ]
    )  # fmt: skip
    user_data = "#!/bin/sh\necho user-data-says-$(hostname)\nexit 7\n"
    nics = [{"bridge": bridge["name"], "mac": m} for m in (mac_dhcp, mac_static)]
    dom = _boot(conn, workdir, guest_image, nics=nics, meta=meta, user_data=user_data,
                net_data=net_data)  # fmt: skip
    try:
        con = GuestConsole(dom.name())
        with con:
            con.wait_for(r"^STRATUS-GUEST ready$", timeout=120)
            markers = con.markers()
            assert "hostname=guest-test.novalocal" in markers
            assert f"uuid={inst}" in markers
            assert "user-data rc=7" in markers
            con.wait_for(r"^user-data-says-guest-test\.novalocal$", timeout=1)
            assert f"addr=eth1 {static_ip}/24" in markers
            dhcp = [m for m in markers if m.startswith("dhcp=eth0 ")]
            assert dhcp, markers
            leased = ipaddress.ip_interface(dhcp[0].split()[1])
            assert leased.network == bridge["net"] and leased.ip in bridge["hosts"][99:150]
            assert f"addr=eth0 {leased}" in markers

            rc, out = con.run("cat /proc/cmdline", timeout=30)
            assert rc == 0 and "console=ttyS0" in out
            rc, out = con.run("hostname; cat /root/.ssh/authorized_keys; false", timeout=30)
            assert rc == 1
            assert out.split() == ["guest-test.novalocal", "ssh-ed25519", "AAAATEST", "test"]
            rc, out = con.run("ip -4 route show default", timeout=30)
            assert f"via {bridge['gateway']}" in out

            # the kernel answers ping on both addresses, from the host side of the bridge
            for ip in (leased.ip, static_ip):
                ping = subprocess.run(["ping", "-c", "1", "-W", "5", str(ip)], capture_output=True)
                assert ping.returncode == 0, ping.stdout.decode()
    finally:
        _destroy(dom)


def _vfat_config_drive(path: Path, files: dict[str, bytes]) -> None:
    """Nova's other config drive format: a 64 MiB vfat image labelled config-2."""
    with open(path, "wb") as f:
        f.truncate(64 * 2**20)
    _sh("mkfs.vfat", "-n", "config-2", str(path))
    env = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    made: set[str] = set()
    for rel, data in sorted(files.items()):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                subprocess.run(["mmd", "-i", str(path), "::/" + d], env=env, check=True)
                made.add(d)
        src = path.parent / "cd-file"
        src.write_bytes(data)
        subprocess.run(["mcopy", "-i", str(path), str(src), "::/" + rel], env=env, check=True)
    (path.parent / "cd-file").unlink()


def _qmp(sock: Path, command: str) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock))
        f = s.makefile("rw")
        f.readline()  # greeting
        for cmd in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": cmd}) + "\n")
            f.flush()
            while '"return"' not in f.readline():
                pass


def test_guest_boots_on_pc_with_vfat_config_drive_on_ide(workdir, guest_image):
    """The image itself, under plain QEMU (no libvirt): i440fx (pc) machine, the raw
    disk on IDE, and the config drive in Nova's vfat format on the second IDE disk."""
    inst = str(uuid.uuid4())
    config = workdir / "disk.config"
    _vfat_config_drive(config, cd.drive_files(cd.meta_data(inst, "pc-guest"), "#!/bin/sh\nexit 0\n"))
    log = workdir / "serial.log"
    qemu = subprocess.Popen(
        [
            "qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", "256",
            "-display", "none", "-monitor", "none", "-nic", "none", "-no-reboot",
            "-drive", f"file={guest_image['raw']},format=raw,if=ide,index=0,snapshot=on",
            "-drive", f"file={config},format=raw,if=ide,index=1,snapshot=on",
            "-serial", f"file:{log}", "-qmp", f"unix:{workdir}/qmp.sock,server=on,wait=off",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        text = ""
        while "STRATUS-GUEST ready" not in text:
            assert qemu.poll() is None, qemu.stderr.read().decode()
            assert time.monotonic() < deadline, f"no ready marker in 120s:\n{text[-3000:]}"
            time.sleep(0.5)
            text = log.read_text(errors="replace") if log.exists() else ""
        assert f"STRATUS-GUEST uuid={inst}" in text
        assert "STRATUS-GUEST hostname=pc-guest" in text
        assert "STRATUS-GUEST user-data rc=0" in text

        # The ACPI power button (what `virsh shutdown` presses) powers the guest off.
        _qmp(workdir / "qmp.sock", "system_powerdown")
        assert qemu.wait(timeout=60) == 0
        assert "STRATUS-GUEST power-button" in log.read_text(errors="replace")
    finally:
        qemu.kill()
        qemu.wait()


def test_second_build_is_a_cache_hit(guest_image):
    from build_guest_image import build

    manifest = Path(guest_image["qcow2"]).with_name("image.json")
    stamps = {k: Path(guest_image[k]).stat().st_mtime_ns for k in ("raw", "qcow2", "initrd")}
    start = time.monotonic()
    again = build()
    # a hit reads a manifest and hashes a few files (~0.3 s); a build takes 10 s or more
    assert time.monotonic() - start < 5
    assert again == guest_image
    assert {k: Path(again[k]).stat().st_mtime_ns for k in stamps} == stamps
    assert manifest.is_file() and Path(again["kernel"]).is_file()
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", again["qcow2"]], capture_output=True, text=True, check=True
    )
    assert json.loads(info.stdout)["format"] == "qcow2"
    assert Path(again["qcow2"]).stat().st_size < 64 * 2**20
