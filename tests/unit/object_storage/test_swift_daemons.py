"""roles/object_storage/files/swift_daemons.py with real processes (start-stop-daemon and
small stand-ins for Swift's daemons): a daemon not running is started, a running one is
left alone unless named for a restart, a server is waited for until it listens, one that
dies at once fails the call with its log, and stop ends them all."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import free_port

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "roles" / "object_storage" / "files" / "swift_daemons.py"

pytestmark = [pytest.mark.object_storage]


def _call(*args: str) -> tuple[int, dict]:
    r = subprocess.run(["/usr/bin/python3", str(SCRIPT), *args], capture_output=True, text=True, timeout=120)
    return r.returncode, json.loads(r.stdout)


def _pid(spec: dict, name: str) -> int:
    return int((Path(spec["run_dir"]) / f"{name}.pid").read_text())


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "log").mkdir()
    port = free_port()
    spec = {"run_dir": str(tmp_path / "run"), "log_dir": str(tmp_path / "log"), "path": "/usr/bin:/bin",
            "daemons": [{"name": "sleeper", "argv": ["/bin/sleep", "600"]},
                        {"name": "server", "argv": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                         "listen": ["127.0.0.1", str(port)]}]}
    yield spec
    _call("stop", json.dumps(spec))


def test_ensure_starts_restarts_only_what_is_named_and_stop_ends_all(spec):
    rc, out = _call("ensure", json.dumps(spec), "[]")
    assert rc == 0 and out == {"changed": True, "started": ["sleeper", "server"], "restarted": [], "stopped": []}
    port = int(spec["daemons"][1]["listen"][1])
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # listening when ensure returned
    pids = {d["name"]: _pid(spec, d["name"]) for d in spec["daemons"]}

    rc, out = _call("ensure", json.dumps(spec), "[]")
    assert (rc, out["changed"]) == (0, False)
    assert {d["name"]: _pid(spec, d["name"]) for d in spec["daemons"]} == pids

    rc, out = _call("ensure", json.dumps(spec), json.dumps(["sleeper"]))
    assert rc == 0 and out["restarted"] == ["sleeper"] and out["started"] == []
    assert _pid(spec, "sleeper") != pids["sleeper"] and _pid(spec, "server") == pids["server"]
    assert not Path(f"/proc/{pids['sleeper']}").exists()

    running = [_pid(spec, "sleeper"), _pid(spec, "server")]
    rc, out = _call("stop", json.dumps(spec))
    assert rc == 0 and sorted(out["stopped"]) == ["server", "sleeper"]
    assert not any(Path(f"/proc/{p}").exists() for p in running)
    rc, out = _call("stop", json.dumps(spec))
    assert (rc, out["changed"]) == (0, False)


def test_a_daemon_that_exits_at_once_fails_with_its_log(spec):
    spec["daemons"] = [{"name": "broken", "argv": ["/bin/sh", "-c", "echo 'bad config: no such section' >&2; exit 3"]}]
    rc, out = _call("ensure", json.dumps(spec), "[]")
    assert rc == 1
    assert "broken" in out["msg"] and "bad config: no such section" in out["msg"]
