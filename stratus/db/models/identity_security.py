"""Security compliance state of users (Keystone's [security_compliance]): per-user
options, failed-login counts (the persistent per-user lockout), last activity, and the
password history. One row per user in ``identity_user_security`` (made on first need);
``identity_password_history`` keeps the hashes of the passwords a user had, newest last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, utcnow


class UserSecurity(Base):
    __tablename__ = "identity_user_security"
    user_id: Mapped[str] = mapped_column(
        ForeignKey("identity_users.id", ondelete="CASCADE"), primary_key=True
    )
    # Keystone's user options by name (ignore_lockout_failure_attempts, lock_password, …)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_auth_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the current password was set by the user (POST /users/{id}/password), not an admin
    password_self_service: Mapped[bool] = mapped_column(Boolean, default=False)


class PasswordHistory(Base):
    __tablename__ = "identity_password_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("identity_users.id", ondelete="CASCADE"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
