"""OS-TRUST: a trustor delegates some of their roles on a project to a trustee.

A trust has no update; deleting it (or its expiry, or its last use) ends every token
scoped to it, since a trust-scoped token re-reads its trust on validation. A
redelegated trust names the trust it came from and carries one fewer redelegation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, new_id, utcnow

ID = String(64)


class Trust(Base):
    __tablename__ = "identity_trusts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    trustor_user_id: Mapped[str] = mapped_column(
        ForeignKey("identity_users.id", ondelete="CASCADE"), index=True
    )
    trustee_user_id: Mapped[str] = mapped_column(
        ForeignKey("identity_users.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(ID)
    impersonation: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None = unlimited; a trust-scoped token issue takes one use
    remaining_uses: Mapped[int | None] = mapped_column(Integer)
    allow_redelegation: Mapped[bool] = mapped_column(Boolean, default=False)
    redelegation_count: Mapped[int | None] = mapped_column(Integer)
    redelegated_trust_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_trusts.id", ondelete="CASCADE"), index=True
    )
    # the delegated role ids (the trustor held each on the project at creation)
    role_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IdentityCacheState(Base):
    """One row: a counter every identity write bumps in its own transaction, which
    every controller polls to drop its cached validations, roles and token documents
    when another controller changed identity (stratus/identity/tokens.py)."""

    __tablename__ = "identity_cache_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
