"""The metadata relay of one network: how a guest reaches the controller, as Neutron's
isolated metadata proxy does.

A small process listens on ``169.254.169.254:80`` *inside* the network's DHCP namespace
(``qdhcp-<network id>``; the address sits on the namespace's ``lo``) and relays each
HTTP request to the controller's URL from the host's own namespace: it binds its
listening socket after entering the namespace (``setns``) and returns to the host's
namespace before it connects anywhere, so one process bridges the two without a unix
socket. To each request it adds what the controller needs to know who asks:
``X-Forwarded-For`` (the guest's address), ``X-Stratus-Network-Id`` and
``X-Stratus-Relay-Ticket`` (the controller's ticket for this network), dropping any such
headers the guest sent. The guest routes 169.254.169.254 to the DHCP port (DHCP option
121, which the network's DHCP server hands out with the relay on).

:class:`MetadataRelay` starts it (a pid file and the config it runs with under
``state_dir/<network id>/``), keeps it when it runs with the same config, restarts it
when the config changed, and stops it. The relay also exits by itself once the
namespace is deleted (a network removed without the relay's own absent task).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    CommandFailed,
    NetError,
    netns_exec,
)

ADDRESS = "169.254.169.254"
# The relay outlives the Ansible run that starts it: it takes nothing of the run's
# environment (the controller stops whatever carries its run's mark when the run ends).
DAEMON_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
PORT = 80
DHCP_NS_PREFIX = "qdhcp-"

# The relay program (standard library only), written next to its config and run as
# ``python3 relay.py relay.json``.
PROGRAM = r'''
import ctypes, json, os, socket, sys, threading
from urllib.parse import urlsplit

CLONE_NEWNET = 0x40000000
DROP = {"x-forwarded-for", "x-stratus-network-id", "x-stratus-relay-ticket", "connection",
        "keep-alive", "proxy-connection"}


def listen_in(namespace, address, port):
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    theirs = os.open("/run/netns/" + namespace, os.O_RDONLY)
    if libc.setns(theirs, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns into " + namespace)
    try:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((address, port))
        srv.listen(64)
    finally:
        if libc.setns(own, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(own)
        os.close(theirs)
    return srv


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def handle(conn, peer, cfg, target):
    up = None
    try:
        conn.settimeout(30)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk or len(buf) > 65536:
                return
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        out = [lines[0]]
        out += [h for h in lines[1:] if h.split(":", 1)[0].strip().lower() not in DROP]
        out += ["X-Forwarded-For: " + peer, "X-Stratus-Network-Id: " + cfg["network_id"],
                "X-Stratus-Relay-Ticket: " + cfg["ticket"], "Connection: close"]
        up = socket.create_connection((target.hostname, target.port or 80), timeout=30)
        up.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + rest)
        t = threading.Thread(target=pump, args=(conn, up), daemon=True)
        t.start()
        pump(up, conn)
    except OSError:
        pass
    finally:
        for s in (conn, up):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


def watch(namespace):
    """Exit once the namespace is deleted (the network's DHCP server removed), so the
    listening socket does not keep the dead namespace alive."""
    import time
    while os.path.exists("/run/netns/" + namespace):
        time.sleep(2)
    os._exit(0)


def main():
    cfg = json.load(open(sys.argv[1]))
    target = urlsplit(cfg["target"])
    srv = listen_in(cfg["namespace"], cfg["address"], cfg["port"])
    with open(cfg["pidfile"] + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.rename(cfg["pidfile"] + ".tmp", cfg["pidfile"])
    threading.Thread(target=watch, args=(cfg["namespace"],), daemon=True).start()
    while True:
        conn, addr = srv.accept()
        threading.Thread(target=handle, args=(conn, addr[0], cfg, target), daemon=True).start()


main()
'''


class RelayError(NetError):
    """The relay could not be started or stopped."""


class RelayFailed(CommandFailed, RelayError):
    """A command the relay needs failed (its argv, rc and stderr)."""


class MetadataRelay:
    """The relay of ``network_id``; ``run(argv) -> (rc, out, err)`` runs commands."""

    def __init__(self, run, network_id: str, state_dir: str, python: str | None = None) -> None:
        self.run = run
        self.network_id = network_id
        self.namespace = DHCP_NS_PREFIX + network_id
        self.dir = os.path.join(state_dir, network_id)
        self.python = python or sys.executable or "python3"

    @property
    def pidfile(self) -> str:
        return os.path.join(self.dir, "pid")

    @property
    def config_file(self) -> str:
        return os.path.join(self.dir, "relay.json")

    def config(self, target: str, ticket: str, address: str = ADDRESS, port: int = PORT) -> dict:
        return {"network_id": self.network_id, "namespace": self.namespace, "target": target.rstrip("/"),
                "ticket": ticket, "address": address, "port": int(port), "pidfile": self.pidfile}

    # -- reads -------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The running relay's pid (None when it does not run)."""
        try:
            with open(self.pidfile) as fh:
                pid = int(fh.read().strip())
        except (OSError, ValueError):
            return None
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().split(b"\0")
        except OSError:
            return None
        return pid if self.config_file.encode() in cmdline else None

    def current(self) -> dict | None:
        try:
            return json.load(open(self.config_file))
        except (OSError, ValueError):
            return None

    def namespace_exists(self) -> bool:
        return os.path.exists(f"/run/netns/{self.namespace}")

    # -- writes ------------------------------------------------------------------------
    def ensure_present(self, target: str, ticket: str, check_mode: bool = False) -> tuple[bool, dict]:
        """(changed, config): the relay runs with this config (started or restarted)."""
        wanted = self.config(target, ticket)
        if not self.namespace_exists():
            raise RelayError(f"the namespace {self.namespace} does not exist: the network's DHCP server "
                             "must run on this host first (stratus.cloud.dhcp)")
        running = self.pid()
        if running is not None and self.current() == wanted and self._has_address(wanted["address"]):
            return False, wanted
        if check_mode:
            return True, wanted
        if running is not None:
            self._stop(running)
        self._address(wanted["address"])
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "relay.py"), "w") as fh:
            fh.write(PROGRAM)
        with os.fdopen(os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            json.dump(wanted, fh)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pidfile)
        with open(os.path.join(self.dir, "relay.log"), "ab") as log:
            subprocess.Popen([self.python, os.path.join(self.dir, "relay.py"), self.config_file],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                             close_fds=True, env=DAEMON_ENV)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.pid() is not None:
                return True, wanted
            time.sleep(0.05)
        with open(os.path.join(self.dir, "relay.log"), errors="replace") as fh:
            tail = fh.read()[-1000:]
        raise RelayError(f"the metadata relay of {self.network_id} did not start: {tail or 'no output'}")

    def ensure_absent(self, check_mode: bool = False) -> bool:
        running = self.pid()
        present = running is not None or os.path.isdir(self.dir)
        if check_mode or not present:
            return present
        if running is not None:
            self._stop(running)
        for name in ("relay.py", "relay.json", "pid", "relay.log"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.dir, name))
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)
        return True

    def _stop(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)

    def _has_address(self, address: str) -> bool:
        rc, out, _ = self.run(netns_exec(["ip", "-4", "-o", "addr", "show", "dev", "lo"], self.namespace))
        return rc == 0 and f" {address}/32 " in out

    def _address(self, address: str) -> None:
        argv = netns_exec(["ip", "addr", "replace", f"{address}/32", "dev", "lo"], self.namespace)
        rc, out, err = self.run(argv)
        if rc != 0:
            raise RelayFailed(argv, rc, err, out)
        argv = netns_exec(["ip", "link", "set", "lo", "up"], self.namespace)
        rc, out, err = self.run(argv)
        if rc != 0:
            raise RelayFailed(argv, rc, err, out)
