"""Run directories (inventory, connection variables, events) are private while and after
a real ansible-runner run, and prune_runs removes old finished ones only."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from stratus.jobs import runner

pytestmark = pytest.mark.orchestration

DAY = 86400


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_run_directory_is_private_during_and_after_the_run(tmp_path):
    state = tmp_path / "state"
    run_id = "run-perm-test"
    private = state / "runs" / run_id
    seen: dict[str, int] = {}

    def on_event(event):  # during the run: what was written before ansible started
        if not seen:
            for p in (state / "runs", private, private / "inventory", private / "inventory" / "hosts.json",
                      private / "project" / "main.yml"):
                seen[str(p.relative_to(state))] = _mode(p)
        return True

    old = os.umask(0o022)
    try:
        result = runner.run_playbook(
            run_id,
            [{"hosts": "all", "gather_facts": False,
              "tasks": [{"ansible.builtin.debug": {"msg": "hello"}}]}],
            {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                             "ansible_password": "connection-secret"}}}},
            state,
            event_handler=on_event,
            timeout=120,
        )
    finally:
        os.umask(old)
    assert result.status == "successful", result
    assert seen == {
        "runs": 0o700, f"runs/{run_id}": 0o700, f"runs/{run_id}/inventory": 0o700,
        f"runs/{run_id}/inventory/hosts.json": 0o600, f"runs/{run_id}/project/main.yml": 0o600,
    }
    assert "connection-secret" in (private / "inventory" / "hosts.json").read_text()
    # after the run: everything ansible-runner wrote too (artifacts, env, events)
    modes = {}
    for top, dirs, files in os.walk(private):
        for name in dirs + files:
            p = Path(top, name)
            if not p.is_symlink():
                modes[str(p.relative_to(private))] = _mode(p)
    assert any(k.startswith("artifacts/") for k in modes), modes
    wrong = {k: oct(m) for k, m in modes.items() if m != (0o700 if (private / k).is_dir() else 0o600)}
    assert not wrong, wrong
    assert _mode(state) == 0o755  # set at serve start and db upgrade, not by each run


def _run_dir(runs: Path, name: str, age: float, *, inner_age: float | None = None) -> Path:
    d = runs / name
    (d / "artifacts" / "run").mkdir(parents=True)
    f = d / "artifacts" / "run" / "stdout"
    f.write_text("x")
    t = time.time() - age
    for p in (f, f.parent, f.parent.parent, d):
        os.utime(p, (t, t))
    if inner_age is not None:
        t = time.time() - inner_age
        os.utime(f, (t, t))
    return d


def test_prune_runs_removes_old_finished_runs_only(tmp_path):
    runs = runner.prepare_state_dir(tmp_path / "state")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep-me").write_text("not a run")
    _run_dir(runs, "old-finished", 8 * DAY)
    _run_dir(runs, "old-but-queued", 8 * DAY)  # its job is not finished: the caller keeps it
    _run_dir(runs, "recent", 1 * DAY)
    _run_dir(runs, "old-dir-fresh-file", 8 * DAY, inner_age=60)  # still being written
    _run_dir(runs, "old-running", 8 * DAY)  # a live process carries its mark
    (runs / "link").symlink_to(outside)
    t = time.time() - 8 * DAY
    os.utime(outside, (t, t))
    proc = subprocess.Popen(["sleep", "60"], env={**os.environ, runner.RUN_MARK: "old-running"})
    try:
        removed = runner.prune_runs(tmp_path / "state", 7 * DAY, keep={"old-but-queued"})
    finally:
        proc.kill()
        proc.wait()
    assert removed == ["old-finished"]
    assert sorted(p.name for p in runs.iterdir()) == [
        "link", "old-but-queued", "old-dir-fresh-file", "old-running", "recent",
    ]
    assert (outside / "keep-me").exists()
    # once the process is gone the old run goes too; a zero retention takes every finished run
    assert runner.prune_runs(tmp_path / "state", 7 * DAY, keep={"old-but-queued"}) == ["old-running"]
    assert sorted(runner.prune_runs(tmp_path / "state", 0)) == [
        "old-but-queued", "old-dir-fresh-file", "recent",
    ]
    assert [p.name for p in runs.iterdir()] == ["link"]
    assert runner.prune_runs(tmp_path / "missing-state", 0) == []
