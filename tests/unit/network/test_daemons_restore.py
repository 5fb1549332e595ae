"""restore_network_daemons: a recorded dnsmasq that died is started again with the
command line it last ran with, a relay with its recorded config; nothing runs twice, a
network whose namespace is gone is only reported, check mode starts nothing. The
"dnsmasq" is a sleeping python3 run under the name dnsmasq (what ``Dnsmasq.pid`` checks
in /proc); the namespaces' existence is the test's."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import daemons_restore as R
from ansible_collections.stratus.cloud.plugins.module_utils.net import dnsmasq as D
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import NetError
from ansible_collections.stratus.cloud.plugins.module_utils.net.metadata_relay import MetadataRelay

pytestmark = [pytest.mark.deploy, pytest.mark.network]

NET = "0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33"


class FakeHost:
    """``run(argv, data)``: "dnsmasq" inside ``ip netns exec`` becomes a sleeping python3
    whose argv[0] is a link named dnsmasq; it writes the pid file as dnsmasq does."""

    def __init__(self, tmp_path) -> None:
        self.calls: list[list[str]] = []
        self.procs: list[subprocess.Popen] = []
        self.dnsmasq = tmp_path / "bin" / "dnsmasq"
        self.dnsmasq.parent.mkdir()
        self.dnsmasq.symlink_to("/usr/bin/python3")

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        args = argv[argv.index("dnsmasq"):]
        pidfile = next(a.split("=", 1)[1] for a in args if a.startswith("--pid-file="))
        proc = subprocess.Popen([str(self.dnsmasq), "-c", "import time; time.sleep(120)", *args[1:]])
        self.procs.append(proc)
        for _ in range(200):
            with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
                if fh.read():
                    break
            time.sleep(0.01)
        with open(pidfile, "w") as fh:
            fh.write(f"{proc.pid}\n")
        return 0, "", ""

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = FakeHost(tmp_path)
    namespaces = {f"qdhcp-{NET}"}
    monkeypatch.setattr(R, "_namespace_exists", lambda ns: ns in namespaces)
    fake.namespaces = namespaces
    yield fake
    fake.stop()


def recorded_dnsmasq(base, network_id=NET) -> list[str]:
    state = base / network_id
    state.mkdir(parents=True)
    argv = ["dnsmasq", "--no-hosts", f"--pid-file={state}/pid", f"--dhcp-hostsfile={state}/host"]
    (state / "argv").write_text(json.dumps(argv))
    (state / "pid").write_text(f"{2**22 + 1}\n")  # no such process: it died
    return argv


def test_a_dead_dnsmasq_comes_back_as_it_ran_and_a_second_run_changes_nothing(tmp_path, host):
    dhcp = tmp_path / "dhcp"
    argv = recorded_dnsmasq(dhcp)
    outcome, missing = R.restore_network_daemons(host, str(dhcp), str(tmp_path / "relay"), check=False)
    assert outcome.changed and missing == []
    assert host.calls == [["ip", "netns", "exec", f"qdhcp-{NET}", "env", "-i", f"PATH={D.DAEMON_PATH}", *argv]]
    assert (outcome.before, outcome.after) == ({NET: {"dhcp": False}}, {NET: {"dhcp": True}})

    again, _ = R.restore_network_daemons(host, str(dhcp), str(tmp_path / "relay"), check=False)
    assert not again.changed and again.actions == [] and len(host.calls) == 1


def test_check_mode_reports_and_starts_nothing(tmp_path, host):
    dhcp = tmp_path / "dhcp"
    recorded_dnsmasq(dhcp)
    outcome, _ = R.restore_network_daemons(host, str(dhcp), str(tmp_path / "relay"), check=True)
    assert outcome.changed and outcome.actions == [f"start dnsmasq of network {NET} in qdhcp-{NET}"]
    assert host.calls == []


def test_a_network_whose_namespace_is_gone_is_reported_not_made(tmp_path, host):
    dhcp = tmp_path / "dhcp"
    recorded_dnsmasq(dhcp)
    host.namespaces.clear()
    outcome, missing = R.restore_network_daemons(host, str(dhcp), str(tmp_path / "relay"), check=False)
    assert not outcome.changed and missing == [NET] and host.calls == []


def test_a_dead_relay_is_started_with_its_recorded_config(tmp_path, host, monkeypatch):
    relay_base = tmp_path / "relay"
    relay = MetadataRelay(host, NET, str(relay_base))
    os.makedirs(relay.dir)
    with open(relay.config_file, "w") as fh:
        json.dump(relay.config("http://192.0.2.1:8700/", "t1"), fh)
    started = []
    monkeypatch.setattr(MetadataRelay, "ensure_present",
                        lambda self, target, ticket, check_mode=False: started.append((self.network_id, target,
                                                                                       ticket)))
    outcome, _ = R.restore_network_daemons(host, str(tmp_path / "dhcp"), str(relay_base), check=False)
    assert outcome.changed and started == [(NET, "http://192.0.2.1:8700", "t1")]
    assert outcome.after == {NET: {"metadata_relay": True}}


def test_dnsmasq_records_the_command_line_it_starts_with(tmp_path, host):
    state = tmp_path / "dhcp" / NET
    state.mkdir(parents=True)
    d = D.Dnsmasq(host, f"qdhcp-{NET}", str(state))
    argv = ["dnsmasq", f"--pid-file={d.pidfile}", "--port=0"]
    d.start(argv)
    assert json.loads((state / "argv").read_text()) == argv and d.recorded_argv() == argv
    # only a dnsmasq command line with this network's pid file is ever started again
    for bad in (["sh", "-c", "id", f"--pid-file={d.pidfile}"], ["dnsmasq", "--pid-file=/elsewhere"], {"a": 1}):
        (state / "argv").write_text(json.dumps(bad))
        assert d.recorded_argv() is None


def test_a_directory_that_is_no_network_id_fails_naming_it(tmp_path, host):
    (tmp_path / "dhcp" / "not an id").mkdir(parents=True)
    with pytest.raises(NetError, match="not an id"):
        R.restore_network_daemons(host, str(tmp_path / "dhcp"), str(tmp_path / "relay"), check=False)
