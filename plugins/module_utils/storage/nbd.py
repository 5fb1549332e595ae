"""Exporting volumes over NBD with qemu-storage-daemon, one daemon per attachment.

Each attachment gets its own export name (``volume-<volume id>-<attachment id>``), its
own TCP port on the storage host's address and its own allow-list of initiator
addresses, enforced with one nftables table (``inet stratus_nbd``) written atomically.
The daemon runs detached (``--daemonize``, no systemd); what was started is kept as a
JSON state file per export under ``state_dir``, so a re-run finds it, checks that the
process is still that export's daemon, and changes nothing when all matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    InUse,
    InvalidRequest,
    StorageError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import (
    check_id,
    volume_name,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import Runner

DEFAULT_STATE_DIR = "/var/lib/stratus/exports"
DEFAULT_BINARY = "/usr/bin/qemu-storage-daemon"
NFT_TABLE = "stratus_nbd"
PORT_RANGE = (10809, 10999)


def export_name(volume_id: str, attachment_id: str) -> str:
    """The export's NBD name, state file name and nft comment: both ids validated."""
    return f"{volume_name(volume_id)}-{check_id(attachment_id, 'attachment id')}"


def allowed_entry(value) -> str:
    """One initiator of an export's allow-list: an address or a prefix, canonical, without
    a scope id; anything else (commas, spaces, rule text) is refused."""
    text = str(value if value is not None else "")
    if "/" in text:
        return validate.ip_network(text, what="allowed entry", error=InvalidRequest)
    return validate.ip_address(text, what="allowed entry", error=InvalidRequest)


def check_export(exp: Export) -> Export:
    """The export with every field that reaches qemu-storage-daemon's command line or the
    nftables rules validated; refuses an empty allow-list (exports fail closed)."""
    if not exp.allowed:
        raise InvalidRequest(
            f"export {exp.name} has no 'allowed' initiator addresses; exports fail closed: "
            "list the compute host addresses (or prefixes) that may connect"
        )
    if exp.name != export_name(exp.volume_id, exp.attachment_id):
        raise InvalidRequest(f"export name {exp.name!r} is not volume-<volume id>-<attachment id>")
    if not 0 <= int(exp.port) <= 65535:
        raise InvalidRequest(f"port {exp.port} of export {exp.name} is not a TCP port (1-65535)")
    if exp.netns:
        check_id(exp.netns, "netns")
    return replace(
        exp,
        host=validate.ip_address(exp.host, what="host", error=InvalidRequest),
        allowed=tuple(sorted({allowed_entry(a) for a in exp.allowed})),
    )


DAEMON_ENV = ("env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C")


def _qemu_opt(value: str) -> str:
    """QEMU option syntax: a comma inside a value is written twice."""
    return value.replace(",", ",,")


@dataclass(frozen=True)
class Export:
    name: str
    volume_id: str
    attachment_id: str
    path: str
    host: str
    port: int = 0
    format: str = "raw"
    allowed: tuple[str, ...] = ()
    multiattach: bool = False
    netns: str = ""
    pid: int = 0
    running: bool = field(default=False, compare=False)

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"nbd://{host}:{self.port}/{self.name}"

    def connection(self) -> dict:
        """What a compute host needs to attach it (Cinder's connection_info.data)."""
        return {
            "driver_volume_type": "nbd",
            "host": self.host,
            "port": self.port,
            "name": self.name,
            "format": "raw",  # the daemon exports the guest-visible data, whatever the file format
        }

    def facts(self) -> dict:
        data = asdict(self)
        data["allowed"] = list(self.allowed)
        data["uri"] = self.uri
        data["connection"] = self.connection()
        return data

    def same_daemon(self, other: Export) -> bool:
        """Whether ``other`` can be served by this export's running daemon unchanged."""
        keys = ("name", "path", "host", "format", "multiattach", "netns")
        if any(getattr(self, k) != getattr(other, k) for k in keys):
            return False
        return not other.port or other.port == self.port


class NftAllowList:
    """Per-port allow-lists of source addresses as one nftables table, applied atomically."""

    def __init__(self, run: Runner, table: str = NFT_TABLE) -> None:
        self.run = run
        self.table = table

    def render(self, exports: list[Export]) -> str:
        rules = []
        for exp in sorted(exports, key=lambda e: e.port):
            # An export without an allow-list gets only the reject (fail closed).
            v4 = sorted(a for a in exp.allowed if ":" not in a)
            v6 = sorted(a for a in exp.allowed if ":" in a)
            if v4:
                rules.append(f"tcp dport {exp.port} ip saddr {{ {', '.join(v4)} }} accept")
            if v6:
                rules.append(f"tcp dport {exp.port} ip6 saddr {{ {', '.join(v6)} }} accept")
            rules.append(f'tcp dport {exp.port} reject with tcp reset comment "{exp.name}"')
        body = "\n".join(f"    {r}" for r in rules)
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        return (
            f"table inet {self.table} {{\n"
            f'  comment "stratus:{digest}"\n'
            "  chain input {\n"
            "    type filter hook input priority filter; policy accept;\n"
            f"{body}\n"
            "  }\n}\n"
        )

    def current_digest(self) -> str | None:
        """The table's ``stratus:<digest>`` comment; None when the table is absent.

        Read from the text listing: nft 1.0.6's JSON output leaves table comments out."""
        try:
            text = self.run(["nft", "list", "table", "inet", self.table])
        except CommandFailed:
            return None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith('comment "stratus:'):
                return line.split('"')[1]
        return ""

    @staticmethod
    def digest_of(ruleset: str) -> str:
        return ruleset.split('comment "', 1)[1].split('"', 1)[0]

    def in_sync(self, exports: list[Export]) -> bool:
        wanted = list(exports)
        current = self.current_digest()
        if not wanted:
            return current is None
        return current == self.digest_of(self.render(wanted))

    def apply(self, exports: list[Export]) -> None:
        wanted = list(exports)
        text = f"table inet {self.table}\ndelete table inet {self.table}\n"
        if wanted:
            text += self.render(wanted)
        with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as fh:
            fh.write(text)
        try:
            self.run(["nft", "-f", fh.name])
        finally:
            os.unlink(fh.name)


class NBDExporter:
    """qemu-storage-daemon NBD exports of volumes, one daemon and one port per attachment."""

    def __init__(
        self,
        run: Runner,
        state_dir: str = DEFAULT_STATE_DIR,
        *,
        netns: str = "",
        binary: str = DEFAULT_BINARY,
        port_range: tuple[int, int] = PORT_RANGE,
    ) -> None:
        self.netns = netns
        prefix = ["ip", "netns", "exec", netns] if netns else []
        self._run = run
        self.run = (lambda argv: run([*prefix, *argv])) if netns else run
        self.state_dir = state_dir
        self.binary = binary
        self.port_range = port_range
        self.nft = NftAllowList(self.run)

    # state ---------------------------------------------------------------
    def _state(self, name: str) -> str:
        return self._file(f"{name}.json")

    def _pidfile(self, name: str) -> str:
        return self._file(f"{name}.pid")

    def _file(self, entry: str) -> str:
        validate.path_under(self.state_dir, entry, what="export state file", error=InvalidRequest)
        return os.path.join(self.state_dir, entry)

    def _alive(self, exp: Export) -> bool:
        try:
            with open(f"/proc/{exp.pid}/cmdline", "rb") as fh:
                cmdline = fh.read().split(b"\0")
        except OSError:
            return False
        return (
            bool(cmdline)
            and os.path.basename(cmdline[0].decode()) == os.path.basename(self.binary)
            and any(exp.name.encode() in part for part in cmdline)
        )

    def get(self, name: str) -> Export | None:
        try:
            with open(self._state(name), encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return None
        data["allowed"] = tuple(data.get("allowed", ()))
        data.pop("running", None)
        exp = Export(**data)
        return replace(exp, running=self._alive(exp))

    def list(self) -> list[Export]:
        if not os.path.isdir(self.state_dir):
            return []
        out = []
        for entry in sorted(os.listdir(self.state_dir)):
            if entry.endswith(".json"):
                exp = self.get(entry[: -len(".json")])
                if exp:
                    out.append(exp)
        return out

    def here(self) -> list[Export]:
        """The exports of this exporter's network namespace: its firewall table holds
        their rules only (the state directory may hold other namespaces' exports)."""
        return [e for e in self.list() if e.netns == self.netns]

    def exports_of(self, volume_id: str) -> list[Export]:
        return [e for e in self.list() if e.volume_id == volume_id]

    # planning (no side effects: check mode uses these) ----------------------------
    def plan(self, wanted: Export) -> tuple[bool, bool, Export]:
        """(restart the daemon?, rewrite the allow-list?, the export as it will be);
        ``wanted`` is validated first (``check_export``)."""
        wanted = check_export(wanted)
        current = self.get(wanted.name)
        others = [e for e in self.exports_of(wanted.volume_id) if e.name != wanted.name]
        if others and not (wanted.multiattach and all(e.multiattach for e in others)):
            raise InUse(
                f"volume {wanted.volume_id} is already exported for attachment(s) "
                f"{', '.join(e.attachment_id for e in others)} and is not multiattach; "
                "detach it first or flag the volume multiattach"
            )
        if current and current.running and current.same_daemon(wanted):
            after = replace(current, allowed=wanted.allowed)
            exports = [after if e.name == after.name else e for e in self.here()]
            return False, not self.nft.in_sync(exports), after
        port = wanted.port or self._free_port(exclude=wanted.name)
        return True, True, replace(wanted, port=port, running=True)

    def _free_port(self, exclude: str) -> int:
        used = {e.port for e in self.list() if e.name != exclude and e.running}
        for port in range(self.port_range[0], self.port_range[1] + 1):
            if port not in used:
                return port
        raise StorageError(f"no free NBD port in {self.port_range[0]}-{self.port_range[1]}")

    # actions -------------------------------------------------------------
    def ensure(self, wanted: Export) -> tuple[bool, Export | None, Export]:
        """Make the export exist as asked; (changed, before, after)."""
        before = self.get(wanted.name)
        restart, rewrite, after = self.plan(wanted)
        if restart:
            if before and before.running:
                self._stop(before)
            after = self._start(after)
        if restart or rewrite or (before and before.allowed != after.allowed):
            self._save(after)
            self.nft.apply([after if e.name == after.name else e for e in self.here()])
        return restart or rewrite or before != after, before, after

    def remove(self, name: str) -> tuple[bool, Export | None]:
        before = self.get(name)
        if before is None:
            return False, None
        if before.running:
            self._stop(before)
        for path in (self._state(name), self._pidfile(name)):
            if os.path.exists(path):
                os.unlink(path)
        self.nft.apply(self.here())
        return True, before

    def _save(self, exp: Export) -> None:
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        data = asdict(exp)
        data.pop("running")
        tmp = self._state(exp.name) + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True)
        os.replace(tmp, self._state(exp.name))

    def daemon_argv(self, exp: Export) -> list[str]:
        try:
            block = stat.S_ISBLK(os.stat(exp.path).st_mode)
        except OSError:
            block = exp.path.startswith("/dev/")
        proto = "host_device" if block else "file"
        file_opts = f"driver={proto},node-name=file0,filename={_qemu_opt(exp.path)}"
        if exp.multiattach:
            file_opts += ",locking=off"
        argv = [self.binary, "--blockdev", file_opts]
        node = "file0"
        if exp.format == "qcow2":
            argv += ["--blockdev", "driver=qcow2,node-name=fmt0,file=file0"]
            node = "fmt0"
        elif exp.format != "raw":
            raise InvalidRequest(f"cannot export format {exp.format!r}")
        argv += [
            "--nbd-server",
            f"addr.type=inet,addr.host={exp.host},addr.port={exp.port}",
            "--export",
            f"type=nbd,id=export0,node-name={node},name={_qemu_opt(exp.name)},writable=on",
            "--pidfile",
            self._pidfile(exp.name),
            "--daemonize",
        ]
        return argv

    def _start(self, exp: Export) -> Export:
        if not os.path.exists(exp.path):
            raise InvalidRequest(f"volume {exp.volume_id} has no data at {exp.path} on this host")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        # the daemon outlives the task (and the job) that starts it: it gets a clean
        # environment, not the run's, whose markers a job runner uses to stop what the
        # run left behind (the controller's runner kills every process carrying its run id)
        self.run([*DAEMON_ENV, *self.daemon_argv(exp)])
        with open(self._pidfile(exp.name), encoding="utf-8") as fh:
            pid = int(fh.read().strip())
        return replace(exp, pid=pid, running=True)

    def _stop(self, exp: Export, timeout: float = 10.0) -> None:
        if not self._alive(exp):
            return
        os.kill(exp.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._alive(exp):
            if time.monotonic() > deadline:
                os.kill(exp.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
