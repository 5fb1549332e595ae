"""Rows whose uniqueness a constraint decides (an address, a MAC, a segment id): add one
inside a SAVEPOINT and learn whether the constraint let it in, without losing the
request's transaction when it did not.

- ``try_add(db, row) -> bool``: True when ``row`` was inserted; False when a unique
  constraint refused it (a concurrent request holds the value: pick another).

pysqlite begins a transaction only before a data change, not before a SAVEPOINT: a
SAVEPOINT as the first write would start a transaction of its own, which its RELEASE
commits, out of reach of the request's rollback. ``try_add`` opens the request's
transaction first (a no-op write), so a later refusal undoes everything.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def open_transaction(db: Session) -> None:
    """Make sure the request's own transaction has begun (SQLite; PostgreSQL always has)."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("UPDATE network_ports SET id = id WHERE 1 = 0"))


def try_add(db: Session, row) -> bool:
    open_transaction(db)
    sp = db.begin_nested()
    try:
        db.add(row)
        db.flush()
    except IntegrityError:
        sp.rollback()
        return False
    sp.commit()
    return True
