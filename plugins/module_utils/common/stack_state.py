"""The offline state of stacks (``stratus compile``): one SQLite file holding, per stack
name, its resources (id, type, hosts, the properties they were compiled with and the
attributes they realized, in dependency order) and its outputs.

``stratus compile`` reads it (through ``stratus.orchestration.offline_state``, which
loads this file by path) to keep ids and values across compiles; the compiled
playbook's last play writes it with the ``stack_state`` module. Standard library only:
it ships to hosts with AnsiballZ and the controller loads it without Ansible.

A stack's record is a plain mapping::

    {"resources": {name: {"id", "type", "position", "hosts", "properties", "attributes"}},
     "outputs": {name: value}}

and :func:`ensure_present` makes the file hold exactly the given record (no
timestamps: writing the same record twice changes nothing).
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stacks (name TEXT PRIMARY KEY, outputs TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS resources (stack TEXT NOT NULL, name TEXT NOT NULL, "
    "position INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, hosts TEXT NOT NULL, "
    "properties TEXT NOT NULL, attributes TEXT NOT NULL, PRIMARY KEY (stack, name))",
)
FIELDS = ("id", "type", "position", "hosts", "properties", "attributes")


class StackStateError(Exception):
    """The state file cannot be read or written (not SQLite, not writable)."""


def normal(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples → lists, keys → strings): the form both
    sides compare."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def read(path: str, stack: str) -> dict[str, Any] | None:
    """The record of ``stack`` in the file at ``path``; None when the file or the stack
    does not exist (reading never creates the file)."""
    if not os.path.exists(path):
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'stacks'").fetchone():
                return None
            row = db.execute("SELECT outputs FROM stacks WHERE name = ?", (stack,)).fetchone()
            if row is None:
                return None
            rows = db.execute(f"SELECT name, {', '.join(FIELDS)} FROM resources WHERE stack = ? "
                              "ORDER BY position", (stack,)).fetchall()
    except sqlite3.DatabaseError as exc:
        raise StackStateError(f"the state file {path} cannot be read ({exc}); give another file "
                              "with --state or remove it to start over") from exc
    resources = {}
    for name, rid, rtype, position, hosts, props, attrs in rows:
        resources[name] = {"id": rid, "type": rtype, "position": position, "hosts": json.loads(hosts),
                           "properties": json.loads(props), "attributes": json.loads(attrs)}
    return {"resources": resources, "outputs": json.loads(row[0])}


def stacks(path: str) -> list[str]:
    """The stack names recorded in the file (none when it does not exist)."""
    if not os.path.exists(path):
        return []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'stacks'").fetchone():
            return []
        return [r[0] for r in db.execute("SELECT name FROM stacks ORDER BY name")]


def ensure_present(path: str, stack: str, record: dict[str, Any], check: bool = False):
    """Make the file hold exactly ``record`` for ``stack``: ``(changed, before, after,
    actions)`` with before/after the stack's records ({} when absent)."""
    wanted = normal({"resources": record.get("resources") or {}, "outputs": record.get("outputs") or {}})
    for name, res in wanted["resources"].items():
        missing = [f for f in FIELDS if f not in res]
        if missing:
            raise StackStateError(f"the resource {name!r} of stack {stack!r} lacks {', '.join(missing)}")
    before = read(path, stack) or {}
    if normal(before) == wanted:
        return False, before, wanted, []
    actions = _actions(before.get("resources") or {}, wanted["resources"], stack)
    if not check:
        _write(path, stack, wanted)
    return True, before, wanted, actions


def ensure_absent(path: str, stack: str, check: bool = False):
    """Forget ``stack``: ``(changed, before, after, actions)``."""
    before = read(path, stack)
    if before is None:
        return False, {}, {}, []
    if not check:
        with closing(_connect(path)) as db, db:
            db.execute("DELETE FROM resources WHERE stack = ?", (stack,))
            db.execute("DELETE FROM stacks WHERE name = ?", (stack,))
    return True, before, {}, [f"forget stack {stack}"]


def _actions(before: dict[str, Any], after: dict[str, Any], stack: str) -> list[str]:
    out = [f"record {name} ({after[name]['type']})" for name in after if name not in before]
    out += [f"update {name}" for name in after if name in before and before[name] != after[name]]
    out += [f"forget {name}" for name in before if name not in after]
    return out or [f"update the outputs of stack {stack}"]


def _connect(path: str) -> sqlite3.Connection:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fresh = not os.path.exists(path)
        db = sqlite3.connect(path)
        if fresh:
            os.chmod(path, 0o600)  # it holds generated secrets (RandomString values)
        for statement in SCHEMA:
            db.execute(statement)
    except (OSError, sqlite3.DatabaseError) as exc:
        raise StackStateError(f"the state file {path} cannot be written ({exc})") from exc
    return db


def _write(path: str, stack: str, record: dict[str, Any]) -> None:
    with closing(_connect(path)) as db, db:
        db.execute("DELETE FROM resources WHERE stack = ?", (stack,))
        db.execute("INSERT OR REPLACE INTO stacks (name, outputs) VALUES (?, ?)",
                   (stack, json.dumps(record["outputs"], sort_keys=True)))
        db.executemany(
            f"INSERT INTO resources (stack, name, {', '.join(FIELDS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(stack, name, r["id"], r["type"], int(r["position"]), json.dumps(r["hosts"]),
              json.dumps(r["properties"], sort_keys=True), json.dumps(r["attributes"], sort_keys=True))
             for name, r in record["resources"].items()],
        )
