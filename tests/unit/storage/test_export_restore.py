"""restore_exports: recorded NBD exports whose daemon died come back on their port, a
second run changes nothing, check mode starts nothing. The "daemon" is a sleeping
python3 whose command line names the export (what ``NBDExporter`` checks in /proc); the
nft table is kept in memory."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    StorageError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.export_restore import (
    restore_exports,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import (
    Export,
    NBDExporter,
    export_name,
)

pytestmark = [pytest.mark.deploy, pytest.mark.block_storage]

DAEMON = "/usr/bin/python3"


class FakeHost:
    """qemu-storage-daemon (a python3 sleeping with the export's name in its argv) and
    nftables (the last applied table per namespace), as ``run(argv) -> stdout``."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.tables: dict[str, str] = {}
        self.procs: list[subprocess.Popen] = []

    def runner(self, netns: str):
        def run(argv: list[str]) -> str:
            self.calls.append([netns, *argv])
            if DAEMON in argv:
                args = argv[argv.index(DAEMON):]
                name = args[args.index("--export") + 1].split(",name=")[1].split(",")[0]
                proc = subprocess.Popen([DAEMON, "-c", "import time; time.sleep(120)", name])
                self.procs.append(proc)
                wait_for_exec(proc.pid)
                with open(args[args.index("--pidfile") + 1], "w") as fh:
                    fh.write(f"{proc.pid}\n")
                return ""
            if argv[:2] == ["nft", "-f"]:
                with open(argv[2]) as fh:
                    self.tables[netns] = fh.read()
                return ""
            if argv[:2] == ["nft", "list"]:
                if netns not in self.tables:
                    raise CommandFailed(argv, 1, "No such file or directory", "")
                return self.tables[netns]
            raise AssertionError(f"unexpected command {argv}")

        return run

    def starts(self) -> int:
        return sum(DAEMON in c for c in self.calls)

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


def wait_for_exec(pid: int) -> None:
    """Until /proc shows the new command line (a daemon that returns from --daemonize is
    past that point; a fresh child is not, for a moment)."""
    for _ in range(200):
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if fh.read():
                return
        time.sleep(0.01)


@pytest.fixture
def host():
    fake = FakeHost()
    yield fake
    fake.stop()


def record(state_dir, volume_path, *, attachment="a1", port=10811, netns="", pid=0) -> Export:
    exp = Export(name=export_name("v1", attachment), volume_id="v1", attachment_id=attachment,
                 path=str(volume_path), host="198.18.0.2", port=port, allowed=("198.18.0.1",),
                 multiattach=True, netns=netns, pid=pid)
    data = asdict(exp)
    data.pop("running")
    (state_dir / f"{exp.name}.json").write_text(json.dumps(data))
    return exp


def exporter_for(host, state_dir):
    return lambda netns: NBDExporter(host.runner(netns), str(state_dir), netns=netns, binary=DAEMON)


def test_a_dead_export_comes_back_on_its_port_and_a_second_run_changes_nothing(tmp_path, host):
    volume = tmp_path / "volume-v1"
    volume.write_bytes(b"data")
    state = tmp_path / "exports"
    state.mkdir()
    record(state, volume, pid=2**22 + 1)  # no such process: the daemon died with the host

    first = restore_exports(exporter_for(host, state), check=False)
    assert first.changed and host.starts() == 1
    assert first.before[export_name("v1", "a1")]["running"] is False
    after = first.after[export_name("v1", "a1")]
    assert (after["running"], after["port"], after["allowed"]) == (True, 10811, ["198.18.0.1"])
    assert "tcp dport 10811 ip saddr { 198.18.0.1 } accept" in host.tables[""]
    saved = json.loads((state / f"{export_name('v1', 'a1')}.json").read_text())
    assert saved["pid"] == host.procs[0].pid and saved["port"] == 10811

    second = restore_exports(exporter_for(host, state), check=False)
    assert not second.changed and second.actions == [] and host.starts() == 1
    assert second.before == second.after


def test_check_mode_reports_the_start_and_starts_nothing(tmp_path, host):
    volume = tmp_path / "volume-v1"
    volume.write_bytes(b"data")
    state = tmp_path / "exports"
    state.mkdir()
    record(state, volume, netns="storage1")
    outcome = restore_exports(exporter_for(host, state), check=True)
    assert outcome.changed and host.starts() == 0 and host.tables == {}
    assert outcome.actions == [f"start qemu-storage-daemon for {export_name('v1', 'a1')} on 198.18.0.2:10811"
                               " in network namespace storage1"]


def test_a_running_export_whose_table_is_gone_gets_its_table_back_without_a_restart(tmp_path, host):
    volume = tmp_path / "volume-v1"
    volume.write_bytes(b"data")
    state = tmp_path / "exports"
    state.mkdir()
    record(state, volume, attachment="a1", port=10811)
    record(state, volume, attachment="a2", port=10812)
    assert restore_exports(exporter_for(host, state), check=False).changed and host.starts() == 2
    del host.tables[""]  # a flushed ruleset

    outcome = restore_exports(exporter_for(host, state), check=False)
    assert outcome.changed and host.starts() == 2
    assert len(outcome.actions) == 1 and "allow-list" in outcome.actions[0]
    assert "dport 10811" in host.tables[""] and "dport 10812" in host.tables[""]


def test_an_export_whose_volume_is_gone_fails_naming_it_after_the_others_came_back(tmp_path, host):
    volume = tmp_path / "volume-v1"
    volume.write_bytes(b"data")
    state = tmp_path / "exports"
    state.mkdir()
    record(state, tmp_path / "missing-volume", attachment="a1")
    record(state, volume, attachment="a2", port=10812)
    with pytest.raises(StorageError, match=r"export volume-v1-a1 \(volume v1, attachment a1\):.*no data"):
        restore_exports(exporter_for(host, state), check=False)
    assert host.starts() == 1 and "dport 10812" in host.tables[""]


def test_no_recorded_export_is_no_change(tmp_path, host):
    assert not restore_exports(exporter_for(host, tmp_path / "none"), check=False).changed
    assert host.calls == []

