"""Listing migrations as Nova does: ``GET /os-migrations`` (admins; 2.23 adds
``migration_type`` and links of in-progress live migrations, 2.59 ``uuid``, paging by
``limit``/``marker`` and ``changes-since``, 2.66 ``changes-before``) and
``GET /servers/{id}/migrations[/{id}]`` (2.23: a server's in-progress live migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus.compute.validation import bad, check_unknown
from stratus.db.models.compute import Migration
from stratus.errors import BadRequest, NotFound
from stratus.versions import APIVersion

# Nova's in-progress live migration states (the ones with links and server views);
# ours are "running" until the job ends.
LIVE_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")
FILTERS = ("hidden", "host", "instance_uuid", "source_compute", "status", "migration_type")


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _flavor_int(flavor: dict[str, Any] | None) -> int | None:
    """Nova's integer flavor id (``old_instance_type_id``): the flavor id when it is one."""
    value = str((flavor or {}).get("id", ""))
    return int(value) if value.isdigit() else None


def _parse_time(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        bad(name, value, f"{value!r} is not a 'date-time'")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def view(row: Migration, version: APIVersion, base_url: str) -> dict[str, Any]:
    """One ``os-migrations`` entry at ``version``."""
    out: dict[str, Any] = {
        "id": row.id, "instance_uuid": row.server_id, "status": row.status,
        "source_compute": row.source_compute, "source_node": row.source_compute,
        "dest_compute": row.dest_compute, "dest_node": row.dest_compute, "dest_host": row.dest_compute,
        "old_instance_type_id": _flavor_int(row.old_flavor), "new_instance_type_id": _flavor_int(row.new_flavor),
        "created_at": _time(row.created_at), "updated_at": _time(row.updated_at),
    }
    if version >= (2, 23):
        out["migration_type"] = row.migration_type
        if row.migration_type == "live-migration" and row.status in LIVE_IN_PROGRESS:
            href = f"servers/{row.server_id}/migrations/{row.id}"
            out["links"] = [{"rel": "self", "href": f"{base_url}/compute/v2.1/{href}"},
                            {"rel": "bookmark", "href": f"{base_url}/compute/{href}"}]
    if version >= (2, 59):
        out["uuid"] = row.uuid
    return out


def listing(db: Session, params: list[tuple[str, str]], version: APIVersion,
            base_url: str) -> dict[str, Any]:
    """The ``os-migrations`` document for the query ``params``."""
    query: dict[str, str] = {}
    for key, value in params:
        query.setdefault(key, value)
    paging = version >= (2, 59)
    if paging:
        known = {*FILTERS, "limit", "marker", "changes-since"} | ({"changes-before"} if version >= (2, 66) else set())
        check_unknown(query, known)
    stmt = select(Migration)
    if query.get("host"):
        stmt = stmt.where((Migration.source_compute == query["host"]) | (Migration.dest_compute == query["host"]))
    for key, column in (("instance_uuid", Migration.server_id), ("source_compute", Migration.source_compute),
                        ("status", Migration.status), ("migration_type", Migration.migration_type)):
        if query.get(key):
            stmt = stmt.where(column == query[key])
    changed = func.coalesce(Migration.updated_at, Migration.created_at)
    since = before = None
    if paging and "changes-since" in query:
        since = _parse_time("changes-since", query["changes-since"])
        stmt = stmt.where(changed >= since)
    if version >= (2, 66) and "changes-before" in query:
        before = _parse_time("changes-before", query["changes-before"])
        if since is not None and before < since:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
        stmt = stmt.where(changed <= before)
    limit = None
    if paging:
        stmt = stmt.order_by(Migration.created_at.desc(), Migration.id.desc())
        if "limit" in query:
            raw = query["limit"]
            if not raw.isdigit():
                bad("limit", raw, f"{raw!r} does not match '^[0-9]*$'")
            limit = int(raw)
        if "marker" in query:
            marker = db.scalars(select(Migration).where(Migration.uuid == query["marker"])).first()
            if marker is None:
                raise BadRequest(f"Marker {query['marker']} could not be found.")
            stmt = stmt.where((Migration.created_at < marker.created_at)
                              | ((Migration.created_at == marker.created_at) & (Migration.id < marker.id)))
        if limit is not None:
            stmt = stmt.limit(limit)
    else:
        stmt = stmt.order_by(Migration.id)
    rows = list(db.scalars(stmt))
    doc: dict[str, Any] = {"migrations": [view(r, version, base_url) for r in rows]}
    if paging and limit and len(rows) == limit:
        doc["migrations_links"] = [{"rel": "next", "href": f"{base_url}/compute/v2.1/os-migrations"
                                    f"?limit={limit}&marker={rows[-1].uuid}"}]
    return doc


def server_view(row: Migration, version: APIVersion) -> dict[str, Any]:
    """A server's in-progress live migration (2.23); the byte counters are not tracked."""
    out: dict[str, Any] = {
        "id": row.id, "server_uuid": row.server_id, "status": row.status,
        "source_compute": row.source_compute, "source_node": row.source_compute,
        "dest_compute": row.dest_compute, "dest_node": row.dest_compute, "dest_host": row.dest_compute,
        "created_at": _time(row.created_at), "updated_at": _time(row.updated_at),
        "memory_total_bytes": None, "memory_processed_bytes": None, "memory_remaining_bytes": None,
        "disk_total_bytes": None, "disk_processed_bytes": None, "disk_remaining_bytes": None,
    }
    if version >= (2, 59):
        out["uuid"] = row.uuid
    return out


def in_progress(db: Session, server_id: str) -> list[Migration]:
    return list(db.scalars(select(Migration).where(Migration.server_id == server_id,
                                                   Migration.migration_type == "live-migration",
                                                   Migration.status.in_(LIVE_IN_PROGRESS))
                           .order_by(Migration.id)))


def one_in_progress(db: Session, server_id: str, migration_id: str) -> Migration:
    row = db.get(Migration, int(migration_id)) if migration_id.isdigit() else None
    if (row is None or row.server_id != server_id or row.migration_type != "live-migration"
            or row.status not in LIVE_IN_PROGRESS):
        raise NotFound(f"In-progress live migration {migration_id} is not found for server {server_id}.")
    return row
