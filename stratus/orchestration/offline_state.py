"""The offline state of ``stratus compile``: where it lives and what it holds.

A compiled playbook runs without the controller, so its memory is a SQLite file next
to the template (``<template dir>/.stratus/<template stem>.sqlite`` unless given): per
stack name, the resources' ids, types, hosts, the properties they were compiled with
and the attributes they realized, and the outputs. ``stratus compile`` reads it to keep
ids and values (an ``OS::Heat::RandomString``) and to turn the next compile into an
update; the playbook's last play writes it with ``stratus.cloud.stack_state``.

The file's format is the module's driver, ``plugins/module_utils/common/stack_state.py``
(standard library only), loaded here by path as ``stratus.image.inspector`` does: the
controller does not import Ansible's ``ansible_collections`` namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stratus import module_utils
from stratus.orchestration import emit

MODULE = "stratus.cloud.stack_state"
_driver = module_utils.load("common/stack_state.py", "stratus._stack_state")
StackStateError = _driver.StackStateError
normal = _driver.normal
stacks = _driver.stacks


@dataclass
class Recorded:
    """One resource as the state file holds it."""

    name: str
    id: str
    type: str
    position: int
    hosts: list[str]
    properties: dict[str, Any]
    attributes: dict[str, Any]


@dataclass
class StackState:
    """A stack's record: its resources by name (in dependency order) and outputs."""

    name: str
    resources: dict[str, Recorded] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def default_path(template: str | Path) -> Path:
    """``<template dir>/.stratus/<template stem>.sqlite``."""
    path = Path(template).resolve()
    return path.parent / ".stratus" / f"{path.stem}.sqlite"


def read(path: str | Path, stack: str) -> StackState:
    """The stack's record (empty when the file or the stack does not exist yet)."""
    raw = _driver.read(str(path), stack) or {}
    resources = {name: Recorded(name=name, **r) for name, r in (raw.get("resources") or {}).items()}
    return StackState(stack, resources, raw.get("outputs") or {})


def record_play(path: str | Path, stack: str, resources: dict[str, dict[str, Any]],
                outputs: dict[str, Any]) -> dict[str, Any]:
    """The playbook's last play: record the stack on the machine that runs the playbook.

    ``resources`` maps names to ``{id, type, position, hosts, properties, attributes}``:
    properties as compiled (their runtime expressions kept as text, for the next
    compile to compare), attributes and outputs with runtime expressions evaluated (what
    the run realized)."""
    record = {
        name: {**{k: v for k, v in r.items() if k != "properties"},
               "properties": normal(r["properties"])}  # text: never templated
        for name, r in resources.items()
    }
    args = {"path": str(path), "stack": stack, "resources": record, "outputs": outputs}
    return {
        "name": f"Stratus: record stack {stack}",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [{"name": f"Stratus: record stack {stack} in {path}", MODULE: emit.data(args)}],
    }
