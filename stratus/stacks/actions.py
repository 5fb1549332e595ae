"""Stack actions (``POST /stacks/<name>/<id>/actions``): suspend, resume, check,
cancel_update (with rollback) and cancel_without_rollback."""

from __future__ import annotations

from sqlalchemy.orm import Session


def suspend(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    raise NotImplementedError


def resume(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    raise NotImplementedError


def check(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    raise NotImplementedError


def cancel_update(db: Session, ctx, stack, *, rollback: bool = True, settings=None, context=None,
                  request_id: str | None = None) -> None:
    raise NotImplementedError
