"""User data in playbooks: every value that came from a request or a template is
stored as ``{"__ansible_unsafe": value}``, which ``stratus.jobs.runner`` writes with
YAML's ``!unsafe`` tag, so Ansible never templates it (``{{ lookup('pipe', 'id') }}``
in a server name stays those bytes on the host). Only ``functions.Expr`` — the
compiler's own runtime-attribute expressions — stays templatable.
"""

from __future__ import annotations

from typing import Any

from stratus.jobs.runner import UNSAFE  # the runner writes what it marks as !unsafe
from stratus.orchestration import functions


def data(value: Any) -> Any:
    """``value`` (from a request or template) as data Ansible never templates; only
    ``Expr`` inside it stays an expression."""
    if not _has_expr(value):
        return {UNSAFE: value} if _has_text(value) else value
    if isinstance(value, functions.Expr):
        return str(value)
    if isinstance(value, dict):
        return {k: data(v) for k, v in value.items()}
    return [data(v) for v in value]


def _has_expr(value: Any) -> bool:
    if isinstance(value, functions.Expr):
        return True
    if isinstance(value, dict):
        return any(_has_expr(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_expr(v) for v in value)
    return False


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return bool(value)
    if isinstance(value, list):
        return any(_has_text(v) for v in value)
    return False
