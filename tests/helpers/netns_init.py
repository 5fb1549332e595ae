"""PID 1 of a namespace host (see tests/helpers/netns_hosts.py and molecule/multihost/DESIGN.md).

Run as ``unshare --mount --pid --fork --mount-proc --uts --ipc python3 netns_init.py SPEC``
inside the host's network namespace. SPEC is a JSON file:

    {"hostname": "cmp1",
     "binds": [["/base/cmp1/fs/etc", "/etc"], ...],   # mounted in this order
     "tmpfs": ["/run"],                                 # mounted after the binds
     "dirs": [["/run/sshd", "0755"]],                   # made after the mounts
     "command": ["/usr/sbin/sshd", "-D", "-e", "-f", "..."],
     "log": "/base/cmp1/sshd.log",
     "stop_timeout": 15}

It makes the mounts (private to this mount namespace), sets the hostname, starts the
command (sshd) and reaps every process that ends in the namespace: daemons started over
SSH reparent to it. On SIGTERM or SIGINT it sends SIGTERM to every process of the PID
namespace, waits up to ``stop_timeout`` seconds, SIGKILLs what is left and exits (the
kernel kills anything still there when a PID namespace's init exits). If a mount fails
it prints why and exits 1 before starting anything. Standard library only: it runs
with the machine's /usr/bin/python3.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time


def _mount(argv: list[str]) -> None:
    proc = subprocess.run(["mount", *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise OSError(f"mount {' '.join(argv)} failed (rc {proc.returncode}): {proc.stderr.strip()}")


def prepare(spec: dict) -> None:
    """The host's mounts, directories and hostname (this process's namespaces only)."""
    _mount(["--make-rprivate", "/"])
    for src, dst in spec.get("binds", []):
        _mount(["--bind", src, dst])
    for path in spec.get("tmpfs", []):
        _mount(["-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", path])
    for path, mode in spec.get("dirs", []):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, int(mode, 8))
    socket.sethostname(spec["hostname"])


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _others_alive() -> bool:
    me = str(os.getpid())
    return any(e.isdigit() and e != me for e in os.listdir("/proc"))


def shutdown(timeout: float) -> None:
    """SIGTERM to every process of the namespace, then SIGKILL after ``timeout``."""
    try:
        os.kill(-1, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap()
        if not _others_alive():
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    _reap()


def main(argv: list[str]) -> int:
    with open(argv[1]) as f:
        spec = json.load(f)
    try:
        prepare(spec)
    except OSError as e:
        print(f"netns_init {spec.get('hostname')}: {e}", file=sys.stderr, flush=True)
        return 1
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    with open(spec["log"], "ab") as log:
        subprocess.Popen(spec["command"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    while not stopping:
        _reap()
        time.sleep(1)
    shutdown(float(spec.get("stop_timeout", 15)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
