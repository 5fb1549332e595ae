"""A second libvirt "node" on this machine, for migration tests.

libvirt's qemu driver uses fixed paths (/run/libvirt, /var/lib/libvirt, /etc/libvirt,
/var/log/libvirt, /var/cache/libvirt), and Stratus keeps guests under /var/lib/stratus.
A second libvirtd therefore runs in its own mount namespace (``unshare -m``) where a
private directory tree is bind-mounted over each of those paths. It shares the network
namespace (loopback) with the first node, so migration streams go over 127.0.0.1.

What makes it a separate host to libvirt:
- its own ``host_uuid`` (libvirt refuses to migrate to a host with the same UUID);
- its own virtlogd, sockets, pid files, state and config (no domains, no networks);
- a migration port range apart from the first node's (49152-49215);
- no KVM: an inaccessible file is bind-mounted over /dev/kvm. KVM guests hang on this
  machine anyway, and with /dev/kvm visible libvirt re-probes QEMU's capabilities on
  every domain lookup (its "KVM usable" check and the probe disagree), which makes each
  define/start cost seconds to minutes; without it the capabilities cache holds;
- no cgroup controllers (both daemons would otherwise create the same
  ``machine/qemu-<id>-<name>`` cgroups when a guest exists on both during migration).

It is reached at ``qemu+unix:///system?socket=<dir>/run/libvirt-sock``. The node's
/var/lib/stratus is ``<dir>/stratus`` seen from outside: ``host_path()`` maps one to the
other so tests can look at what arrived on node 2.

``LibvirtNode.stop()`` destroys and undefines every domain and storage pool the node
has, stops its libvirtd and virtlogd (the namespace ends with them) and removes the tree.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

BIND = {
    "run": "/run/libvirt",
    "etc": "/etc/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
    "stratus": "/var/lib/stratus",
}

START = """set -e
{mounts}
mount --bind {base}/nokvm /dev/kvm 2>/dev/null || true
virtlogd -d -p {base}/virtlogd.pid
libvirtd -d -p {base}/libvirtd.pid
"""


# QEMU's capabilities as the first node of the session probed them (about 2 s of QEMU
# start-ups on a node's first define), handed to every node after it. libvirtd checks a
# cached file against the QEMU binary, its own build and the host (kernel, microcode,
# KVM access) and probes again when anything differs, so a node never uses stale ones.
_QEMU_CAPS: Path | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


class LibvirtNode:
    """A libvirtd + virtlogd pair in a private mount namespace (see module docstring)."""

    def __init__(
        self,
        name: str = "node2",
        migration_ports: tuple[int, int] = (49400, 49460),
        *,
        private_stratus: bool = True,
        netns: str | None = None,
    ):
        """``private_stratus=False`` shares this host's /var/lib/stratus (a "node 1" whose
        files modules running here can read). ``netns`` (an existing network namespace)
        runs the node there: its guests' taps and whatever its modules make (bridges,
        VXLAN devices) live in that namespace, a host with a network of its own."""
        self.name = name
        self.private_stratus = private_stratus
        self.netns = netns
        self.host_uuid = str(uuid.uuid4())
        self.migration_ports = migration_ports
        self.base = Path(tempfile.mkdtemp(prefix=f"stratus-{name}-"))
        os.chmod(self.base, 0o755)

    @property
    def socket(self) -> Path:
        return self.base / "run" / "libvirt-sock"

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.socket}"

    def host_path(self, path: str | Path) -> Path:
        """Where a path inside the node's /var/lib/stratus is, seen from this host."""
        if not self.private_stratus:
            return Path(path)
        rel = Path(path).relative_to(BIND["stratus"])
        return self.base / "stratus" / rel

    def _write_config(self) -> None:
        etc = self.base / "etc"
        for name in ("qemu.conf", "virtlogd.conf", "libvirt.conf"):
            src = Path("/etc/libvirt") / name
            if src.exists():
                shutil.copy(src, etc / name)
        if Path("/etc/libvirt/nwfilter").is_dir():
            shutil.copytree("/etc/libvirt/nwfilter", etc / "nwfilter")
        (etc / "qemu").mkdir(exist_ok=True)
        (etc / "libvirtd.conf").write_text(
            f'host_uuid = "{self.host_uuid}"\n'
            'unix_sock_group = "root"\n'
            'unix_sock_rw_perms = "0700"\n'
            'auth_unix_rw = "none"\n'
            'auth_unix_ro = "none"\n'
        )
        lo, hi = self.migration_ports
        with open(etc / "qemu.conf", "a") as f:
            f.write(
                f"\n# stratus test node {self.name}\n"
                "cgroup_controllers = [ ]\n"
                "namespaces = [ ]\n"  # qemu in the node's namespace (/dev/kvm is a mount)
                f"migration_port_min = {lo}\nmigration_port_max = {hi}\n"
            )

    def prepare(self) -> LibvirtNode:
        """The node's tree and config, its daemons not started: ``start()`` starts them,
        or a command run under ``namespace_argv()`` does (the compute role, in tests)."""
        for sub in self._binds():
            (self.base / sub).mkdir(mode=0o755, exist_ok=True)
        self._write_config()
        (self.base / "nokvm").touch(mode=0o000)
        if _QEMU_CAPS is not None:
            shutil.copytree(_QEMU_CAPS, self.base / "cache" / "qemu" / "capabilities")
        Path(BIND["stratus"]).mkdir(parents=True, exist_ok=True)
        return self

    def _binds(self) -> dict[str, str]:
        return {k: v for k, v in BIND.items() if self.private_stratus or k != "stratus"}

    def _mounts(self) -> str:
        return "\n".join(f"mount --bind {self.base / sub} {target}" for sub, target in self._binds().items())

    def _in_netns(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def namespace_argv(self, *, hide_kvm: bool = True) -> list[str]:
        """The argv prefix that runs a command in a new mount namespace with the node's
        binds (after ``prepare()``); whatever daemons it starts keep that namespace.
        ``hide_kvm=False`` leaves the host's /dev/kvm in place (a role that sets its
        group and mode must see the real device)."""
        kvm = f"mount --bind {self.base}/nokvm /dev/kvm 2>/dev/null || true\n" if hide_kvm else ""
        script = f'set -e\n{self._mounts()}\n{kvm}exec "$@"\n'
        return [*self._in_netns(), "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]

    def start(self) -> LibvirtNode:
        self.prepare()
        script = START.format(mounts=self._mounts(), base=self.base)
        subprocess.run([*self._in_netns(), "unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                       check=True)
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"libvirtd of {self.name} did not create {self.socket}")
            time.sleep(0.1)
        self._wait_connectable()
        return self

    def _wait_connectable(self) -> None:
        import libvirt

        deadline = time.monotonic() + 30
        while True:
            try:
                libvirt.open(self.uri).close()
                return
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _pid(self, name: str) -> int | None:
        try:
            return int((self.base / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _clean_libvirt(self) -> None:
        import libvirt

        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError:
            return
        try:
            for dom in conn.listAllDomains():
                try:
                    if dom.isActive():
                        dom.destroy()
                    if dom.isPersistent():
                        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
                except libvirt.libvirtError:
                    pass
            for pool in conn.listAllStoragePools():
                try:
                    if pool.isActive():
                        pool.destroy()
                    if pool.isPersistent():
                        pool.undefine()
                except libvirt.libvirtError:
                    pass
        finally:
            conn.close()

    def _keep_qemu_caps(self) -> None:
        global _QEMU_CAPS
        probed = self.base / "cache" / "qemu" / "capabilities"
        if _QEMU_CAPS is None and any(probed.glob("*.xml")):
            _QEMU_CAPS = Path(tempfile.mkdtemp(prefix="stratus-qemu-caps-"))
            atexit.register(shutil.rmtree, _QEMU_CAPS, True)
            shutil.copytree(probed, _QEMU_CAPS, dirs_exist_ok=True)

    def stop(self) -> None:
        if self.socket.exists():
            self._clean_libvirt()
        self._keep_qemu_caps()
        # both daemons stop at once (each takes about 2 s to exit; no domain is left
        # that would need virtlogd while libvirtd stops)
        pids = [pid for pid in map(self._pid, ("libvirtd", "virtlogd")) if pid and _alive(pid)]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(map(_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in filter(_alive, pids):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def libvirt_node1():
    """A libvirt host sharing this host's /var/lib/stratus (modules run here can act on
    its guests' files), apart from the system libvirtd; yields the running node."""
    node = LibvirtNode("node1", (49300, 49360), private_stratus=False).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def libvirt_node2():
    """A second libvirt host on this machine; yields the running ``LibvirtNode``."""
    node = LibvirtNode().start()
    try:
        yield node
    finally:
        node.stop()
