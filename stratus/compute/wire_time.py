"""Times as Nova writes them on the wire: ``2012-10-29T13:42:02.000000``, naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def nova_time(value: datetime | None) -> str | None:
    """``value`` in Nova's format (UTC, microseconds, no zone suffix); None stays None."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
