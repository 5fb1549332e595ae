"""A stack's outputs, resolved from what its resources recorded (their attributes) once
its operation ended: Heat's output list ``[{output_key, output_value, description}]``;
an output that cannot be resolved (its resource failed or is gone, the attribute is not
there) has ``output_value`` None and ``output_error`` saying why, as Heat shows it."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import ACTIVE, DELETED, Resource
from stratus.db.models.orchestration import Stack
from stratus.orchestration import functions
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.stacks import load


def tree_ids(db: Session, stack: Stack) -> list[str]:
    """The stack's id and its nested stacks' ids (every level, deleted ones too)."""
    ids, todo = [stack.id], [stack.id]
    while todo:
        kids = list(db.scalars(select(Stack.id).where(Stack.parent_id.in_(todo))))
        ids.extend(kids)
        todo = kids
    return ids


def rows_by_name(db: Session, stack: Stack, *, include_deleted: bool = False) -> dict[str, Resource]:
    """The stack tree's resource rows by flat name (the newest row of a name wins)."""
    q = select(Resource).where(Resource.stack_id.in_(tree_ids(db, stack)))
    if not include_deleted:
        q = q.where(Resource.status != DELETED)
    return {r.name: r for r in db.scalars(q.order_by(Resource.created_at))}


class RecordedContext:
    """A ResolveContext over a stack's recorded state: parameters as given (with the
    pseudo parameters), resources' ids and recorded attributes."""

    def __init__(self, params: dict[str, Any], rows: dict[str, Resource]) -> None:
        self.params = params
        self.rows = rows

    def param(self, name: str) -> Any:
        if name not in self.params:
            raise TemplateError(f"the parameter {name!r} has no value", ("parameters", name))
        return self.params[name]

    def _row(self, name: str) -> Resource:
        row = self.rows.get(name)
        if row is None:
            raise TemplateError(f"The Referenced Attribute ({name}) is incorrect: the resource {name!r} does not "
                                "exist (it was not made or was deleted)", ("resources", name))
        return row

    def resource_id(self, name: str) -> Any:
        return self._row(name).id

    def attribute(self, name: str, attr: str, keys: list[Any]) -> Any:
        row = self._row(name)
        if row.status != ACTIVE:
            raise TemplateError(f"The Referenced Attribute ({name} {attr}) is incorrect: the resource is "
                                f"{row.status}", ("resources", name))
        attrs = dict(row.attributes or {})
        if attr == "show" and "show" not in attrs:
            value: Any = attrs
        elif attr in attrs:
            value = attrs[attr]
        else:
            raise TemplateError(f"The Referenced Attribute ({name} {attr}) is incorrect.", ("resources", name))
        return functions._dig(value, keys, ("resources", name))

    def condition(self, name: str) -> bool:
        return True

    def resource_active(self, name: str) -> bool:
        row = self.rows.get(name)
        return row is not None and row.status == ACTIVE


def definitions(template) -> dict[str, tuple[Any, str, Any]]:
    """name → (value, description, condition) of a template's outputs, whichever shape
    the template model gives them."""
    out = {}
    for name, odef in template.outputs.items():
        if hasattr(odef, "value"):
            out[name] = (odef.value, getattr(odef, "description", "") or "", getattr(odef, "condition", None))
        else:
            out[name] = (odef, "", None)
    return out


def resolve(db: Session, stack: Stack, loaded: load.Loaded | None = None) -> list[dict[str, Any]]:
    """Heat's output list of ``stack`` (a root stack) from its recorded resources."""
    try:
        loaded = loaded or load.from_row(stack)
    except (TemplateError, ResourceCheckFailed) as exc:
        return [{"output_key": "", "output_value": None, "description": "", "output_error": str(exc)}]
    flat = loaded.flat
    try:
        params = dict(flat.parameter_values(dict(loaded.parameters)))
    except (TemplateError, ResourceCheckFailed, TypeError):
        params = dict(loaded.parameters)
    params.update(loaded.identity)
    ctx = RecordedContext(params, rows_by_name(db, stack))
    with contextlib.suppress(TemplateError, KeyError, TypeError, ValueError):
        flat, _conds = flat.for_values(params)  # outputs whose condition is false are left out
    raw = (stack.template or {}).get("outputs") or {}
    result = []
    for name, (value, description, _condition) in definitions(flat).items():
        if not description and isinstance(raw.get(name), dict):
            description = str(raw[name].get("description") or "")
        item: dict[str, Any] = {"output_key": name, "description": description or "No description given"}
        try:
            item["output_value"] = _plain(functions.resolve(value, ctx))
        except (TemplateError, ResourceCheckFailed, KeyError, TypeError, ValueError) as exc:
            item["output_value"] = None
            item["output_error"] = getattr(exc, "message", None) or str(exc)
        result.append(item)
    return result


def _plain(value: Any) -> Any:
    """JSON-able: a runtime expression that slipped through becomes its text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return str(value) if isinstance(value, functions.Expr) else value
    return str(value)
