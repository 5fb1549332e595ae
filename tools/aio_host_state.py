#!/usr/bin/python3
"""What of Stratus is on this host: the all-in-one's before/after checker.

    python3 tools/aio_host_state.py snapshot [--out FILE]   # JSON of the host's Stratus state
    python3 tools/aio_host_state.py check BEFORE.json        # what is here now and was not then

A snapshot names, per kind, the things a Stratus deployment makes on a host: libvirt
domains, network links (bridges, VXLAN, veths, taps), network namespaces, LVM volume
groups and LVs, loop devices (by backing file), nftables tables, processes (by argv:
the controller, Swift, memcached, rsync, libvirtd/virtlogd, dnsmasq, QEMU, NBD export
daemons, metadata relays), files and directories (the roles' paths, one level deep),
system users, sysctls the network role sets, and the clouds in clouds.yaml. Kinds hold
strings, so comparing two snapshots is set arithmetic: ``leftovers(before, after)`` is
what ``after`` holds that ``before`` did not, and a changed sysctl shows as its new value.

`make aio` writes the first snapshot (before any role ran) to BASELINE; `make aio-clean`
restores what it can from it (sysctls, libvirt daemons it did not find running, the
swift user) and removes it; the aio test and bench/aio.py compare a snapshot taken before
`make aio` with one taken after `make aio-clean`. Standard library only: the playbooks
run it with the host's python3. It never starts anything (libvirt domains are read only
when libvirtd's socket is there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

BASELINE = "/var/lib/stratus-aio/host-before.json"

# Directories the roles and the all-in-one make; their entries one level deep are listed.
DIRECTORIES = (
    "/etc/stratus", "/var/lib/stratus", "/var/log/stratus", "/run/stratus",
    "/etc/swift", "/srv/node", "/var/cache/swift", "/var/lib/swift", "/var/log/swift", "/run/swift",
    "/opt/stratus", "/var/lib/stratus-aio",
)
# Directories listed two levels deep (instances, images, DHCP, relays, runs, volumes, exports).
DEEP = ("/var/lib/stratus",)
# Single files the roles write outside those directories.
FILES = (
    "/etc/sysctl.d/60-stratus-network.conf", "/etc/modules-load.d/stratus-network.conf",
    "/etc/systemd/system/stratus-controller.service",
)
# Directories whose stratus* entries are ours (systemd units of every role).
PREFIXED = (("/etc/systemd/system", "stratus"),)
SYSCTLS = (
    "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding",
    "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
)
USERS = ("swift",)
CLOUDS = ("stratus", "stratus-admin")
# A process is ours when its program is one of these ...
PROGRAMS = {"libvirtd", "virtlogd", "memcached", "dnsmasq", "qemu-system-x86_64", "qemu-storage-daemon", "qemu-nbd"}
# ... or its argv names one of these paths or commands.
ARGV_MARKS = ("/etc/stratus/", "/var/lib/stratus/", "/etc/swift/", "/run/swift/", "/run/stratus/",
              "stratus serve", "bin/swift-")


def _run(argv: list[str]) -> str | None:
    """A read-only command's stdout, or None when it is missing or fails."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1", LC_ALL="C"))
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _json(argv: list[str]):
    out = _run(argv)
    if not out or not out.strip():
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


def domains() -> list[str]:
    if not os.path.exists("/run/libvirt/libvirt-sock"):
        return []
    out = _run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"])
    return sorted(line.strip() for line in (out or "").splitlines() if line.strip())


def links() -> list[str]:
    return sorted({link["ifname"] for link in _json(["ip", "-j", "link", "show"]) or []})


def namespaces() -> list[str]:
    return sorted({ns["name"] for ns in _json(["ip", "-j", "netns", "list"]) or []})


def lvm() -> list[str]:
    """Volume groups and LVs (read without device-mapper: --driverloaded n)."""
    found = set()
    for kind, argv in (("vg", ["vgs", "--driverloaded", "n", "--noheadings", "-o", "vg_name"]),
                       ("lv", ["lvs", "--driverloaded", "n", "--noheadings", "-o", "vg_name,lv_name"])):
        for line in (_run(argv) or "").splitlines():
            if line.strip():
                found.add(f"{kind} {'/'.join(line.split())}")
    return sorted(found)


def loops() -> list[str]:
    data = _json(["losetup", "--json", "--list", "--output", "NAME,BACK-FILE"]) or {}
    return sorted({f"{d.get('back-file') or '?'}" for d in data.get("loopdevices", [])})


def nft_tables() -> list[str]:
    data = _json(["nft", "-j", "list", "tables"]) or {}
    return sorted({f"{t['table']['family']} {t['table']['name']}" for t in data.get("nftables", []) if "table" in t})


def _is_ours(argv: list[str]) -> bool:
    if not argv:
        return False
    if os.path.basename(argv[0]) in PROGRAMS:
        return True
    line = " ".join(argv)
    return any(mark in line for mark in ARGV_MARKS)


def _of_this_host(entry: Path) -> bool:
    """Whether the process runs in this PID namespace: one in another (a container, a
    namespace "host" of the multi-host tests) belongs to another host, whatever it names."""
    try:
        return os.readlink(entry / "ns" / "pid") == os.readlink("/proc/self/ns/pid")
    except OSError:
        return False


def processes() -> list[str]:
    """Our processes by argv (pids change; what runs is what counts). Threads and kernel
    threads have no cmdline; this process and its parent (a shell, a playbook) are left out,
    and so are other hosts' (_of_this_host)."""
    me = {os.getpid(), os.getppid()}
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in me or not _of_this_host(entry):
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        argv = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
        if _is_ours(argv) and "aio_host_state.py" not in " ".join(argv):
            found.add(" ".join(argv))
    return sorted(found)


def files() -> list[str]:
    found = set()
    for root in DIRECTORIES:
        path = Path(root)
        if path.is_dir():
            found.add(root + "/")
            with contextlib.suppress(OSError):
                for child in path.iterdir():
                    found.add(str(child))
                    if root in DEEP and child.is_dir() and not child.is_symlink():
                        found.update(str(grandchild) for grandchild in child.iterdir())
    found.discard(BASELINE)
    found.update(f for f in FILES if os.path.lexists(f))
    for root, prefix in PREFIXED:
        with contextlib.suppress(OSError):
            found.update(str(p) for p in Path(root).glob(prefix + "*"))
    return sorted(found)


def users() -> list[str]:
    found = []
    for name in USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        found.append(name)
    return found


def sysctls() -> list[str]:
    found = []
    for key in SYSCTLS:
        try:
            value = Path("/proc/sys", key.replace(".", "/")).read_text().strip()
        except OSError:
            continue
        found.append(f"{key}={value}")
    return found


def clouds(clouds_yaml: str | None = None) -> list[str]:
    """The clouds of ours in clouds.yaml (a line scan: the standard library has no YAML)."""
    path = Path(clouds_yaml or Path.home() / ".config/openstack/clouds.yaml")
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return sorted({line.strip().rstrip(":") for line in lines
                   if line.startswith("  ") and not line.startswith("   ") and line.strip().rstrip(":") in CLOUDS})


KINDS = {
    "domains": domains, "links": links, "namespaces": namespaces, "lvm": lvm, "loops": loops,
    "nft_tables": nft_tables, "processes": processes, "files": files, "users": users,
    "sysctls": sysctls, "clouds": clouds,
}


def snapshot() -> dict[str, list[str]]:
    """Every kind's things on this host now."""
    return {kind: read() for kind, read in KINDS.items()}


def leftovers(before: dict, after: dict) -> dict[str, list[str]]:
    """What ``after`` holds that ``before`` did not, per kind (kinds with nothing left out)."""
    out = {}
    for kind, things in after.items():
        extra = sorted(set(things) - set(before.get(kind, [])))
        if extra:
            out[kind] = extra
    return out


# What restore may remove. Other Stratus deployments and tests may run on the same host
# (their bridges, namespaces and domains look the same), so restore removes only what the
# all-in-one owns: host objects named from its own cloud's ids (cloud_names), the
# all-in-one's own links, processes that name its paths or whose pid is in its pid files,
# and the roles' files.
AIO_LINKS = ("stratus-ex", "stratus-exh")
AIO_PROCESS_MARKS = ("/etc/stratus/", "/var/lib/stratus/", "/etc/swift/", "/run/swift/", "/run/stratus/")
AIO_PID_FILES = ("/run/swift/*.pid", "/run/stratus/*.pid", "/run/libvirtd.pid", "/run/virtlogd.pid")
SWEPT_TABLES = ("stratus",)
# the all-in-one inventory's volume group (block_storage_vg, the role's default); a loop
# device is the all-in-one's when its backing file lies in the roles' directories
AIO_VGS = ("stratus-volumes",)
LVM_CONF_DIR = "/etc/stratus/lvm"


def _do(argv: list[str], done: list[str], failed: list[str], env: dict | None = None) -> bool:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        failed.append(f"{' '.join(argv)}: {exc}")
        return False
    if proc.returncode != 0:
        failed.append(f"{' '.join(argv)}: rc {proc.returncode}: {proc.stderr.strip()[-300:]}")
        return False
    done.append(" ".join(argv))
    return True


def _kill(argv_lines: set[str], done: list[str], failed: list[str]) -> None:
    """TERM the processes whose argv is one of ``argv_lines``, KILL those left after 15 s."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not _of_this_host(entry):
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p) in argv_lines:
            pids.append(int(entry.name))
    for pid in pids:
        try:
            os.kill(pid, 15)
            done.append(f"kill -TERM {pid}")
        except OSError:
            pass
    deadline = time.monotonic() + 15
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        time.sleep(0.2)
    for pid in pids:
        try:
            os.kill(pid, 9)
            done.append(f"kill -KILL {pid}")
        except OSError as exc:
            failed.append(f"kill -KILL {pid}: {exc}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _ours_path(path: str) -> bool:
    return (path in FILES or any(path == d + "/" or path.startswith(d + "/") for d in DIRECTORIES)
            or any(path.startswith(f"{root}/{prefix}") for root, prefix in PREFIXED))


def cloud_names(ids: dict) -> dict[str, set[str]]:
    """The host objects' names of a cloud's resources, as Nova and Neutron name them:
    ``ids`` {servers, networks, routers, ports: [id], segments: [VXLAN id]}."""
    ports = [p[:11] for p in ids.get("ports", [])]
    return {
        "domains": {f"instance-{i}" for i in ids.get("servers", [])},
        "namespaces": {f"qdhcp-{i}" for i in ids.get("networks", [])} | {f"qrouter-{i}" for i in ids.get("routers", [])},
        "links": ({f"brq{i[:11]}" for i in ids.get("networks", [])} | {f"vxlan-{i}" for i in ids.get("segments", [])}
                  | {f"{prefix}{p}" for p in ports for prefix in ("tap", "qr-", "qg-", "ns-")} | set(AIO_LINKS)),
    }


def _aio_pids() -> set[int]:
    pids = set()
    for pattern in AIO_PID_FILES:
        for pidfile in Path("/").glob(pattern.lstrip("/")):
            with contextlib.suppress(OSError, ValueError):
                pids.add(int(pidfile.read_text().split()[0]))
    return pids


def _aio_processes(argv_lines: list[str]) -> set[str]:
    """Of these leftover processes, the all-in-one's: naming its paths, or in its pid files."""
    owned = {line for line in argv_lines if any(mark in line for mark in AIO_PROCESS_MARKS)}
    for pid in _aio_pids():
        with contextlib.suppress(OSError):
            line = " ".join(p.decode(errors="replace") for p in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if p)
            if line in argv_lines:
                owned.add(line)
    return owned


def _mount_points() -> set[str]:
    """Every mount point of every mount namespace on the machine: a directory that another
    namespace mounts on (a namespace "host" of the multi-host tests) is not removed, since
    removing it would unmount it there."""
    seen, points = set(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ns = os.readlink(entry / "ns" / "mnt")
            if ns in seen:
                continue
            seen.add(ns)
            lines = (entry / "mountinfo").read_text().splitlines()
        except OSError:
            continue
        points.update(line.split()[4] for line in lines if len(line.split()) > 4)
    return points


def _holds_a_mount(path: str, points: set[str]) -> bool:
    path = path.rstrip("/")
    return any(point == path or point.startswith(path + "/") for point in points)


def _remove_files(paths: list[str], done: list[str], failed: list[str]) -> None:
    """Remove these files and directories, deepest first, but none that holds a mount point
    of any mount namespace (_mount_points)."""
    points = _mount_points()
    for path in sorted(paths, key=len, reverse=True):
        if os.path.lexists(path.rstrip("/")) and not _holds_a_mount(path, points):
            _do(["rm", "-rf", "--one-file-system", path.rstrip("/")], done, failed)


def restore(before: dict, ids: dict | None = None) -> dict:
    """Remove what of the all-in-one's is on the host now and was not in ``before`` (its
    cloud's host objects by ``ids``, see cloud_names; its processes; the roles' files),
    put changed sysctls back; ``{changed, done, failed}``."""
    left = leftovers(before, snapshot())
    names = cloud_names(ids or {})
    done: list[str] = []
    failed: list[str] = []
    for name in left.get("domains", []):
        if name in names["domains"]:
            _do(["virsh", "-c", "qemu:///system", "destroy", name], [], [])
            _do(["virsh", "-c", "qemu:///system", "undefine", "--nvram", name], done, failed)
    for name in left.get("namespaces", []):
        if name in names["namespaces"]:
            for pid in (_run(["ip", "netns", "pids", name]) or "").split():
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid), 9)
            _do(["ip", "netns", "delete", name], done, failed)
    _kill(_aio_processes(left.get("processes", [])), done, failed)
    for name in left.get("links", []):
        if name in names["links"] and name in links():
            _do(["ip", "link", "delete", name], done, failed)
    for table in left.get("nft_tables", []):
        family, name = table.split(" ", 1)
        if name.startswith(SWEPT_TABLES):
            _do(["nft", "delete", "table", family, name], done, failed)
    lvm_env = dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1")
    if os.path.exists(os.path.join(LVM_CONF_DIR, "lvm.conf")):
        lvm_env["LVM_SYSTEM_DIR"] = LVM_CONF_DIR
    for thing in left.get("lvm", []):
        kind, name = thing.split(" ", 1)
        if kind == "vg" and name in AIO_VGS:
            _do(["vgremove", "--force", "--force", "--yes", name], done, failed, env=lvm_env)
    for back_file in [f for f in left.get("loops", []) if _ours_path(f)]:
        for device in (_run(["losetup", "--noheadings", "--output", "NAME", "--associated", back_file]) or "").split():
            _do(["losetup", "--detach", device], done, failed)
    _remove_files([path for path in left.get("files", []) if _ours_path(path)], done, failed)
    for name in left.get("users", []):
        _do(["userdel", name], done, failed)
    wanted = dict(item.split("=", 1) for item in before.get("sysctls", []))
    for item in left.get("sysctls", []):
        key = item.split("=", 1)[0]
        if key in wanted:
            _do(["sysctl", "-q", "-w", f"{key}={wanted[key]}"], done, failed)
    return {"changed": bool(done), "done": done, "failed": failed}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="print (or write) this host's Stratus state as JSON")
    snap.add_argument("--out", help="write it to this file (its directory is made)")
    snap.add_argument("--keep", action="store_true", help="with --out: keep an existing file")
    check = sub.add_parser("check", help="what is on the host now that BEFORE did not have (rc 1 when any)")
    check.add_argument("before", help="a snapshot's JSON file")
    rest = sub.add_parser("restore", help="remove what BEFORE did not have (Stratus's names only); JSON out")
    rest.add_argument("before", help="a snapshot's JSON file")
    rest.add_argument("--cloud-ids", help="JSON {servers, networks, routers, ports, segments}: the cloud's ids")
    files = sub.add_parser("remove-files", help="remove these paths, none holding a mount point; JSON out")
    files.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "remove-files":
        done: list[str] = []
        failed: list[str] = []
        _remove_files(args.paths, done, failed)
        print(json.dumps({"changed": bool(done), "done": done, "failed": failed}, indent=2))
        return 1 if failed else 0
    if args.command == "restore":
        ids = {}
        if args.cloud_ids and os.path.exists(args.cloud_ids):
            with open(args.cloud_ids) as fh:
                ids = json.load(fh)
        with open(args.before) as fh:
            result = restore(json.load(fh), ids)
        print(json.dumps(result, indent=2))
        return 1 if result["failed"] else 0
    if args.command == "snapshot":
        if args.out and args.keep and os.path.exists(args.out):
            print(json.dumps({"changed": False, "path": args.out}))
            return 0
        state = snapshot()
        if not args.out:
            print(json.dumps(state, indent=2))
            return 0
        os.makedirs(os.path.dirname(args.out) or ".", mode=0o700, exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(state, fh, indent=2)
        print(json.dumps({"changed": True, "path": args.out}))
        return 0
    with open(args.before) as fh:
        left = leftovers(json.load(fh), snapshot())
    print(json.dumps(left, indent=2))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
