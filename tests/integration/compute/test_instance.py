"""stratus.cloud.instance / image_cache / instance_info / hypervisor_info on real libvirt.

One tiny guest is booted through ``run_module("instance", ...)`` and reused by the
tests below in file order (boot, idempotence, diff, power states, resize, info, then
removal). Everything lives in a private cache/instances directory under
/var/lib/stratus (so qemu can read it) and a private bridge; the module fixture
removes domains, files and the bridge even when a test fails.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import pwd
import secrets
import shutil
import stat
import subprocess
import threading
import time
import uuid as uuidlib
from pathlib import Path

import libvirt
import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.config_drive import (
    network_data,
)
from tests.helpers.ansible import run_module
from tests.helpers.guest_console import GuestConsole

pytestmark = [pytest.mark.compute, pytest.mark.slow]

URI = "qemu:///system"
FAST_STOP = 3  # the busybox guest ignores ACPI power-off: do not wait 60 s for it


class Env:
    def __init__(self, base: Path, bridge: str):
        self.base = base
        self.images = base / "images"
        self.instances = base / "instances"
        self.bridge = bridge
        self.image_id = f"tiny-{base.name}"
        self.uuid = str(uuidlib.uuid4())
        self.name = f"instance-{self.uuid}"
        self.mac = "fa:16:3e:" + ":".join(secrets.token_hex(1) for _ in range(3))
        self.tap = "tap" + secrets.token_hex(5)[:11]

    def dirs(self) -> dict:
        return {"images_dir": str(self.images), "instances_dir": str(self.instances)}

    def args(self, **kw) -> dict:
        a = dict(
            uuid=self.uuid,
            image_id=self.image_id,
            display_name="stratus-demo",
            hostname="stratus-demo",
            memory_mb=128,
            root_gb=1,
            swap_mb=16,
            nics=[{"bridge": self.bridge, "mac": self.mac, "target": self.tap}],
            network_data=network_data(
                [{"mac": self.mac, "ip": "10.213.0.5/24", "devname": self.tap}]
            ),
            user_data="#!/bin/sh\necho hello from stratus user data\n",
            shutdown_timeout=FAST_STOP,
            **self.dirs(),
        )
        a.update(kw)
        return a


def domain_state(name: str) -> str:
    conn = libvirt.open(URI)
    try:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError:
            return "absent"
        state = dom.state()[0]
        if state == libvirt.VIR_DOMAIN_SHUTOFF:
            return "suspended" if dom.hasManagedSaveImage(0) else "stopped"
        return {libvirt.VIR_DOMAIN_RUNNING: "running", libvirt.VIR_DOMAIN_PAUSED: "paused"}.get(
            state, str(state)
        )
    finally:
        conn.close()


def live_xml(name: str, flags: int = 0) -> str:
    conn = libvirt.open(URI)
    try:
        return conn.lookupByName(name).XMLDesc(flags)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def env(libvirt_daemon, guest_image):
    suffix = secrets.token_hex(3)
    base = Path(f"/var/lib/stratus/test-compute-{suffix}")
    base.mkdir(parents=True)
    base.chmod(0o755)
    bridge = f"brh2{suffix}"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    e = Env(base, bridge)
    e.guest_image = guest_image
    try:
        yield e
    finally:
        conn = libvirt.open(URI)
        try:
            for dom in conn.listAllDomains(0):
                if dom.name() in (e.name, f"instance-{e.uuid}") or suffix in dom.name():
                    with contextlib.suppress(libvirt.libvirtError):
                        dom.destroy()
                    with contextlib.suppress(libvirt.libvirtError):
                        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        finally:
            conn.close()
        subprocess.run(["ip", "link", "del", bridge], check=False)
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- image cache


def test_image_cache_from_file_verifies_and_is_idempotent(env):
    src = env.guest_image["raw"]
    sha = hashlib.sha256(Path(src).read_bytes()).hexdigest()
    args = dict(image_id=env.image_id, source=src, os_hash_algo="sha256", os_hash_value=sha,
                source_format="raw", disk_format="qcow2", **env.dirs())
    check = run_module("image_cache", args, check=True)
    assert check.changed and not (env.images / env.image_id).exists()
    first = run_module("image_cache", args)
    assert first.changed, first
    assert first["image"]["format"] == "qcow2"  # converted from raw
    assert first["image"]["hashes"]["sha256"] == sha
    assert (env.images / env.image_id).is_file()
    assert not run_module("image_cache", args).changed


@pytest.fixture(scope="module")
def http_server(env):
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(Path(env.guest_image["qcow2"]).parent)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_image_cache_http_checksum_mismatch_leaves_nothing(env, http_server):
    url = f"{http_server}/{Path(env.guest_image['qcow2']).name}"
    image_id = f"http-{env.image_id}"
    allowed = dict(allowed_sources=[f"{http_server}/"], **env.dirs())
    bad = run_module("image_cache", dict(image_id=image_id, source=url, checksum="0" * 32,
                                          **allowed))
    assert bad.failed and bad["error"] == "ChecksumMismatch", bad
    assert "md5" in bad.msg
    assert sorted(p.name for p in env.images.iterdir() if not p.is_dir()) == [env.image_id]
    md5 = hashlib.md5(Path(env.guest_image["qcow2"]).read_bytes()).hexdigest()
    good = run_module("image_cache", dict(image_id=image_id, source=url, checksum=md5,
                                           source_format="qcow2", disk_format="raw", **allowed))
    assert good.changed and good["image"]["format"] == "raw", good


# ---------------------------------------------------------------- instance


def test_check_mode_defines_nothing_and_writes_nothing(env):
    res = run_module("instance", env.args(), check=True)
    assert res.changed and res["steps"][:2] == ["create files", "define"]
    assert "<domain" in res["diff"]["after"]["xml"] and res["diff"]["before"] == {}
    assert domain_state(env.name) == "absent"
    assert not (env.instances / env.uuid).exists()


def test_boot_runs_config_drive_and_user_data(env):
    res = run_module("instance", env.args())
    assert res.changed and res["instance"]["state"] == "running", res
    assert "<domain" in res["diff"]["after"]["xml"]
    inst = env.instances / env.uuid
    assert {p.name for p in inst.iterdir()} >= {"disk", "disk.swap", "disk.config", "console.log"}
    xml = live_xml(env.name)
    assert "stratus:instance" in xml or "https://stratus.invalid" in xml
    assert f"<target dev='{env.tap}'/>" in xml
    with GuestConsole(env.name) as con:
        con.wait_for(r"^STRATUS-GUEST ready", timeout=240)
        text = con.read()
    assert "STRATUS-GUEST hostname=stratus-demo" in text
    assert f"STRATUS-GUEST uuid={env.uuid}" in text
    assert "hello from stratus user data" in text
    assert "STRATUS-GUEST user-data rc=0" in text
    assert "10.213.0.5" in text  # the NIC got network_data's address


def test_instance_files_are_private(env):
    """The guest above booted from them, so QEMU could use them; no other local user can
    read them (the config drive holds user_data)."""
    inst = env.instances / env.uuid
    st = inst.stat()
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    assert pwd.getpwuid(st.st_uid).pw_name == "libvirt-qemu"
    for name in ("disk", "disk.swap", "disk.config", "console.log"):
        mode = stat.S_IMODE((inst / name).stat().st_mode)
        assert mode & 0o077 == 0, (name, oct(mode))
    for path in (inst / "disk.config", inst / "console.log"):
        peek = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               "cat", str(path)], capture_output=True, text=True)
        assert peek.returncode != 0 and "Permission denied" in peek.stderr, (path, peek)


def test_second_run_changes_nothing(env):
    res = run_module("instance", env.args())
    assert not res.changed, res["steps"]
    assert res["diff"]["before"] == res["diff"]["after"]


@pytest.mark.parametrize(
    "state, step",
    [
        ("paused", "pause"),
        ("running", "resume"),
        ("suspended", "managed_save"),
        ("running", "start"),
        ("stopped", "shutdown"),
        ("running", "start"),
    ],
)
def test_power_state_transitions(env, state, step):
    res = run_module("instance", env.args(state=state))
    assert res.changed and res["steps"] == [step], res
    assert domain_state(env.name) == state
    assert res["diff"]["after"]["state"] == state


def test_cold_resize_raises_maximums_and_restores_running(env):
    res = run_module("instance", env.args(vcpus=1, max_vcpus=2, memory_mb=128, max_memory_mb=192))
    assert res.changed and res["resize"] == "cold", res
    assert domain_state(env.name) == "running"
    xml = live_xml(env.name)
    assert "<vcpu placement='static' current='1'>2</vcpu>" in xml
    assert "<memory unit='KiB'>196608</memory>" in xml


def test_live_resize_within_maximums(env):
    args = env.args(vcpus=2, max_vcpus=2, memory_mb=160, max_memory_mb=192)
    res = run_module("instance", args)
    assert res.changed and res["resize"] == "live", res
    assert res["steps"][:2] == ["set vcpus live", "set memory live"]
    conn = libvirt.open(URI)
    try:
        dom = conn.lookupByName(env.name)
        assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 2  # the running guest has 2
        assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 2
        assert "<currentMemory unit='KiB'>163840</currentMemory>" in dom.XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE
        )
    finally:
        conn.close()
    assert not run_module("instance", args).changed


RESIZED = dict(vcpus=2, max_vcpus=2, memory_mb=160, max_memory_mb=192)


def test_volume_hotplug_and_volumes_left_alone_when_not_managed(env):
    vol = env.base / "vol1.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(vol), "8M"], check=True)
    volume = {"path": str(vol), "target": "vdd", "serial": "vol-1"}
    before = live_xml(env.name)
    for bad in ("/etc/shadow", str(env.base / ".." / "etc"), "/dev/sda", "/dev/stratus-volumes/../sda"):
        res = run_module("instance", env.args(volumes=[{**volume, "path": bad}], volume_roots=[str(env.base)],
                                              **RESIZED))
        assert res.failed and "is not a volume of this host" in res["msg"], res
        assert live_xml(env.name) == before  # refused before anything changed
    res = run_module("instance", env.args(volumes=[volume], volume_roots=[str(env.base)], **RESIZED))
    assert res.changed and res["resize"] == "live" and "attach vdd" in res["steps"], res
    assert "<serial>vol-1</serial>" in live_xml(env.name)  # on the running guest
    # a run that does not manage volumes keeps what the block-storage side attached
    assert not run_module("instance", env.args(**RESIZED)).changed
    res = run_module("instance", env.args(volumes=[], **RESIZED))
    assert res.changed and "detach vdd" in res["steps"], res  # [] needs no roots
    assert "vol-1" not in live_xml(env.name, libvirt.VIR_DOMAIN_XML_INACTIVE)
    deadline = time.monotonic() + 30
    while "vol-1" in live_xml(env.name) and time.monotonic() < deadline:
        time.sleep(0.5)  # the guest acknowledges the unplug
    assert "vol-1" not in live_xml(env.name)
    assert not run_module("instance", env.args(volumes=[], **RESIZED)).changed


def test_instance_info_and_hypervisor_info(env):
    info = run_module("instance_info", dict(uuid=env.uuid, uri=URI))
    assert not info.changed
    (inst,) = info["instances"]
    assert inst["state"] == "running" and inst["vcpus"] == 2 and inst["cpu_time_ns"] > 0
    assert [n["mac"] for n in inst["nics"]] == [env.mac]
    assert {d["target"] for d in inst["disks"]} >= {"vda", "vdc", "sda"}
    hyp = run_module("hypervisor_info", dict(uri=URI, **env.dirs()))
    h = hyp["hypervisor"]
    assert h["virt_type"] == "qemu"  # auto never picks kvm from /dev/kvm alone
    assert h["vcpus"] >= 1 and h["memory_mb"] > 1024
    assert h["allocated"]["guests"] >= 1 and h["allocated"]["vcpus"] >= 2


def test_image_in_use_is_refused_then_prune_keeps_it(env):
    res = run_module("image_cache", dict(image_id=env.image_id, state="absent", **env.dirs()))
    assert res.failed and res["error"] == "Conflict" and env.uuid in res.msg, res
    pruned = run_module("image_cache", dict(state="pruned", **env.dirs()))
    assert pruned.changed and pruned["removed"] == [f"http-{env.image_id}"], pruned
    assert (env.images / env.image_id).exists()


# ---------------------------------------------------------------- bad input


def _nothing_left(env, uuid: str):
    assert domain_state(f"instance-{uuid}") == "absent"
    assert not (env.instances / uuid).exists()


def test_unknown_image_leaves_nothing(env):
    u = str(uuidlib.uuid4())
    res = run_module("instance", env.args(uuid=u, image_id="no-such-image", nics=[]))
    assert res.failed and res["error"] == "ImageNotFound" and "image_cache" in res.msg, res
    _nothing_left(env, u)


def test_more_ram_than_host_leaves_nothing(env):
    u = str(uuidlib.uuid4())
    res = run_module("instance", env.args(uuid=u, memory_mb=64 * 1024 * 1024, nics=[]))
    assert res.failed and "MiB of RAM" in res.msg, res
    _nothing_left(env, u)


def test_malformed_mac_leaves_nothing(env):
    u = str(uuidlib.uuid4())
    res = run_module("instance", env.args(uuid=u, nics=[{"bridge": env.bridge, "mac": "fa:16:3e:zz"}]))
    assert res.failed and "not a MAC address" in res.msg, res
    _nothing_left(env, u)


def test_foreign_domain_of_that_name_is_not_touched(env):
    u = str(uuidlib.uuid4())
    name = f"instance-{u}"
    conn = libvirt.open(URI)
    dom = conn.defineXML(
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory>"
        "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>"
    )
    try:
        res = run_module("instance", env.args(uuid=u, nics=[]))
        assert res.failed and res["error"] == "Conflict" and "does not own" in res.msg, res
        gone = run_module("instance", dict(uuid=u, state="absent", **env.dirs()))
        assert gone.failed and gone["error"] == "Conflict"
        assert "stratus" not in dom.XMLDesc(0)  # untouched
        assert not (env.instances / u).exists()
    finally:
        dom.undefine()
        conn.close()


# ---------------------------------------------------------------- removal


def test_absent_removes_domain_and_files(env):
    res = run_module("instance", dict(uuid=env.uuid, state="absent", **env.dirs()))
    assert res.changed and res["steps"] == ["destroy", "undefine", "remove files"], res
    assert "<domain" in res["diff"]["before"]["xml"] and res["diff"]["after"] == {}
    _nothing_left(env, env.uuid)
    assert not run_module("instance", dict(uuid=env.uuid, state="absent", **env.dirs())).changed
    img = run_module("image_cache", dict(image_id=env.image_id, state="absent", **env.dirs()))
    assert img.changed and not (env.images / env.image_id).exists()
