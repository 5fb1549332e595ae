"""One ansible-runner run: a private data dir under the state dir, the registry as the
inventory, the venv's bin on PATH, the collection on the collections path.

Every process of the run carries ``STRATUS_RUN=<run id>`` in its environment, so a
restarted controller can find and stop what an earlier controller left running
(:func:`kill_orphans`).

A run directory holds the inventory with its connection variables, the extra vars and
the events, so it is private: ``<state_dir>/runs`` and every directory in it are 0700,
their files 0600 (:func:`run_playbook` makes them so, and again after the run for what
ansible-runner wrote; :func:`prepare_state_dir`, at ``stratus serve`` and ``stratus db
upgrade``, also sets the state directory's own mode). :func:`prune_runs` removes run directories older
than a retention period; the worker calls it now and then.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stratus import collection

RUN_MARK = "STRATUS_RUN"
# In a stored playbook (JSON), ``{"__ansible_unsafe": value}`` marks data that Ansible
# must never template: in main.yml every string of ``value`` (mapping keys too) is
# written with YAML's ``!unsafe`` tag. Everything else is the compiler's own text.
UNSAFE = "__ansible_unsafe"


class _UnsafeText(str):
    pass


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter: same text, 4x faster
    pass


def _represent_unsafe(dumper: yaml.SafeDumper, text: _UnsafeText) -> yaml.ScalarNode:
    value = str(text)
    if dumper.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
        # Ansible 2.19 reads an !unsafe scalar as if it were plain ('123' became 123,
        # 'yes' True, 'null' None); such text (a number, bool, null or date) holds no
        # template, so it is written as a quoted plain string and stays a string.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_scalar("!unsafe", value, style="'" if "\n" not in value else "|")


_Dumper.add_representer(_UnsafeText, _represent_unsafe)


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


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# The state directory itself: others may pass through (on an all-in-one it is also the
# compute host's /var/lib/stratus, and QEMU, running as libvirt-qemu, must reach the
# disks under instances/ and images/) but not list it; what the controller keeps in it
# is private on its own (the database 0600, runs/ 0700).
STATE_DIR_MODE = 0o711


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
        "ANSIBLE_CONFIG": str(collection.root() / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
        "ANSIBLE_ROLES_PATH": str(collection.root() / "roles"),
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        RUN_MARK: run_id,
    }


def prepare_state_dir(state_dir: Path) -> Path:
    """Make the state directory (mode :data:`STATE_DIR_MODE`) and its private ``runs``
    directory (0700), fixing the modes of existing ones; returns ``runs``."""
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, STATE_DIR_MODE)
    return runs_dir(state)


def runs_dir(state_dir: Path) -> Path:
    """``<state_dir>/runs``, made (or fixed to) 0700; the state directory's own mode is
    left to :func:`prepare_state_dir` at start, not changed on every run."""
    runs = Path(state_dir) / "runs"
    runs.parent.mkdir(parents=True, exist_ok=True)
    _private_dir(runs)
    return runs


def _private_dir(path: Path) -> None:
    path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def restrict_tree(root: Path) -> None:
    """0700 on every directory under ``root`` (itself included), 0600 on every file;
    symlinks are left alone (never followed)."""
    os.chmod(root, PRIVATE_DIR)
    for top, dirs, files in os.walk(root):
        for names, mode in ((dirs, PRIVATE_DIR), (files, PRIVATE_FILE)):
            for name in names:
                p = os.path.join(top, name)
                with contextlib.suppress(FileNotFoundError):
                    if not os.path.islink(p):
                        os.chmod(p, mode)


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

    private = runs_dir(state_dir) / run_id
    for d in (private, private / "project", private / "inventory"):
        _private_dir(d)
    _write_private(private / "project" / "main.yml", playbook_yaml(playbook))
    _write_private(private / "inventory" / "hosts.json", json.dumps(inventory))
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
        restrict_tree(private)
    return RunResult(status=r.status, rc=r.rc, stats=r.stats or {}, private_dir=str(private))


def _marked_processes() -> Iterator[tuple[int, str]]:
    """(pid, run id) of every live process carrying ``STRATUS_RUN``."""
    prefix = f"{RUN_MARK}=".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        for var in env.split(b"\0"):
            if var.startswith(prefix):
                yield int(entry.name), var[len(prefix):].decode(errors="replace")
                break


def processes_of(run_id: str) -> list[int]:
    """Pids of live processes whose environment carries ``STRATUS_RUN=<run_id>``."""
    return [pid for pid, rid in _marked_processes() if rid == run_id]


def _last_written(path: Path) -> float:
    """The newest mtime of ``path`` and everything under it (symlinks not followed)."""
    newest = path.lstat().st_mtime
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(top, name)).st_mtime)
            except FileNotFoundError:
                continue
    return newest


def prune_runs(
    state_dir: Path, retention: float, keep: Iterable[str] = (), *, now: float | None = None
) -> list[str]:
    """Remove the run directories under ``<state_dir>/runs`` in which nothing was
    written for ``retention`` seconds, except the runs named in ``keep`` (the run ids,
    ``job.batch_id or job.id``, of jobs that are not finished) and runs that still have
    live processes. Returns the removed run ids."""
    runs = Path(state_dir) / "runs"
    if not runs.is_dir():
        return []
    now = time.time() if now is None else now
    keep = set(keep)
    old = [
        d for d in sorted(runs.iterdir())
        if d.name not in keep and not d.is_symlink() and d.is_dir()
        and now - _last_written(d) >= retention
    ]
    if not old:
        return []
    live = {rid for _, rid in _marked_processes()}
    removed = []
    for d in old:
        if d.name in live:
            continue
        shutil.rmtree(d)
        removed.append(d.name)
    return removed


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
