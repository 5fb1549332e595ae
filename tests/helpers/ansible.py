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

import yaml

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


def run_tasks(tmp_path: Path, steps: list[tuple[str, dict, bool]], *, name: str = "steps",
              timeout: int = 600) -> list[ModuleResult]:
    """``(module, args, check)`` steps as the tasks of one playbook on localhost (one
    Ansible start instead of one per step), in order, a failure not stopping the rest;
    one result per step. Arguments are data: every string is written ``!unsafe``, so
    Ansible templates none of them."""
    tasks = []
    for module, args, check in steps:
        fqcn = module if "." in module else f"stratus.cloud.{module}"
        tasks.append({fqcn: _unsafe(args), "check_mode": check, "diff": True, "ignore_errors": True,
                      **({"changed_when": False} if fqcn == "ansible.builtin.command" else {})})
    book = tmp_path / f"{name}.yml"
    book.write_text(yaml.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}],
                              Dumper=_UnsafeDumper, allow_unicode=True))
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(book)],
                          capture_output=True, text=True, timeout=timeout, env=ansible_env(), cwd=REPO)
    results = [ModuleResult(json.loads(ln)["result"]) for ln in proc.stdout.splitlines()
               if ln.startswith('{"host"')]
    assert len(results) == len(steps), proc.stdout + proc.stderr
    return results


class _Unsafe(str):
    """A string Ansible must take as data (written as ``!unsafe``)."""


def _unsafe(value):
    if isinstance(value, dict):
        return {k: _unsafe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsafe(v) for v in value]
    return _Unsafe(value) if isinstance(value, str) else value


class _UnsafeDumper(yaml.SafeDumper):
    pass


_UnsafeDumper.add_representer(
    _Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style='"'))


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
