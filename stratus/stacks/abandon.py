"""Abandon: the stack's record is removed and its resources are left as they
are; the answer is the data ``stack adopt`` takes back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def abandon(db: Session, ctx, stack) -> dict[str, Any]:
    raise NotImplementedError
