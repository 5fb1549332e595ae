"""One ansible-runner run: a private data dir under the state dir, the registry as the
inventory, the venv's bin on PATH, the collection on the collections path.

Every process of the run carries ``STRATUS_RUN=<run id>`` in its environment, so a
restarted controller can find and stop what an earlier controller left running
(:func:`kill_orphans`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
RUN_MARK = "STRATUS_RUN"
# In a stored playbook (JSON), ``{"__ansible_unsafe": value}`` marks data that Ansible
# must never template: in main.yml every string of ``value`` (mapping keys too) is
# written with YAML's ``!unsafe`` tag. Everything else is the compiler's own text.
UNSAFE = "__ansible_unsafe"


class _UnsafeText(str):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _UnsafeText, lambda d, s: d.represent_scalar("!unsafe", str(s), style="'" if "\n" not in s else "|")
)


def _as_unsafe(value: Any) -> Any:
    if isinstance(value, str):
        return _UnsafeText(value)
    if isinstance(value, dict):
        return {_as_unsafe(k): _as_unsafe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_unsafe(v) for v in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and UNSAFE in value:
            return _as_unsafe(value[UNSAFE])
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def playbook_yaml(playbook: list[dict[str, Any]]) -> str:
    """main.yml for a stored playbook, user data tagged ``!unsafe``."""
    return yaml.dump(_unwrap(playbook), Dumper=_Dumper, sort_keys=False, allow_unicode=True)


@dataclass
class RunResult:
    status: str  # successful | failed | timeout | canceled
    rc: int | None
    stats: dict[str, Any] = field(default_factory=dict)
    private_dir: str = ""


def runner_env(run_id: str) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        RUN_MARK: run_id,
    }


def run_playbook(
    run_id: str,
    playbook: list[dict[str, Any]],
    inventory: dict[str, Any],
    state_dir: Path,
    *,
    timeout: int | None = None,
    event_handler: Callable[[dict[str, Any]], bool] | None = None,
    cancel_callback: Callable[[], bool] | None = None,
    extravars: dict[str, Any] | None = None,
) -> RunResult:
    """Run ``playbook`` and wait for it; events go to ``event_handler`` as they come."""
    import ansible_runner

    private = Path(state_dir) / "runs" / run_id
    (private / "project").mkdir(parents=True, exist_ok=True)
    (private / "inventory").mkdir(exist_ok=True)
    (private / "project" / "main.yml").write_text(playbook_yaml(playbook))
    (private / "inventory" / "hosts.json").write_text(json.dumps(inventory))
    try:
        r = ansible_runner.run(
            private_data_dir=str(private),
            playbook="main.yml",
            ident="run",
            envvars=runner_env(run_id),
            extravars=extravars or {},
            timeout=timeout,
            quiet=True,
            event_handler=event_handler,
            cancel_callback=cancel_callback,
            settings={"pexpect_timeout": 0.25, "suppress_ansible_output": True},
            rotate_artifacts=1,
        )
    finally:
        # ansible-runner stops ansible-playbook on timeout/cancel, but not always what
        # it started (module processes in their own groups): leave nothing behind.
        kill_orphans(run_id)
    return RunResult(status=r.status, rc=r.rc, stats=r.stats or {}, private_dir=str(private))


def processes_of(run_id: str) -> list[int]:
    """Pids of live processes whose environment carries ``STRATUS_RUN=<run_id>``."""
    mark = f"{RUN_MARK}={run_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if mark in env.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def kill_orphans(run_id: str) -> list[int]:
    """SIGKILL what is left of an earlier controller's run (its process groups)."""
    pids = processes_of(run_id)
    own = os.getpgid(0)
    for pid in pids:
        try:
            pgid = os.getpgid(pid)
            if pgid == own:
                os.kill(pid, signal.SIGKILL)
                continue
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 3
    while pids and processes_of(run_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids
