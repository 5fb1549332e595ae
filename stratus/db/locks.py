"""Locks held until the end of the current transaction, for check-then-write sections
(quota check + placement + records) that must not interleave.

- PostgreSQL: a transaction-scoped advisory lock per name.
- SQLite: one writer at a time for the whole database. The driver opens a transaction
  only at the first write, so a no-op UPDATE taken first makes every read after it
  part of a write transaction (what ``BEGIN IMMEDIATE`` gives): a second planner waits
  (busy timeout) until the first commits, then reads what it wrote.
"""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def write_lock(db: Session, name: str) -> None:
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(name.encode())})
    else:
        db.execute(text("UPDATE hosts SET name = name WHERE 1 = 0"))
