"""ansible-runner events → what the controller records.

Task names carry their resource (``<resource>`` or ``<resource>: <step>``; in a batch
run ``<job id>/<resource>...``), so each host result maps back to one job and one
resource. Only results and the final stats are kept; the rest is noise for a cloud.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_failed": None,  # the task's own runner_on_failed follows
}
_NAME = re.compile(r"^(?:(?P<job>[0-9a-f-]{36})/)?(?P<res>[^:]+?)(?::\s.*)?$")
MAX_DATA = 4000
_INTERNAL = ("_ansible", "invocation", "diff")


@dataclass
class Parsed:
    event: str
    job_id: str | None
    resource: str | None
    host: str | None
    task: str | None
    status: str | None
    message: str
    result: dict[str, Any]  # trimmed: what is stored for display
    ignored: bool = False
    raw: dict[str, Any] | None = None  # the module's whole result: what ``realize`` sees


def task_name(job_id: str | None, name: str) -> str:
    return f"{job_id}/{name}" if job_id else name


def parse(ev: dict[str, Any]) -> Parsed | None:
    kind = ev.get("event", "")
    if kind == "playbook_on_stats":
        data = ev.get("event_data", {})
        stats = {k: data.get(k) for k in ("ok", "changed", "failures", "dark", "skipped", "rescued")}
        return Parsed(kind, None, None, None, None, None, "", stats)
    if kind not in RESULT_EVENTS or RESULT_EVENTS[kind] is None:
        return None
    data = ev.get("event_data", {})
    task = data.get("task") or ""
    m = _NAME.match(task)
    res = data.get("res") or {}
    status = RESULT_EVENTS[kind]
    if status == "ok" and res.get("changed"):
        status = "changed"
    return Parsed(
        event=kind,
        job_id=m.group("job") if m else None,
        resource=m.group("res").strip() if m else None,
        host=data.get("host"),
        task=task,
        status=status,
        message=failure_message(res) if status in ("failed", "unreachable") else str(res.get("msg") or ""),
        result=clean_result(res),
        ignored=bool(data.get("ignore_errors")),
        raw={k: v for k, v in res.items() if not k.startswith("_ansible")},
    )


def failure_message(res: dict[str, Any]) -> str:
    """The sentence a person reads: the module's msg, with stderr when a command failed."""
    msg = str(res.get("msg") or "").strip()
    stderr = str(res.get("stderr") or res.get("module_stderr") or "").strip()
    if stderr and stderr not in msg:
        msg = f"{msg}: {stderr}" if msg else stderr
    return msg or "the task failed without a message"


def clean_result(res: dict[str, Any]) -> dict[str, Any]:
    """What is stored with an event for display: internal keys dropped, long values cut
    (``realize`` gets the whole result from ``Parsed.raw``)."""
    out = {k: v for k, v in res.items() if not k.startswith(_INTERNAL)}
    if len(repr(out)) > MAX_DATA:
        out = {k: v for k, v in out.items() if len(repr(v)) < 400}
        out["truncated"] = True
    return out
