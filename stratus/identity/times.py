"""Times as the identity API takes them (ISO 8601, UTC when no zone is given)."""

from __future__ import annotations

from datetime import UTC, datetime

from stratus.errors import BadRequest


def parse_time(value, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field '{field}': expecting an ISO 8601 time or null.")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"Invalid input for field '{field}': {value!r} is not an ISO 8601 time "
            "(e.g. 2030-01-01T00:00:00Z)."
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
