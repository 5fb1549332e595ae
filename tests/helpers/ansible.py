"""Run stratus.cloud modules the way users do: through Ansible itself.

``run_module`` calls the ``ansible`` ad-hoc command against localhost with the JSON
callback and returns the module's result for the host, so tests assert on exactly
what a playbook task would register.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def ansible_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
        ANSIBLE_CALLBACK_PLUGINS=str(Path(__file__).parent / "callback_plugins"),
        ANSIBLE_STDOUT_CALLBACK="result_json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra)
    return env


class ModuleResult(dict):
    """A module's result; ``changed``/``failed`` as attributes for terse asserts."""

    @property
    def changed(self) -> bool:
        return bool(self.get("changed"))

    @property
    def failed(self) -> bool:
        return bool(self.get("failed"))

    @property
    def msg(self) -> str:
        return str(self.get("msg", ""))


def run_module(
    module: str,
    args: dict,
    *,
    check: bool = False,
    diff: bool = True,
    timeout: int = 600,
    env: dict[str, str] | None = None,
) -> ModuleResult:
    """Run ``stratus.cloud.<module>`` (or a fully qualified name) on localhost."""
    name = module if "." in module else f"stratus.cloud.{module}"
    argv = [
        str(VENV_BIN / "ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-m",
        name,
        "-a",
        json.dumps(args),
    ]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ansible_env(**(env or {})),
        cwd=REPO,
    )
    try:
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith('{"host"')][-1]
        result = json.loads(line)["result"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError(
            f"ansible {name} gave no JSON result (rc={proc.returncode})\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        ) from exc
    return ModuleResult(result)


def run_playbook(
    playbook: str | Path, *, extra_vars: dict | None = None, check: bool = False, timeout: int = 1200
) -> subprocess.CompletedProcess:
    """Run a playbook on the all-in-one inventory; returns the finished process."""
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(REPO / "inventories/aio"), str(playbook)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
