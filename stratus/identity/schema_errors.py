"""Request-body violations worded as Keystone's JSON-schema validator words them:
``Invalid input for field 'name': 'xxx…' is too long``."""

from __future__ import annotations


def _field(loc: tuple) -> str:
    parts = [p for p in loc if p != "body"]
    # Keystone validates the entity inside its wrapper ({"project": {...}}); a list
    # index after the first key means the body has no wrapper ({"tags": [...]}).
    if len(parts) > 1 and isinstance(parts[1], str):
        parts = parts[1:]
    return "/".join(str(p) for p in parts)


class _Masked:
    def __repr__(self) -> str:
        return "'***'"


def _detail(err: dict) -> str:
    kind = err.get("type", "")
    value = err.get("input")
    if any(w in str(p) for p in err.get("loc", ()) for w in ("password", "secret")):
        value = _Masked()  # never echo a credential back
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return f"{str(err['loc'][-1])!r} is a required property"
    if kind == "extra_forbidden":
        return f"Additional properties are not allowed ({str(err['loc'][-1])!r} was unexpected)"
    if kind in ("string_too_long", "too_long"):
        return f"{value!r} is too long"
    if kind in ("string_too_short", "too_short"):
        return f"{value!r} is too short"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not match {ctx.get('pattern', '')!r}"
    for suffix, typ in (("string", "string"), ("bool", "boolean"), ("list", "array"),
                        ("dict", "object"), ("int", "integer"), ("model", "object")):
        if kind.startswith(f"{suffix}_") or kind == f"{suffix}_type":
            return f"{value!r} is not of type {typ!r}"
    return f"{value!r} is not valid: {err.get('msg', 'invalid')}"


def keystone_message(errors: list[dict]) -> str:
    """The message of the 400 for the first of pydantic's ``errors`` (Keystone reports one)."""
    err = errors[0]
    if err.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    field = _field(tuple(err.get("loc", ())))
    detail = _detail(err)
    return f"Invalid input for field '{field}': {detail}" if field else detail
