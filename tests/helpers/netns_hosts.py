"""Hosts made of namespaces on this machine, each with its own sshd (molecule/multihost/DESIGN.md).

``NetnsHosts(base, ["ctl", "cmp1"]).up()`` makes, for each name, a network namespace on
an underlay bridge and a process tree in its own PID, mount, UTS and IPC namespaces whose
init (``tests/helpers/netns_init.py``) runs ``sshd``. Each host has its own /etc (a copy
of the machine's), /run (tmpfs), /root, /var/log and the state directories the roles
use (``PRIVATE_DIRS``), so the roles converge on it over SSH as on a separate machine.
``down()`` stops every process of every host, detaches the loop devices backed by
their files, deletes the namespaces, veths and bridge, removes the mount points it made
on the machine and the base directory. ``down()`` also works from the state file alone
(``NetnsHosts.load(base)``), for a run that died.

Needs root, iproute2, util-linux (unshare, nsenter, losetup), ssh-keygen and sshd:
``/usr/sbin/sshd`` (Debian package openssh-server) or the binary named by
``$STRATUS_SSHD``.

Command line (the molecule scenario's create and destroy playbooks use it)::

    python -m tests.helpers.netns_hosts up --base DIR [--port 22] NAME...   # JSON on stdout
    python -m tests.helpers.netns_hosts down --base DIR
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

INIT = Path(__file__).with_name("netns_init.py")
STATE_FILE = "hosts.json"

# Paths each host has of its own (bind mounts of <base>/<host>/fs/<path>); /run is a tmpfs.
PRIVATE_DIRS = (
    "/etc",
    "/root",
    "/var/log",
    "/var/lib/stratus",
    "/var/lib/libvirt",
    "/var/cache/libvirt",
    "/var/lib/swift",
    "/var/cache/swift",
    "/srv",
    "/opt/stratus",
)
LOGIN_RECORDS = ("lastlog", "wtmp", "btmp")
QEMU_CAPS = Path("/var/cache/libvirt/qemu/capabilities")
SSH_COMMON_ARGS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                   "-o", "LogLevel=ERROR"]


class NetnsHostError(RuntimeError):
    """A host could not be made or reached; the message says which and why."""


@dataclass
class Host:
    name: str
    netns: str
    address: str
    veth: str
    pid: int = 0  # its init, in this machine's PID namespace
    start_time: str = ""  # of that pid (/proc/<pid>/stat), so a reused pid is never signalled


@dataclass
class _State:
    tag: str
    subnet: str
    bridge: str
    port: int
    hosts: list[Host] = field(default_factory=list)
    made_dirs: list[str] = field(default_factory=list)  # mount points made on the machine


# --- pure logic -----------------------------------------------------------------------


def not_copied(rel: str) -> bool:
    """Whether ``<rel>`` (under /etc, or a folder under /var/log) stays out of a host's
    copy: Stratus's and Swift's
    files (any name with "stratus"; a host starts without them, whatever an all-in-one left) and the objects
    the machine's libvirt defined (domains, networks, pools and their autostart links)."""
    parts = Path(rel).parts
    if not parts:
        return False
    if any("stratus" in p for p in parts) or parts[0] == "swift":
        return True
    return (len(parts) >= 3 and parts[0] == "libvirt" and parts[1] in ("qemu", "storage")
            and (parts[-1].endswith(".xml") or "autostart" in parts))


def pick_subnet(routes: Iterable[str], rng: random.Random | None = None) -> ipaddress.IPv4Network:
    """A 10.200-249.x.0/24 that overlaps none of ``routes`` (``ip route`` destinations)."""
    rng = rng or random.Random()
    taken = [ipaddress.ip_network(r, strict=False) for r in routes if r and r != "default" and ":" not in r]
    for _ in range(1000):
        net = ipaddress.ip_network(f"10.{rng.randint(200, 249)}.{rng.randint(0, 255)}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return net
    raise NetnsHostError("no free 10.200-249.x.0/24 for the hosts' underlay: every candidate overlaps a route")


def names_for(tag: str, index: int, host: str) -> tuple[str, str]:
    """(netns name, root-side veth name) of host number ``index``; veths fit in 15 chars."""
    return f"smh-{tag}-{host}", f"smh{tag}v{index}"


def sshd_config(port: int, host_key: Path, authorized_keys: Path) -> str:
    """The hosts' sshd settings: root by key only, no PAM, sftp built in."""
    return "\n".join([
        f"Port {port}",
        "ListenAddress 0.0.0.0",
        f"HostKey {host_key}",
        f"AuthorizedKeysFile {authorized_keys}",
        "PidFile /run/sshd.pid",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",  # the key file lives under /tmp (mode 1777), which sshd refuses
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "MaxSessions 50",
        "MaxStartups 50:30:100",
        "Subsystem sftp internal-sftp",
        "",
    ])


def init_spec(name: str, fs: Path, sshd: str, config: Path, log: Path) -> dict:
    """What a host's init mounts and runs (tests/helpers/netns_init.py)."""
    return {
        "hostname": name,
        "binds": [[str(fs / d.lstrip("/")), d] for d in PRIVATE_DIRS],
        "tmpfs": ["/run"],
        "dirs": [["/run/sshd", "0755"], ["/run/lock", "1777"]],
        "command": [sshd, "-D", "-e", "-f", str(config)],
        "log": str(log),
        "stop_timeout": 15,
    }


def check_base(base: Path) -> None:
    """``base`` must stay visible inside the hosts: sshd reads its keys there and the
    controller host its client key. A base under a private dir would be hidden."""
    resolved = Path(os.path.abspath(base))
    for d in PRIVATE_DIRS:
        if resolved == Path(d) or Path(d) in resolved.parents:
            raise NetnsHostError(f"the hosts' directory {base} is under {d}, which every host replaces with "
                                 "its own: choose a directory elsewhere (under /tmp or /var/tmp)")


def find_sshd() -> str:
    """``$STRATUS_SSHD``, else /usr/sbin/sshd; an error that says how to get one."""
    path = os.environ.get("STRATUS_SSHD") or "/usr/sbin/sshd"
    if not os.access(path, os.X_OK):
        raise NetnsHostError(f"no sshd at {path}: install the Debian package openssh-server "
                             "(apt-get install openssh-server) or set STRATUS_SSHD to an sshd binary")
    return path


# --- processes ------------------------------------------------------------------------


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise NetnsHostError(f"{' '.join(argv)} failed (rc {proc.returncode}): {proc.stderr.strip()}")
    return proc


def _start_time(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _alive(host: Host) -> bool:
    return bool(host.pid) and _start_time(host.pid) == host.start_time


# --- the hosts ------------------------------------------------------------------------


class NetnsHosts:
    """N hosts on an underlay bridge, each with its own sshd (see the module docstring)."""

    def __init__(self, base: Path | str, names: Sequence[str] = (), *, port: int = 22,
                 tag: str | None = None) -> None:
        self.base = Path(base)
        self.names = list(names)
        self.port = port
        self.tag = tag or uuid.uuid4().hex[:6]
        self.state: _State | None = None

    @classmethod
    def load(cls, base: Path | str) -> NetnsHosts:
        """The hosts recorded in ``base`` (by an ``up()``, maybe of another process)."""
        data = json.loads((Path(base) / STATE_FILE).read_text())
        data["hosts"] = [Host(**h) for h in data["hosts"]]
        state = _State(**data)
        self = cls(base, [h.name for h in state.hosts], port=state.port, tag=state.tag)
        self.state = state
        return self

    # paths and connection data

    @property
    def ssh_dir(self) -> Path:
        return self.base / "ssh"

    @property
    def identity_file(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    def host(self, name: str) -> Host:
        for h in self._state().hosts:
            if h.name == name:
                return h
        raise KeyError(f"no host {name!r} here: the hosts are {', '.join(self.names)}")

    def fs(self, name: str) -> Path:
        return self.base / name / "fs"

    def host_path(self, name: str, path: str | Path) -> Path:
        """Where ``path`` on host ``name`` lies on this machine (itself when not private)."""
        p = Path(path)
        for d in PRIVATE_DIRS:
            if p == Path(d) or Path(d) in p.parents:
                return self.fs(name) / p.relative_to("/")
        return p

    def connection(self, name: str) -> dict:
        """Ansible connection variables for host ``name``."""
        return {
            "ansible_host": self.host(name).address,
            "ansible_port": self.port,
            "ansible_user": "root",
            "ansible_private_key_file": str(self.identity_file),
            "ansible_ssh_common_args": " ".join(SSH_COMMON_ARGS),
        }

    def instance_config(self) -> list[dict]:
        """Molecule's instance config (delegated driver, managed) for every host."""
        return [{"instance": h.name, "address": h.address, "user": "root", "port": self.port,
                 "identity_file": str(self.identity_file)} for h in self._state().hosts]

    def ssh(self, name: str, command: str, *, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run ``command`` (a shell string) on host ``name`` over SSH."""
        h = self.host(name)
        return subprocess.run(["ssh", *SSH_COMMON_ARGS, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                               "-i", str(self.identity_file), "-p", str(self.port), f"root@{h.address}",
                               command], capture_output=True, text=True, timeout=timeout)

    def enter(self, name: str) -> list[str]:
        """argv prefix that runs a command in every namespace of host ``name`` (no SSH)."""
        return ["nsenter", "-t", str(self.host(name).pid), "-m", "-u", "-i", "-n", "-p", "--"]

    # lifecycle

    def up(self) -> NetnsHosts:
        """Make and start every host; on failure, remove what was made and raise."""
        if os.geteuid() != 0:
            raise NetnsHostError("namespace hosts need root (ip netns, mounts, sshd)")
        sshd = find_sshd()
        check_base(self.base)
        self.base.mkdir(mode=0o700, parents=True, exist_ok=True)
        routes = [r.get("dst", "") for r in json.loads(_run("ip", "-j", "route", "show").stdout or "[]")]
        net = pick_subnet(routes)
        self.state = _State(tag=self.tag, subnet=str(net), bridge=f"smh{self.tag}", port=self.port)
        addrs = list(net.hosts())
        for i, name in enumerate(self.names):
            netns, veth = names_for(self.tag, i, name)
            self.state.hosts.append(Host(name=name, netns=netns, address=str(addrs[10 + i]), veth=veth))
        self._save()
        try:
            self._keys()
            self._underlay(str(addrs[0]), net.prefixlen)
            self._mount_points()
            for h in self.state.hosts:
                self._host_tree(h)
            for h in self.state.hosts:
                self._start(h, sshd)
                self._save()
            for h in self.state.hosts:
                self._wait_ssh(h)
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """Stop and remove everything ``up()`` made; safe to call twice or after a crash."""
        state = self.state
        if state is None:
            if not (self.base / STATE_FILE).exists():
                return
            state = self.load(self.base).state
        self._stop_all(state.hosts)
        self._detach_loops()
        for h in state.hosts:
            _run("ip", "netns", "del", h.netns, check=False)
            _run("ip", "link", "del", h.veth, check=False)
        _run("ip", "link", "del", state.bridge, check=False)
        for d in sorted(state.made_dirs, key=lambda p: -p.count("/")):
            with contextlib.suppress(OSError):  # files put there since are not ours to remove
                os.rmdir(d)
        shutil.rmtree(self.base, ignore_errors=True)
        self.state = None

    # steps of up()

    def _state(self) -> _State:
        if self.state is None:
            raise NetnsHostError(f"the hosts in {self.base} are not up")
        return self.state

    def _save(self) -> None:
        state = self._state()
        data = {**asdict(state), "hosts": [asdict(h) for h in state.hosts]}
        (self.base / STATE_FILE).write_text(json.dumps(data, indent=2))

    def _keys(self) -> None:
        self.ssh_dir.mkdir(mode=0o700, exist_ok=True)
        for key in ("host_ed25519_key", "id_ed25519"):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"stratus-netns-{self.tag}",
                 "-f", str(self.ssh_dir / key))
        shutil.copy(self.ssh_dir / "id_ed25519.pub", self.ssh_dir / "authorized_keys")
        (self.ssh_dir / "sshd_config").write_text(
            sshd_config(self.port, self.ssh_dir / "host_ed25519_key", self.ssh_dir / "authorized_keys"))

    def _underlay(self, gateway: str, prefix: int) -> None:
        state = self._state()
        _run("ip", "link", "add", state.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{gateway}/{prefix}", "dev", state.bridge)
        _run("ip", "link", "set", state.bridge, "up")
        for h in state.hosts:
            peer = f"{h.veth}p"
            _run("ip", "netns", "add", h.netns)
            _run("ip", "link", "add", h.veth, "type", "veth", "peer", "name", peer)
            _run("ip", "link", "set", peer, "netns", h.netns)
            _run("ip", "link", "set", h.veth, "master", state.bridge, "up")
            for argv in (("link", "set", "lo", "up"), ("link", "set", peer, "name", "eth0"),
                         ("addr", "add", f"{h.address}/{prefix}", "dev", "eth0"), ("link", "set", "eth0", "up"),
                         ("route", "add", "default", "via", gateway)):
                _run("ip", "-n", h.netns, *argv)

    def _mount_points(self) -> None:
        state = self._state()
        for d in PRIVATE_DIRS:
            missing = []
            p = Path(d)
            while not p.exists():
                missing.append(str(p))
                p = p.parent
            if missing:
                state.made_dirs.extend(missing)
                os.makedirs(d, mode=0o755)
        self._save()

    def _host_tree(self, h: Host) -> None:
        fs = self.fs(h.name)
        for d in PRIVATE_DIRS:
            target = fs / d.lstrip("/")
            if d == "/etc":
                _copy_etc(Path("/etc"), target)
                continue
            if d == "/var/log":  # the folders packages made (libvirt's, apt's), none of the logs,
                _copy_dirs(Path(d), target)  # and empty login records (sshd writes lastlog)
                for name in LOGIN_RECORDS:
                    _empty_like(Path(d) / name, target / name)
                continue
            target.mkdir(parents=True, exist_ok=True)
            st = os.stat(d)
            os.chown(target, st.st_uid, st.st_gid)
            os.chmod(target, stat.S_IMODE(st.st_mode))
        etc = fs / "etc"
        state = self._state()
        (etc / "hostname").write_text(f"{h.name}\n")
        (etc / "machine-id").write_text(f"{uuid.uuid4().hex}\n")
        with open(etc / "hosts", "a") as f:
            f.write("".join(f"{o.address} {o.name}\n" for o in state.hosts))
        passwd = (etc / "passwd").read_text()
        if not any(line.startswith("sshd:") for line in passwd.splitlines()):
            uids = {int(line.split(":")[2]) for line in passwd.splitlines() if line.count(":") >= 6}
            uid = next(u for u in range(999, 100, -1) if u not in uids)
            with open(etc / "passwd", "a") as f:
                f.write(f"sshd:x:{uid}:65534::/run/sshd:/usr/sbin/nologin\n")
        if (etc / "libvirt").is_dir():
            # a libvirt host apart: its own UUID; no cgroups (a killed host would leave
            # them behind) and QEMU in the host's mount namespace (as tests/helpers/libvirt_node.py)
            with open(etc / "libvirt" / "libvirtd.conf", "a") as f:
                f.write(f'\n# stratus namespace host {h.name}\nhost_uuid = "{uuid.uuid4()}"\n')
            with open(etc / "libvirt" / "qemu.conf", "a") as f:
                f.write(f"\n# stratus namespace host {h.name}\ncgroup_controllers = [ ]\nnamespaces = [ ]\n")
        if QEMU_CAPS.is_dir():
            shutil.copytree(QEMU_CAPS, fs / QEMU_CAPS.relative_to("/"), dirs_exist_ok=True)

    def _start(self, h: Host, sshd: str) -> None:
        spec_file = self.base / h.name / "init.json"
        log = self.base / h.name / "sshd.log"
        spec_file.write_text(json.dumps(init_spec(h.name, self.fs(h.name), sshd, self.ssh_dir / "sshd_config", log)))
        with open(self.base / h.name / "init.log", "ab") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", h.netns, "unshare", "--mount", "--propagation", "private", "--pid",
                 "--fork", "--mount-proc", "--uts", "--ipc", "/usr/bin/python3", str(INIT), str(spec_file)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + 10
        while not (kids := _children(proc.pid)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise NetnsHostError(f"host {h.name}: its init did not start: {self._log(h, 'init.log')}")
            time.sleep(0.05)
        h.pid, h.start_time = kids[0], _start_time(kids[0])

    def _wait_ssh(self, h: Host) -> None:
        deadline = time.monotonic() + 30
        while True:
            if not _alive(h):
                raise NetnsHostError(f"host {h.name} stopped: {self._log(h, 'init.log')} {self._log(h, 'sshd.log')}")
            try:
                with socket.create_connection((h.address, self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise NetnsHostError(f"sshd of host {h.name} does not answer on {h.address}:{self.port}: "
                                         f"{self._log(h, 'sshd.log')}") from None
                time.sleep(0.1)
        proc = self.ssh(h.name, "hostname")
        if proc.returncode != 0 or proc.stdout.strip() != h.name:
            raise NetnsHostError(f"ssh root@{h.address} -p {self.port} (host {h.name}) failed (rc {proc.returncode}): "
                                 f"{proc.stderr.strip()} {self._log(h, 'sshd.log')}")

    def _log(self, h: Host, name: str) -> str:
        try:
            return f"[{name}: {(self.base / h.name / name).read_text()[-1500:].strip()}]"
        except OSError:
            return f"[no {name}]"

    # steps of down()

    @staticmethod
    def _stop_all(hosts: list[Host]) -> None:
        """SIGTERM to each init (it stops its namespace), SIGKILL after 25 s."""
        live = [h for h in hosts if _alive(h)]
        for h in live:
            os.kill(h.pid, signal.SIGTERM)
        deadline = time.monotonic() + 25
        while (live := [h for h in live if _alive(h)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        for h in live:
            os.kill(h.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(_alive(h) for h in live) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _detach_loops(self) -> None:
        """Detach loop devices whose backing file is in the base tree (by device and
        inode: the path a loop device shows depends on the namespace that attached it)."""
        proc = _run("losetup", "--list", "--json", "--output", "NAME,BACK-INO,BACK-MAJ:MIN", check=False)
        loops = json.loads(proc.stdout or '{"loopdevices": []}').get("loopdevices", [])
        if not loops:
            return
        ours = set()
        for top, _dirs, files in os.walk(self.base):
            for name in files:
                try:
                    st = os.lstat(os.path.join(top, name))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    ours.add((f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}", str(st.st_ino)))
        for loop in loops:
            if (str(loop.get("back-maj:min", "")).strip(), str(loop.get("back-ino"))) in ours:
                _run("losetup", "--detach", loop["name"], check=False)


def _empty_like(src: Path, dst: Path) -> None:
    """An empty file at ``dst`` with the owner and mode of ``src`` (0644 root when absent)."""
    dst.touch()
    try:
        st = os.stat(src)
    except OSError:
        os.chmod(dst, 0o644)
        return
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))


def _copy_dirs(src: Path, dst: Path) -> None:
    """The directories of ``src`` (not its files, not what symlinks point to, not what
    ``not_copied`` names) under ``dst``, with their owners and modes."""
    for top, dirs, _files in os.walk(src):
        dirs[:] = [d for d in dirs if not not_copied(os.path.relpath(os.path.join(top, d), src))]
        for name in [".", *dirs]:
            path = os.path.normpath(os.path.join(top, name))
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                continue
            target = os.path.join(dst, os.path.relpath(path, src))
            os.makedirs(target, exist_ok=True)
            os.chown(target, st.st_uid, st.st_gid)
            os.chmod(target, stat.S_IMODE(st.st_mode))


def _copy_etc(src: Path, dst: Path) -> None:
    """``src`` copied to ``dst`` with owners and modes, without what ``not_copied`` names
    and without special files (sockets, fifos, devices)."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = set()
        for name in names:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            if not_copied(os.path.relpath(path, src)) or not (
                    stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                skip.add(name)
        return skip

    shutil.copytree(src, dst, symlinks=True, ignore=ignore)
    for top, dirs, files in os.walk(dst):
        for name in [".", *dirs, *files]:
            path = os.path.normpath(os.path.join(top, name))
            st = os.lstat(os.path.join(src, os.path.relpath(path, dst)))
            os.lchown(path, st.st_uid, st.st_gid)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.netns_hosts", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("up", help="make the hosts; prints their connection data as JSON")
    up.add_argument("--base", required=True, help="the run's directory (keys, host trees, state)")
    up.add_argument("--port", type=int, default=22, help="sshd's port in every host's netns")
    up.add_argument("names", nargs="+")
    down = sub.add_parser("down", help="remove the hosts recorded in --base")
    down.add_argument("--base", required=True)
    args = parser.parse_args(argv)
    try:
        if args.action == "up":
            hosts = NetnsHosts(args.base, args.names, port=args.port).up()
            print(json.dumps({"instances": hosts.instance_config(),
                              "hosts": {n: hosts.connection(n) for n in hosts.names}}, indent=2))
        else:
            NetnsHosts(args.base).down()
    except NetnsHostError as e:
        print(f"netns_hosts {args.action}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
