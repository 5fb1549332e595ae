"""Bringing a storage host's NBD exports back after their daemons died (a host restart,
a kill): ``restore_exports(exporter_for, *, check)`` returns an ``Outcome``.

Every export recorded in the state directory (``nbd.NBDExporter``'s JSON state files,
written when ``volume_export`` made it) whose ``qemu-storage-daemon`` is not running is
started again with what was recorded: the same volume data, address, port and
allow-list, so the compute hosts' attachments reconnect to the same ``nbd://`` URI.
Each network namespace's allow-list table is rewritten when it differs from its recorded
exports (after a host restart it is gone). An export whose daemon runs and whose table
matches is left alone: a second run changes nothing.

``exporter_for(netns)`` gives the ``NBDExporter`` of one network namespace ("" for the
host's own) over the one state directory.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import StorageError
from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import NBDExporter


def restore_exports(exporter_for: Callable[[str], NBDExporter], *, check: bool) -> Outcome:
    """Start every recorded export whose daemon is not running and rewrite each
    namespace's allow-list table that differs; ``before``/``after`` map export names to
    their facts (the pid is left out: it is not what the operator asked for). An export
    that cannot come back does not stop the others: StorageError at the end names each."""
    exports = exporter_for("").list()
    before = {e.name: _facts(e) for e in exports}
    after: dict[str, dict] = {}
    actions: list[str] = []
    failures: list[str] = []
    for netns in sorted({e.netns for e in exports}):
        exporter = exporter_for(netns)
        for exp in (e for e in exports if e.netns == netns):
            try:
                restart, rewrite, now = exporter.plan(exp)
                if (restart or rewrite) and not check:
                    _, _, now = exporter.ensure(exp)
            except StorageError as exc:
                failures.append(f"export {exp.name} (volume {exp.volume_id}, attachment {exp.attachment_id}): {exc}")
                continue
            after[exp.name] = _facts(now)
            where = f" in network namespace {netns}" if netns else ""
            if restart:
                actions.append(f"start qemu-storage-daemon for {exp.name} on {now.host}:{now.port}{where}")
            elif rewrite:
                actions.append(f"rewrite the allow-list table with port {now.port}{where}")
    if failures:
        raise StorageError(
            f"{len(failures)} NBD export(s) recorded in {exporter_for('').state_dir} could not be brought back "
            f"(the others were): {'; '.join(failures)}. Fix the volume or the address named, or remove the "
            "export (stratus.cloud.volume_export state=absent) if its attachment is gone."
        )
    return Outcome(bool(actions), before, after, actions)


def _facts(exp) -> dict:
    data = exp.facts()
    data.pop("pid", None)
    return data
