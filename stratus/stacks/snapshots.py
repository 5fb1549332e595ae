"""Stack snapshots: the stack's template, parameters and resources' data (a
volume's snapshot, a server's image where the type supports it); restore puts them back."""

from __future__ import annotations

from sqlalchemy.orm import Session


def create(db: Session, ctx, stack, name: str | None, *, settings=None, context=None, request_id=None):
    raise NotImplementedError


def list_for(db: Session, ctx, stack) -> list:
    raise NotImplementedError


def get(db: Session, ctx, stack, snapshot_id: str):
    raise NotImplementedError


def delete(db: Session, ctx, stack, snapshot_id: str) -> None:
    raise NotImplementedError


def restore(db: Session, ctx, stack, snapshot_id: str, *, settings=None, context=None, request_id=None) -> None:
    raise NotImplementedError
