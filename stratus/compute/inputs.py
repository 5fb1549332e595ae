"""Checks of compute request bodies that answer as Nova's JSON-schema validation does:
400 "Invalid input for field/attribute <field>. Value: <value>. <reason>" (never
FastAPI's 422). Shared by the server, metadata and tag routes; others may use them."""

from __future__ import annotations

from typing import Any, NoReturn

from stratus.errors import BadRequest

MAX_TAGS = 50
MAX_TAG_LEN = 60
MAX_METADATA_KEY = MAX_METADATA_VALUE = 255

_TYPE_NAMES = {str: "string", int: "integer", dict: "object", list: "array", bool: "boolean"}


def bad(field: str, value: Any, reason: str) -> NoReturn:
    raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {reason}")


def check_unknown(body: dict, allowed: set[str]) -> None:
    """Nova's ``additionalProperties: false``."""
    extra = sorted(set(body) - allowed)
    if extra:
        names = ", ".join(repr(k) for k in extra)
        raise BadRequest(f"Additional properties are not allowed ({names} "
                         f"{'was' if len(extra) == 1 else 'were'} unexpected)")


def check_type(value: Any, field: str, kind: type, *, max_len: int | None = None, min_len: int = 0) -> Any:
    """``value`` of JSON type ``kind`` (bool is not an integer), within the lengths."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        bad(field, value, f"{value!r} is not of type '{_TYPE_NAMES.get(kind, kind.__name__)}'")
    if isinstance(value, str | list | dict):
        if len(value) < min_len:
            bad(field, value, f"{value!r} is too short")
        if max_len is not None and len(value) > max_len:
            bad(field, value, f"{value!r} is too long")
    if isinstance(value, str) and "\x00" in value:
        bad(field, value, "NUL characters are not allowed.")
    return value


def parse_bool(value: Any, field: str, *, allow_empty: bool = False) -> bool:
    """Nova's boolean: true/false or their strings (``"True"``, ``"1"``, ``"yes"`` ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes", "on", "t", "y"):
            return True
        if low in ("false", "0", "no", "off", "f", "n") or (allow_empty and low == ""):
            return False
    bad(field, value, f"{value!r} is not of type 'boolean'")


def parse_count(body: dict, field: str, default: int = 1) -> int:
    """``min_count``/``max_count``: a positive integer or its string."""
    if field not in body:
        return default
    value = body[field]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        bad(field, body[field], f"{body[field]!r} is not of type 'integer'")
    if value < 1:
        bad(field, value, f"{value} is less than the minimum of 1")
    return value


def check_metadata(value: Any, field: str = "metadata") -> dict[str, str]:
    """Nova's metadata: keys 1..255 characters, values strings up to 255."""
    check_type(value, field, dict)
    for k, v in value.items():
        if not 1 <= len(k) <= MAX_METADATA_KEY:
            bad(field, value, f"Metadata key {k[:40]!r} must be 1 to {MAX_METADATA_KEY} characters long.")
        if "\x00" in k:
            bad(field, value, "NUL characters are not allowed.")
        check_type(v, field, str, max_len=MAX_METADATA_VALUE)
    return dict(value)


def check_tag(tag: Any, field: str = "tags") -> str:
    """Nova's server tag: 1..60 characters, no '/' or ','."""
    check_type(tag, field, str, max_len=MAX_TAG_LEN, min_len=1)
    if "/" in tag or "," in tag:
        bad(field, tag, f"{tag!r} must not contain '/' or ','.")
    return tag


def check_tags(tags: Any, field: str = "tags") -> list[str]:
    check_type(tags, field, list)
    if len(tags) > MAX_TAGS:
        bad(field, tags, f"{tags!r} is too long: at most {MAX_TAGS} tags.")
    return list(dict.fromkeys(check_tag(t, field) for t in tags))
