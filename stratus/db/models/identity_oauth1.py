"""OS-OAUTH1: consumers, and the request and access tokens they obtain from users.

A consumer's secret is kept as given to it (HMAC-SHA1 signatures need it, as Keystone
keeps it). A request token is authorized once by a user with some of their roles on
the requested project, then traded (once) for an access token; deleting the consumer
deletes its tokens, and a delegated Keystone token re-reads its access token on every
validation, so deleting either ends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, new_id, utcnow

ID = String(64)


class Consumer(Base):
    __tablename__ = "identity_oauth1_consumers"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    description: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(64))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class _OAuthToken:
    """What request and access tokens share: the consumer's, with their own secret."""

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    secret: Mapped[str] = mapped_column(String(64))
    consumer_id: Mapped[str] = mapped_column(
        ForeignKey("identity_oauth1_consumers.id", ondelete="CASCADE"), index=True
    )
    role_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RequestToken(_OAuthToken, Base):
    __tablename__ = "identity_oauth1_request_tokens"
    requested_project_id: Mapped[str] = mapped_column(ID)
    # set by the authorizing user
    verifier: Mapped[str | None] = mapped_column(String(64))
    authorizing_user_id: Mapped[str | None] = mapped_column(ID)


class AccessToken(_OAuthToken, Base):
    __tablename__ = "identity_oauth1_access_tokens"
    authorizing_user_id: Mapped[str] = mapped_column(
        ForeignKey("identity_users.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(ID)
